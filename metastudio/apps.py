from django.apps import AppConfig


class MetastudioConfig(AppConfig):
    name = "metastudio"
    verbose_name = "Platform"

    def ready(self):
        from metastudio.api import schema  # noqa: F401  (OpenAPI security schemes)
