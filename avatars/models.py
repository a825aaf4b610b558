"""Avatar production: training jobs (a person's video -> checks -> review -> a HUMAN_MODEL_2D model), the files
uploaded for them through signed URLs, and their operation logs."""

import uuid

from django.conf import settings
from django.db import models


class AvatarTrainingJob(models.Model):
    """One avatar to make (MetaStudio's digital-human training job)."""

    class State(models.TextChoices):
        WAIT_FILE_UPLOAD = "WAIT_FILE_UPLOAD"  # waiting for the training video and the authorization letter
        AUTO_VERIFYING = "AUTO_VERIFYING"  # the video check runs
        AUTO_VERIFY_FAILED = "AUTO_VERIFY_FAILED"  # the video broke a rule: upload another and resubmit
        MANUAL_VERIFYING = "MANUAL_VERIFYING"  # waiting for a reviewer
        MANUAL_VERIFY_FAILED = "MANUAL_VERIFY_FAILED"  # a reviewer asked for changes: fix and resubmit
        MANUAL_VERIFY_SUCCESS = "MANUAL_VERIFY_SUCCESS"  # approved, queued for training
        TRAINING_DATA_PREPROCESSING = "TRAINING_DATA_PREPROCESSING"
        TRAINING_DATA_PREPROCESS_FAILED = "TRAINING_DATA_PREPROCESS_FAILED"
        TRAINING = "TRAINING"
        TRAIN_FAILED = "TRAIN_FAILED"
        INFERENCE_DATA_PREPROCESSING = "INFERENCE_DATA_PREPROCESSING"  # preview clip, storing the model
        INFERENCE_DATA_PREPROCESS_FAILED = "INFERENCE_DATA_PREPROCESS_FAILED"
        JOB_SUCCESS = "JOB_SUCCESS"
        JOB_REJECT = "JOB_REJECT"  # a reviewer refused the material for good

    EDITABLE_STATES = (State.WAIT_FILE_UPLOAD, State.AUTO_VERIFY_FAILED, State.MANUAL_VERIFY_FAILED)
    # An engine job works on the avatar job: it cannot be changed or deleted.
    RUNNING_STATES = (State.AUTO_VERIFYING, State.MANUAL_VERIFY_SUCCESS, State.TRAINING_DATA_PREPROCESSING,
                      State.TRAINING, State.INFERENCE_DATA_PREPROCESSING)
    TRAINING_STATES = (State.MANUAL_VERIFY_SUCCESS, State.TRAINING_DATA_PREPROCESSING, State.TRAINING,
                       State.INFERENCE_DATA_PREPROCESSING)
    FAILED_STATES = (State.AUTO_VERIFY_FAILED, State.MANUAL_VERIFY_FAILED, State.TRAINING_DATA_PREPROCESS_FAILED,
                     State.TRAIN_FAILED, State.INFERENCE_DATA_PREPROCESS_FAILED, State.JOB_REJECT)
    # The console's groups of states (as the original console shows them).
    PHASES = {
        "WAIT_SUBMIT": (State.WAIT_FILE_UPLOAD,),
        "VERIFYING": (State.AUTO_VERIFYING, State.MANUAL_VERIFYING),
        "VERIFY_FAILED": (State.AUTO_VERIFY_FAILED, State.MANUAL_VERIFY_FAILED),
        "TRAINING": TRAINING_STATES,
        "SUCCEED": (State.JOB_SUCCESS,),
        "FAILED": (State.TRAINING_DATA_PREPROCESS_FAILED, State.TRAIN_FAILED, State.INFERENCE_DATA_PREPROCESS_FAILED),
        "REJECTED": (State.JOB_REJECT,),
    }

    class Resolution(models.TextChoices):
        P1080 = "1080P"
        K4 = "4K"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="avatar_jobs")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    name = models.CharField(max_length=256, help_text="Also the name of the model in the asset library.")
    contact = models.CharField(max_length=128, blank=True)
    batch_name = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=8, default="V3")
    matting_type = models.CharField(max_length=8, default="AI")
    model_resolution = models.CharField(max_length=8, choices=Resolution.choices, default=Resolution.P1080)
    is_background_replacement = models.BooleanField(
        default=False, help_text="The background is replaced in videos: the training video must be shot on a "
                                 "green screen.")
    video_multipart_count = models.PositiveSmallIntegerField(default=1)
    action_segments = models.JSONField(
        default=list, blank=True, help_text="Marked actions in the training video ([{name, start_time, end_time}] "
                                            "in seconds): the model can insert them.")
    video_generation = models.PositiveIntegerField(default=1, help_text="Bumped when the user replaces the video.")
    state = models.CharField(max_length=40, choices=State.choices, default=State.WAIT_FILE_UPLOAD)
    reason = models.CharField(max_length=2048, blank=True)
    training_video = models.FileField(max_length=512, blank=True)
    grant_file = models.FileField(max_length=512, blank=True, help_text="The authorization letter.")
    id_card_image1 = models.FileField(max_length=512, blank=True)
    id_card_image2 = models.FileField(max_length=512, blank=True)
    cover = models.FileField(max_length=512, blank=True, help_text="Optional cover of the model.")
    file_names = models.JSONField(default=dict, blank=True, help_text="Original name of each uploaded file.")
    verify_report = models.JSONField(default=dict, blank=True, help_text="The training video check.")
    admin_audit = models.JSONField(default=dict, blank=True, help_text="The reviewer's decision.")
    engine_job = models.ForeignKey("metastudio.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="The check or training run in progress.")
    model_asset = models.ForeignKey("assets.Asset", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "state", "created_at"], name="avatarjob_tenant_state")]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def phase(self) -> str:
        return next(phase for phase, states in self.PHASES.items() if self.state in states)

    @property
    def editable(self) -> bool:
        return self.state in self.EDITABLE_STATES

    @property
    def deletable(self) -> bool:
        return self.state not in self.RUNNING_STATES


class AvatarUpload(models.Model):
    """One signed upload URL of a job: a file slot, or one part of the training video."""

    class Slot(models.TextChoices):
        TRAINING_VIDEO = "TRAINING_VIDEO"
        GRANT_FILE = "GRANT_FILE"
        ID_CARD_IMAGE1 = "ID_CARD_IMAGE1"
        ID_CARD_IMAGE2 = "ID_CARD_IMAGE2"
        COVER = "COVER"

    class State(models.TextChoices):
        WAITING_UPLOAD = "WAITING_UPLOAD"
        UPLOADING = "UPLOADING"  # parts of the bytes arrived (Content-Range)
        UPLOADED = "UPLOADED"  # complete: the URL takes no more bytes
        FAILED = "FAILED"  # refused (not the right kind of file); the URL may be used again

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(AvatarTrainingJob, on_delete=models.CASCADE, related_name="uploads")
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="+")
    slot = models.CharField(max_length=16, choices=Slot.choices)
    part_number = models.PositiveSmallIntegerField(default=1)
    generation = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING_UPLOAD)
    declared_size = models.BigIntegerField(null=True, blank=True, help_text="Total bytes (from Content-Range).")
    received_bytes = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=64, blank=True, help_text="Hex MD5 of the bytes (parts of the video).")
    file_name = models.CharField(max_length=256, blank=True)
    reason = models.CharField(max_length=1024, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slot", "part_number", "created_at"]
        indexes = [models.Index(fields=["job", "slot", "generation"], name="avatarupload_job_slot")]

    def __str__(self) -> str:
        return f"{self.slot} #{self.part_number} {self.state}"


class AvatarJobLog(models.Model):
    """Operation log of a training job (MetaStudio's operation_logs)."""

    class By(models.TextChoices):
        USER = "USER"
        ADMIN = "ADMIN"
        SYSTEM = "SYSTEM"

    job = models.ForeignKey(AvatarTrainingJob, on_delete=models.CASCADE, related_name="logs")
    log_type = models.CharField(max_length=64)
    operate_user = models.CharField(max_length=8, choices=By.choices, default=By.SYSTEM)
    actor_name = models.CharField(max_length=150, blank=True)
    description = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.log_type} {self.created_at:%Y-%m-%d %H:%M}"


class BusinessCard(models.Model):
    """A digital-human business card (MetaStudio's 数字人名片): the person's photo and card text, rendered into a
    card image and a short card video in which the photo introduces the person. The card's state is the state
    of its latest render (engine_job); every change renders again."""

    TEXT_FIELDS = ("name", "company", "title", "mobile_phone", "phone", "mail", "address", "other1", "other2",
                   "other3")

    class IntroductionType(models.TextChoices):
        TEXT = "TEXT"
        AUDIO = "AUDIO"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("tenancy.Account", on_delete=models.CASCADE, related_name="business_cards")
    project = models.ForeignKey("tenancy.Project", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    text_config = models.JSONField(default=dict, help_text="name, company, title, mobile_phone, phone, mail, "
                                                           "address, other1-3.")
    template = models.CharField(max_length=32, default="classic", help_text="Card layout (card_templet_asset_id).")
    qr_code_content = models.CharField(max_length=512, blank=True, help_text="Text or URL drawn as a QR code.")
    introduction_type = models.CharField(max_length=8, choices=IntroductionType.choices,
                                         default=IntroductionType.TEXT)
    introduction_text = models.TextField(blank=True)
    voice_asset_id = models.CharField(max_length=64, blank=True, help_text="A preset voice id or a voice asset id.")
    introduction_audio_asset = models.ForeignKey("assets.Asset", null=True, blank=True, on_delete=models.SET_NULL,
                                                 related_name="+", help_text="The audio asset it was taken from.")
    introduction_audio = models.FileField(max_length=512, blank=True, help_text="The introduction audio (AUDIO).")
    video_asset_name = models.CharField(max_length=256, blank=True)
    gender = models.CharField(max_length=8, blank=True)
    photo = models.FileField(max_length=512, blank=True, help_text="The person's photo (empty for a preset).")
    preset_id = models.CharField(max_length=64, blank=True, help_text="A preset photo digital human instead.")
    logo = models.FileField(max_length=512, blank=True)
    card_image = models.FileField(max_length=512, blank=True, help_text="The rendered card (PNG).")
    video_asset = models.ForeignKey("assets.Asset", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The rendered card video.")
    engine_job = models.ForeignKey("metastudio.Job", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="The latest render.")
    share_token = models.CharField(max_length=43, unique=True, help_text="Secret of the public card page.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text_config.get("name") or str(self.pk)

    @property
    def name(self) -> str:
        return self.text_config.get("name", "")

    @property
    def state(self) -> str:
        if self.engine_job_id:
            return self.engine_job.state
        # A card is saved with its render job; without one, the job row was deleted after it ended.
        return "SUCCEED" if self.video_asset_id else "FAILED"

    @property
    def rendering(self) -> bool:
        return self.state in ("WAITING", "PROCESSING")
