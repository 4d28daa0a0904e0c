from django.urls import path

from leadflow.routing import views

app_name = "routing"

urlpatterns = [
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
