from django.urls import path

from leadflow.nurture import views

app_name = "nurture"

urlpatterns = [
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
