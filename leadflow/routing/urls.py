from django.urls import path

from leadflow.routing import views

app_name = "routing"

urlpatterns = [
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
    path("leads/<int:pk>/claim/", views.lead_claim, name="claim"),
    path("leads/<int:pk>/tasks/", views.lead_task_add, name="task_add"),
    path("tasks/", views.tasks_page, name="tasks"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/call/", views.inbox_call, name="inbox_call"),
    path("handovers/<int:pk>/accept/", views.handover_accept, name="handover_accept"),
    path("handovers/<int:pk>/reject/", views.handover_reject, name="handover_reject"),
    path("notifications/", views.notifications, name="notifications"),
    path("routing/rules/", views.rules_page, name="rules"),
    path("routing/rules/dry-run/", views.dry_run, name="dry_run"),
    path("routing/rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("routing/rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("routing/rules/<int:pk>/move/", views.rule_move, name="rule_move"),
    path("routing/team/", views.team_view, name="team"),
    path("routing/team/availability/<int:user_id>/", views.availability_edit, name="availability"),
    path("routing/team/schedule/<int:team_id>/", views.schedule_edit, name="schedule"),
]
