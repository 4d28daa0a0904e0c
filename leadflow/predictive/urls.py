from django.urls import path

from leadflow.predictive import views

app_name = "predictive"

urlpatterns = [
    path("", views.model_page, name="model"),
    path("train/", views.retrain, name="retrain"),
    path("runs/<int:pk>/", views.run_status, name="run"),
    path("features/", views.feature_settings, name="features"),
    path("leads/<int:pk>/panel/", views.lead_panel, name="lead_panel"),
]
