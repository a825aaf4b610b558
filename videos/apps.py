from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    verbose_name = "Video production"

    def ready(self):
        from videos import tasks  # noqa: F401  (registers the photo job kinds)
