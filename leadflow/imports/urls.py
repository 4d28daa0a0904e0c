from django.urls import path

from leadflow.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("files/<int:pk>/", views.file_detail, name="file"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/errors.csv", views.error_report, name="errors"),
    path("<int:pk>/run/", views.job_run, name="run"),
    path("<int:pk>/resume/", views.job_resume, name="resume"),
    path("<int:pk>/undo/", views.job_undo, name="undo"),
]
