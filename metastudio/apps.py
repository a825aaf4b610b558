from django.apps import AppConfig


class MetastudioConfig(AppConfig):
    name = "metastudio"
    verbose_name = "Platform"
