from django.urls import path

from leadflow.nurture.views import autoreplies, lead, sequences, templates

app_name = "nurture"

urlpatterns = [
    path("leads/<int:pk>/panel/", lead.lead_panel, name="lead_panel"),
    path("leads/<int:pk>/enroll/", lead.lead_enroll, name="lead_enroll"),
    path("leads/<int:pk>/compose/snippet/", lead.compose_snippet, name="compose_snippet"),
    path("leads/<int:pk>/compose/preview/", lead.compose_preview, name="compose_preview"),
    path("leads/<int:pk>/compose/send/", lead.compose_send, name="compose_send"),
    path("enrollments/<int:pk>/remove/", lead.enrollment_remove, name="enrollment_remove"),
    path("templates/", templates.templates_list, name="templates"),
    path("templates/new/", templates.template_edit, name="template_new"),
    path("templates/<int:pk>/", templates.template_edit, name="template"),
    path("templates/<int:pk>/delete/", templates.template_delete, name="template_delete"),
    path("templates/preview/", templates.template_preview, name="template_preview"),
    path("templates/test/", templates.template_test, name="template_test"),
    path("signature/", templates.signature, name="signature"),
    path("sequences/", sequences.sequences_list, name="sequences"),
    path("sequences/new/", sequences.sequence_new, name="sequence_new"),
    path("sequences/<int:pk>/", sequences.sequence_detail, name="sequence"),
    path("sequences/<int:pk>/settings/", sequences.sequence_settings, name="sequence_settings"),
    path("sequences/<int:pk>/status/", sequences.sequence_status, name="sequence_status"),
    path("sequences/<int:pk>/steps/", sequences.step_add, name="step_add"),
    path("sequences/<int:pk>/steps/<int:step_id>/", sequences.step_edit, name="step_edit"),
    path("sequences/<int:pk>/steps/<int:step_id>/move/", sequences.step_move, name="step_move"),
    path("sequences/<int:pk>/steps/<int:step_id>/remove/", sequences.step_remove, name="step_remove"),
    path("sequences/<int:pk>/enroll/", sequences.sequence_enroll, name="sequence_enroll"),
    path("enroll/", sequences.bulk_enroll, name="bulk_enroll"),
    path("auto-replies/", autoreplies.auto_replies, name="auto_replies"),
    path("auto-replies/<int:pk>/toggle/", autoreplies.auto_reply_toggle, name="auto_reply_toggle"),
]
