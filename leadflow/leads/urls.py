from django.urls import path

from leadflow.leads.views import detail, duplicates, jobs, lists, qualification

app_name = "leads"

urlpatterns = [
    # The table, saved views, bulk actions, quick entry, companies (views/lists.py).
    path("", lists.lead_list, name="list"),
    path("leads/count/", lists.lead_count, name="count"),
    path("leads/bulk/", lists.bulk_action, name="bulk"),
    path("leads/views/", lists.save_view, name="save_view"),
    path("leads/views/<int:pk>/delete/", lists.delete_view, name="delete_view"),
    path("leads/new/", lists.lead_new, name="new"),
    path("leads/new/check/", lists.duplicate_check, name="duplicate_check"),
    path("companies/", lists.company_list, name="companies"),
    path("companies/<int:pk>/", lists.company_detail, name="company"),
    # One lead (views/detail.py).
    path("leads/<int:pk>/", detail.lead_detail, name="detail"),
    path("leads/<int:pk>/field/<slug:name>/", detail.lead_field, name="field"),
    path("leads/<int:pk>/timeline/", detail.lead_timeline, name="timeline"),
    path("leads/<int:pk>/notes/", detail.lead_note, name="note"),
    path("leads/<int:pk>/calls/", detail.lead_call, name="call"),
    path("leads/<int:pk>/stage/", qualification.lead_stage, name="stage"),
    path("leads/<int:pk>/owner/", detail.lead_owner, name="owner"),
    path("leads/<int:pk>/merge/", detail.lead_merge, name="merge"),
    path("merges/<int:pk>/undo/", detail.merge_undo, name="merge_undo"),
    path("leads/<int:pk>/export/", detail.lead_export, name="export"),
    path("leads/<int:pk>/erase/", detail.lead_erase, name="erase"),
    # Background bulk jobs (views/jobs.py).
    path("jobs/<int:pk>/", jobs.bulk_job, name="job"),
    path("jobs/<int:pk>/resume/", jobs.bulk_job_resume, name="job_resume"),
]
urlpatterns += [
    # Qualification settings, admins only (views/qualification.py).
    path("settings/qualification/", qualification.qualification_settings, name="qualification_settings"),
    path("settings/qualification/reasons/", qualification.reason_add, name="reason_add"),
    path("settings/qualification/reasons/<int:pk>/", qualification.reason_edit, name="reason_edit"),
    # Possible duplicates (views/duplicates.py).
    path("duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("duplicates/<int:pk>/dismiss/", duplicates.duplicate_dismiss, name="duplicate_dismiss"),
]
