from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    verbose_name = "Video production"

    def ready(self):
        from videos import rendering, tasks  # noqa: F401  (register the video production and photo job kinds)
