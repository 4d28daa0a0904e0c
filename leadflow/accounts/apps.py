from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "leadflow.accounts"
    label = "accounts"
    verbose_name = "Accounts"
