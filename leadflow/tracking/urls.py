from django.urls import path

from leadflow.tracking import views

app_name = "tracking"

urlpatterns = [
    path("t.js", views.script, name="script"),
    path("t/collect", views.collect, name="collect"),
    path("leads/<int:pk>/visits/", views.lead_visits, name="lead_visits"),
]
