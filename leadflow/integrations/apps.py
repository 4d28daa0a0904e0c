from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "leadflow.integrations"
    label = "integrations"
    verbose_name = "Integrations"
