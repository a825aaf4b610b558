from django.apps import AppConfig


class VoicesConfig(AppConfig):
    name = "voices"
    verbose_name = "Voices and speech synthesis"

    def ready(self):
        from voices import tasks  # noqa: F401  (registers the voice and TTS job kinds)
