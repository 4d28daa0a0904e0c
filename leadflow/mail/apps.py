from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "leadflow.mail"
    label = "mail"
    verbose_name = "Mail"
