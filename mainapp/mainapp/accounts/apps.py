from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mainapp.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the revocation receivers
