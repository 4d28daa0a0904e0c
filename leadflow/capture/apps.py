from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "leadflow.capture"
    label = "capture"
    verbose_name = "Capture"
