"""Voice production (training jobs, their recordings and op-logs) and TTS tenant configuration."""

import uuid

from django.conf import settings
from django.db import models


class VoiceTrainingJob(models.Model):
    """One voice to make: prompted recordings (or a long recording) -> audits -> training -> a VOICE_MODEL asset."""

    class Tier(models.TextChoices):
        BASIC = "BASIC", "Basic (20 sentences)"
        MIDDLE = "MIDDLE", "Middle (100 sentences)"
        ADVANCE = "ADVANCE", "Advanced (1 h+ long recording)"

    class State(models.TextChoices):
        CREATING = "CREATING"  # waiting for recordings / package / authorization letter
        SPLITTING = "SPLITTING"  # ADVANCE: cutting the long recording into sentences
        SPLIT_FAILED = "SPLIT_FAILED"
        SYSTEM_AUDITING = "SYSTEM_AUDITING"
        AUDIT_FAILED = "AUDIT_FAILED"
        AUDITING = "AUDITING"  # waiting for a reviewer
        WAITING = "WAITING"  # approved, queued for training
        PROCESSING = "PROCESSING"
        FAILED = "FAILED"
        SUCCEED = "SUCCEED"

    class Sex(models.TextChoices):
        FEMALE = "FEMALE"
        MALE = "MALE"

    EDITABLE_STATES = (State.CREATING, State.AUDIT_FAILED, State.SPLIT_FAILED)
    DELETABLE_STATES = (State.CREATING, State.AUDIT_FAILED, State.SPLIT_FAILED, State.FAILED, State.SUCCEED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="voice_jobs")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    tier = models.CharField(max_length=8, choices=Tier.choices)
    voice_name = models.CharField(max_length=256)
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.FEMALE)
    language = models.CharField(max_length=8, default="zh")
    description = models.CharField(max_length=1024, blank=True)
    batch_name = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CREATING)
    reason = models.CharField(max_length=1024, blank=True)
    prompts = models.JSONField(default=list, blank=True)
    package = models.FileField(upload_to="voices/packages/", max_length=512, blank=True,
                               help_text="ADVANCE: the long recording (WAV, or a zip of WAVs).")
    authorization_letter = models.FileField(upload_to="voices/letters/", max_length=512, blank=True)
    system_audit = models.JSONField(default=dict, blank=True)
    admin_audit = models.JSONField(default=dict, blank=True)
    engine_job = models.ForeignKey("metastudio.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="The audit, split or training run in progress.")
    voice_asset = models.ForeignKey("assets.Asset", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "state", "created_at"], name="voicejob_tenant_state")]

    def __str__(self) -> str:
        return f"{self.voice_name} ({self.tier}, {self.state})"

    @property
    def required_sentences(self) -> int:
        return {"BASIC": 20, "MIDDLE": 100}.get(self.tier, 0)


class VoiceRecording(models.Model):
    """One sentence of a training set: the prompt text and the person's recording with its check report."""

    class Status(models.TextChoices):
        OK = "OK"
        REDO = "REDO"  # a check failed: the user is told what to fix

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(VoiceTrainingJob, on_delete=models.CASCADE, related_name="recordings")
    index = models.PositiveIntegerField(help_text="1-based sentence number.")
    text = models.CharField(max_length=1024)
    audio = models.FileField(upload_to="voices/recordings/", max_length=512)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OK)
    problems = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="voicerecording_unique_index")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.index} {self.status}"


class VoiceJobLog(models.Model):
    """Operation log of a training job (ListJobOperationLog)."""

    job = models.ForeignKey(VoiceTrainingJob, on_delete=models.CASCADE, related_name="logs")
    operation = models.CharField(max_length=48)
    actor_name = models.CharField(max_length=150, blank=True)
    message = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.created_at:%Y-%m-%d %H:%M}"


class VocabularyGroup(models.Model):
    """A named set of custom readings that applies only to the voices attached to it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="vocabulary_groups")
    name = models.CharField(max_length=64)
    voice_ids = models.JSONField(default=list, blank=True, help_text="Voice asset ids or preset voice ids.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="vocabularygroup_unique_name")]

    def __str__(self) -> str:
        return self.name


class CustomReading(models.Model):
    """Tenant custom reading: `source` is read as `target` (without a group: for every voice)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="custom_readings")
    group = models.ForeignKey(VocabularyGroup, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="readings")
    source = models.CharField(max_length=64)
    target = models.CharField(max_length=256)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source"]
        constraints = [models.UniqueConstraint(fields=["account", "group", "source"],
                                               name="customreading_unique_source")]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"
