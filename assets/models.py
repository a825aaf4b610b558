import uuid

from django.conf import settings
from django.db import models


class Asset(models.Model):
    """A digital asset: a model, recording, image, video, PPT or generated result, with its files."""

    class Type(models.TextChoices):
        HUMAN_MODEL_2D = "HUMAN_MODEL_2D"
        VOICE_MODEL = "VOICE_MODEL"
        SCENE = "SCENE"
        ANIMATION = "ANIMATION"
        VIDEO = "VIDEO"
        IMAGE = "IMAGE"
        PPT = "PPT"
        MATERIAL = "MATERIAL"
        MUSIC = "MUSIC"
        COMMON_FILE = "COMMON_FILE"
        BUSINESS_CARD_TEMPLET = "BUSINESS_CARD_TEMPLET"

    class State(models.TextChoices):
        CREATING = "CREATING"
        FAILED = "FAILED"
        UNACTIVED = "UNACTIVED"
        ACTIVED = "ACTIVED"
        DELETING = "DELETING"
        DELETED = "DELETED"
        BLOCK = "BLOCK"
        WAITING_DELETE = "WAITING_DELETE"

    class Review(models.TextChoices):
        PENDING = "PENDING", "Waiting for review"
        PASSED = "PASSED", "Passed"
        NEEDS_MANUAL = "NEEDS_MANUAL", "Needs manual review"
        REJECTED = "REJECTED", "Rejected"
        EXEMPT = "EXEMPT", "Tenant exempt from machine review"

    SYSTEM_PROPERTIES = ("BACKGROUND_IMG", "MATERIAL_IMG", "MATERIAL_VIDEO", "CREATED_BY_PLATFORM")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="assets")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    name = models.CharField(max_length=256)
    description = models.CharField(max_length=1024, blank=True)
    type = models.CharField(max_length=32, choices=Type.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATING)
    previous_state = models.CharField(max_length=16, blank=True, help_text="State before the recycle bin or a freeze.")
    reason = models.CharField(max_length=1024, blank=True, help_text="Why it failed or was frozen.")
    tags = models.JSONField(default=list, blank=True)
    system_properties = models.JSONField(default=list, blank=True)
    media_info = models.JSONField(default=dict, blank=True)
    review = models.CharField(max_length=16, choices=Review.choices, default=Review.PENDING)
    review_note = models.CharField(max_length=1024, blank=True)
    created_by_platform = models.BooleanField(default=False)
    size_bytes = models.BigIntegerField(default=0, help_text="Stored bytes of all its files (for the quota).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "type", "state", "created_at"], name="asset_tenant_type_state"),
            models.Index(fields=["account", "created_at"], name="asset_tenant_created"),
            models.Index(fields=["review", "created_at"], name="asset_review_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    def has_property(self, key: str) -> bool:
        return any(item.get("key") == key for item in self.system_properties)


class AssetFile(models.Model):
    """One file of an asset. Uploaded through a signed URL, then verified (size, MD5) on complete."""

    class Category(models.TextChoices):
        MAIN = "MAIN"
        COVER = "COVER"
        PAGE = "PAGE"
        SAMPLE = "SAMPLE"
        OTHER = "OTHER"
        THUMBNAIL = "THUMBNAIL"
        PREVIEW = "PREVIEW"
        WAVEFORM = "WAVEFORM"

    UPLOADABLE = ("MAIN", "COVER", "PAGE", "SAMPLE", "OTHER")

    class State(models.TextChoices):
        WAITING_UPLOAD = "WAITING_UPLOAD"
        UPLOADING = "UPLOADING"
        CREATED = "CREATED"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="files")
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=16, choices=Category.choices)
    name = models.CharField(max_length=256)
    file_type = models.CharField(max_length=64, blank=True)
    declared_size = models.BigIntegerField()
    declared_md5 = models.CharField(max_length=32, blank=True, help_text="Base64 of the MD5 digest (RFC 1864).")
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING_UPLOAD)
    received_bytes = models.BigIntegerField(default=0)
    stored = models.FileField(upload_to="assets/", max_length=512, blank=True)
    generated = models.BooleanField(default=False, help_text="Made by the platform (thumbnail, preview, page).")
    position = models.PositiveIntegerField(default=0, help_text="Order of PAGE files.")
    reason = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["category", "position", "created_at"]
        indexes = [models.Index(fields=["asset", "category"], name="assetfile_asset_category")]

    def __str__(self) -> str:
        return f"{self.name} [{self.category}]"


class StorageQuota(models.Model):
    """Purchased storage on top of the free allowance."""

    account = models.OneToOneField("tenancy.Account", on_delete=models.CASCADE, related_name="storage_quota")
    purchased_bytes = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.account}: +{self.purchased_bytes} bytes"
