from django.urls import path

from leadflow.capture.views import builder, public, review

app_name = "capture"

urlpatterns = [
    # The public side, on anyone's website (first: posts are the most frequent requests).
    path("f/<slug:slug>/submit.json", public.submit_json, name="submit_json"),
    path("f/<slug:slug>/", public.hosted, name="hosted"),
    path("f/<slug:slug>/thanks/", public.thanks, name="thanks"),
    path("f/<slug:slug>/embed.js", public.embed_js, name="embed_js"),
    path("f/<slug:slug>/form.json", public.form_json, name="form_json"),
    # The builder and what forms collected (signed in: admins and marketing).
    path("forms/", builder.form_list, name="forms"),
    path("forms/new/", builder.form_new, name="form_new"),
    path("forms/<int:pk>/", builder.form_edit, name="form_edit"),
    path("forms/<int:pk>/share/", builder.form_share, name="form_share"),
    path("forms/<int:pk>/submissions/", review.submissions, name="submissions"),
    path("forms/quarantine/", review.quarantine, name="quarantine"),
    path("forms/quarantine/<int:pk>/release/", review.release, name="release"),
    path("forms/quarantine/<int:pk>/delete/", review.discard, name="discard"),
    path("forms/notifications/", review.notifications, name="notifications"),
]
