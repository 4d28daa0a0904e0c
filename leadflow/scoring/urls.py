from django.urls import path

from leadflow.scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.scoring_settings, name="settings"),
    path("rules/", views.save_rules, name="rules"),
    path("rescore/", views.start_rescore, name="rescore"),
    path("rescore/<int:pk>/", views.rescore_progress, name="rescore_progress"),
    path("rescore/<int:pk>/resume/", views.resume_rescore, name="rescore_resume"),
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
