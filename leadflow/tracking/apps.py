from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "leadflow.tracking"
    label = "tracking"
    verbose_name = "Tracking"
