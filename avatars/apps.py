from django.apps import AppConfig


class AvatarsConfig(AppConfig):
    name = "avatars"
    verbose_name = "Avatar production"

    def ready(self):
        from avatars import card_tasks, tasks  # noqa: F401  (registers the avatar job kinds)
