from django.urls import path

from leadflow.scoring import views

app_name = "scoring"

urlpatterns = [
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
