import uuid

from django.conf import settings
from django.db import models


class VideoScript(models.Model):
    """A video script (MetaStudio's 剧本): one avatar, one voice, the output settings and the scenes
    (`shoot_scripts`) with their backgrounds, layers and speech. Everything stored here was cleaned by
    `videos.scripts.clean_script`, so the renderer reads it without checking it again (it re-checks only that
    the assets are still usable)."""

    class ModelKind(models.TextChoices):
        HUMAN_MODEL_2D = "HUMAN_MODEL_2D", "Custom avatar model"
        PRESET_PHOTO = "PRESET_PHOTO", "Preset photo avatar"
        PHOTO = "PHOTO", "Photo (an image asset)"

    class ViewMode(models.TextChoices):
        LANDSCAPE = "LANDSCAPE", "Landscape (16:9)"
        VERTICAL = "VERTICAL", "Vertical (9:16)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="video_scripts")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    name = models.CharField(max_length=256)
    description = models.CharField(max_length=1024, blank=True)
    view_mode = models.CharField(max_length=16, choices=ViewMode.choices, default=ViewMode.LANDSCAPE)
    model_asset_id = models.CharField(max_length=64, help_text="The avatar: a HUMAN_MODEL_2D or IMAGE asset id of "
                                                               "the tenant, or a preset photo avatar id.")
    model_kind = models.CharField(max_length=16, choices=ModelKind.choices)
    voice_asset_id = models.CharField(max_length=256, blank=True,
                                      help_text="A preset voice id or a VOICE_MODEL asset id of the tenant (empty "
                                                "when every scene is driven by audio).")
    voice_config = models.JSONField(default=dict, blank=True, help_text="voice_asset_id, speed, pitch, volume.")
    video_config = models.JSONField(default=dict, blank=True, help_text="Cleaned output settings.")
    shoot_scripts = models.JSONField(default=list, blank=True, help_text="Cleaned scenes, in order.")
    background_music_config = models.JSONField(default=dict, blank=True,
                                               help_text="music_asset_id, volume 0-100, ducking (empty: none).")
    priv_data = models.TextField(blank=True, help_text="Caller's private data, returned as given.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "created_at"], name="videoscript_tenant_created")]

    def __str__(self) -> str:
        return self.name
