from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Digital assets"

    def ready(self):
        from assets import tasks  # noqa: F401  (registers the asset job kinds)
