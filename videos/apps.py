from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "videos"
    verbose_name = "Video production"

    def ready(self):
        # register the job kinds: video renders, PPT imports, subtitle files, photo detection and photo videos
        from videos import ppt_import, rendering, subtitle_files, tasks  # noqa: F401
