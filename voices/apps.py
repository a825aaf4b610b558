import os

from django.apps import AppConfig


class VoicesConfig(AppConfig):
    name = "voices"
    verbose_name = "Voices and speech synthesis"

    def ready(self):
        from django.conf import settings

        from voices import tasks  # noqa: F401  (registers the voice and TTS job kinds)

        # The speech engine is Django-free: it learns where to unpack model files from the environment.
        os.environ.setdefault("SPEECH_MODEL_CACHE", str(settings.SPEECH_CACHE_DIR))
