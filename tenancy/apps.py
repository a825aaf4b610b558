from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenancyConfig(AppConfig):
    name = "tenancy"
    verbose_name = "Tenants, IAM and audit"

    def ready(self):
        from tenancy import exports, signals  # noqa: F401  (job kind registration, audit of sign-ins)
        from tenancy.setup import ensure_platform_records

        post_migrate.connect(ensure_platform_records, sender=self, dispatch_uid="tenancy-platform-records")
