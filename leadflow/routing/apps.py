from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "leadflow.routing"
    label = "routing"
    verbose_name = "Routing"
