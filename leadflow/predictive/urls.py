from django.urls import path

from leadflow.predictive import views

app_name = "predictive"

urlpatterns = [
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
