"""Every state change of avatar training jobs, their uploaded material and avatar speech clips.

Atomic, audited (tenancy.audit.record_audit) and written to the job's operation log. The API, the console and
the back office call these; nothing else changes an AvatarTrainingJob.

States (MetaStudio's): WAIT_FILE_UPLOAD --SUBMITVERIFYING--> AUTO_VERIFYING (video check job) -> MANUAL_VERIFYING
(a reviewer) -> MANUAL_VERIFY_SUCCESS (training queued) -> TRAINING_DATA_PREPROCESSING -> TRAINING ->
INFERENCE_DATA_PREPROCESSING (preview, storing the model) -> JOB_SUCCESS. AUTO_VERIFY_FAILED and
MANUAL_VERIFY_FAILED go back to the user (replace files, submit again); JOB_REJECT is a final refusal; each
training phase has its *_FAILED state.
"""

import json
import re
import uuid
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from assets import actions as asset_actions
from assets import moderation
from assets.models import Asset, AssetFile
from avatars import uploads
from avatars.models import AvatarJobLog, AvatarTrainingJob, AvatarUpload
from metastudio import jobs
from metastudio.errors import InvalidParameter, PermissionDenied, StateConflict
from tenancy.audit import Actor, record_audit

State = AvatarTrainingJob.State
Slot = AvatarUpload.Slot
By = AvatarJobLog.By
MAX_ACTIONS = 10
ACTION_NAME = re.compile(r"[\w][\w \-]{0,31}")
MAX_VIDEO_PARTS = 1000
MODEL_VERSIONS = ("V3", "V3.2")
COMMANDS = ("SUBMITVERIFYING", "GET_MULTIPART_UPLOADED", "CONFIRM_MULTIPART_UPLOADED")
# MetaStudio commands this platform does not offer (whitelist-only or action-choreography features).
NOT_OFFERED = ("CONFIRM_ACCEPT", "CONFIRM_REJECT", "CONFIRM_ANSWER", "CONFIRM_PENDING", "CONFIRM_ACTIVE",
               "CONFIRM_REPAIR", "GET_ACTION_VIDEO_MULTIPART_UPLOADED", "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED")
COMMAND_MESSAGES = ("UPLOAD_VIDEO", "UPDATE_VIDEO")
REQUIRED_SLOTS = {Slot.TRAINING_VIDEO: "the training video", Slot.GRANT_FILE: "the authorization letter"}
OPTIONAL_SLOTS = (Slot.ID_CARD_IMAGE1, Slot.ID_CARD_IMAGE2, Slot.COVER)
SPEAK_MAX_TEXT = 2000
SPEAK_MAX_AUDIO_SECONDS = 300
SPEAK_MAX_AUDIO_BYTES = 20 * 1024 * 1024
SPEAK_AUDIO = ("wav", "mp3")
# The failed state of each training phase (a crash or a refusal while the job was in that phase).
PHASE_FAILURES = {
    State.AUTO_VERIFYING: State.AUTO_VERIFY_FAILED,
    State.MANUAL_VERIFY_SUCCESS: State.TRAINING_DATA_PREPROCESS_FAILED,
    State.TRAINING_DATA_PREPROCESSING: State.TRAINING_DATA_PREPROCESS_FAILED,
    State.TRAINING: State.TRAIN_FAILED,
    State.INFERENCE_DATA_PREPROCESSING: State.INFERENCE_DATA_PREPROCESS_FAILED,
}
PHASE_LOGS = {State.TRAINING_DATA_PREPROCESSING: "SYSTEM_TRAIN_DATA_PREPROCESSING", State.TRAINING: "SYSTEM_TRAINING",
              State.INFERENCE_DATA_PREPROCESSING: "SYSTEM_INFERENCE_DATA_PREPROCESSING"}


# --- helpers ------------------------------------------------------------------------------------------------

def log(job: AvatarTrainingJob, log_type: str, actor: Actor | None = None, description: str = "") -> None:
    by = By.SYSTEM if actor is None or actor.user is None else (By.ADMIN if actor.via == "admin" else By.USER)
    AvatarJobLog.objects.create(job=job, log_type=log_type, operate_user=by,
                                actor_name=actor.name if actor else "system", description=description[:2048])


def _audit(actor: Actor, action: str, job: AvatarTrainingJob, **detail) -> None:
    record_audit(actor, f"avatar_training.{action}", job, account=job.account, detail=detail)


def _set_state(job: AvatarTrainingJob, state: str, reason: str = "", **fields) -> None:
    job.state, job.reason = state, reason[:2048]
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


def _locked(job: AvatarTrainingJob) -> AvatarTrainingJob:
    return AvatarTrainingJob.objects.select_for_update().get(pk=job.pk)


def _ensure_editable(job: AvatarTrainingJob, field: str = "job_id") -> None:
    if not job.editable:
        raise StateConflict(f"the job is {job.state}; its files and settings change only in "
                            f"{', '.join(AvatarTrainingJob.EDITABLE_STATES)}", field=field)


def jsonable(value):
    """`value` with numpy numbers, paths and anything else JSON lacks turned into plain numbers or strings."""
    return json.loads(json.dumps(value, default=lambda item: float(item) if hasattr(item, "__float__") else str(item)))


def number_ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for position, number in enumerate(numbers):
        start = number if start is None else start
        following = numbers[position + 1] if position + 1 < len(numbers) else None
        if following != number + 1:
            parts.append(str(start) if start == number else f"{start}-{number}")
            start = None
    return ", ".join(parts)


def _clean_name(name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 256:
        raise InvalidParameter("must be 1 to 256 characters", field="name")
    return name


def _clean_text(value, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise InvalidParameter(f"at most {limit} characters", field=field)
    return value.strip()


def _clean_bool(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameter("must be true or false", field=field)
    return value


def _clean_action_segments(value) -> list[dict]:
    """[{name, start_time, end_time}]: distinct names, at least half a second each (checked against the
    video's length when it is trained)."""
    if value is None:
        return []
    field = "action_segments"
    if not isinstance(value, list) or len(value) > MAX_ACTIONS:
        raise InvalidParameter(f"must be a list of at most {MAX_ACTIONS} actions", field=field)
    cleaned, names = [], set()
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise InvalidParameter("must be an object with name, start_time and end_time", field=where)
        name = item.get("name").strip() if isinstance(item.get("name"), str) else ""
        if not ACTION_NAME.fullmatch(name) or name in names:
            raise InvalidParameter("a distinct name of 1 to 32 letters, digits, spaces, '-' or '_'",
                                   field=f"{where}.name")
        start, end = item.get("start_time"), item.get("end_time")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
        if not numbers or start < 0 or end - start < 0.5:
            raise InvalidParameter("start_time >= 0 and end_time at least 0.5 s after it (seconds)",
                                   field=f"{where}.end_time" if numbers and start >= 0 else f"{where}.start_time")
        names.add(name)
        cleaned.append({"name": name, "start_time": float(start), "end_time": float(end)})
    return cleaned


def _clean_parts(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VIDEO_PARTS:
        raise InvalidParameter(f"must be an integer from 1 to {MAX_VIDEO_PARTS}", field="video_multipart_count")
    return value


def _machine_review(account, name: str, *texts: str) -> None:
    if not account.review_exempt and moderation.findings(name, *texts):
        raise InvalidParameter("the name, batch name or tags did not pass machine review", field="name")


# --- creating and changing a job ----------------------------------------------------------------------------

@transaction.atomic
def create_training_job(actor: Actor, account, *, name, contact="", batch_name="", tags=None,
                        is_background_replacement=False, video_multipart_count=1, model_version="V3",
                        action_segments=None, project=None) -> AvatarTrainingJob:
    """A new job waiting for its files (WAIT_FILE_UPLOAD); get its upload URLs with issue_upload_urls()."""
    if not account.is_enterprise:
        raise PermissionDenied("avatar production is for enterprise accounts; this account is personal")
    name = _clean_name(name)
    if model_version not in MODEL_VERSIONS:
        raise InvalidParameter(f"must be one of {', '.join(MODEL_VERSIONS)}", field="model_version")
    job = AvatarTrainingJob(
        account=account, project=project, created_by=actor.user, name=name,
        contact=_clean_text(contact, "contact", 128), batch_name=_clean_text(batch_name, "batch_name", 64),
        tags=asset_actions.clean_tags(tags), model_version=model_version,
        is_background_replacement=_clean_bool(is_background_replacement, "is_background_replacement"),
        video_multipart_count=_clean_parts(video_multipart_count),
        action_segments=_clean_action_segments(action_segments))
    _machine_review(account, job.name, job.batch_name, *job.tags)
    job.save()
    log(job, "USER_CREATE_JOB", actor, f"{job.name}: training video in {job.video_multipart_count} part(s)")
    _audit(actor, "create", job, name=job.name)
    return job


@transaction.atomic
def update_training_job(actor: Actor, job: AvatarTrainingJob, *, name=None, contact=None, batch_name=None,
                        tags=None, is_background_replacement=None, command_message=None,
                        video_multipart_count=None, action_segments=None) -> AvatarTrainingJob:
    """Change the settings of a job not yet submitted or sent back (MetaStudio's UpdateDigitalHumanTrainingJob).

    command_message UPDATE_VIDEO (or a new video_multipart_count) drops the uploaded training video: new video
    upload URLs follow from issue_upload_urls()."""
    job = _locked(job)
    _ensure_editable(job)
    if command_message not in (None, "", *COMMAND_MESSAGES):
        raise InvalidParameter(f"must be one of {', '.join(COMMAND_MESSAGES)}", field="command_message")
    changed = {}
    if name is not None:
        job.name = changed["name"] = _clean_name(name)
    if contact is not None:
        job.contact = changed["contact"] = _clean_text(contact, "contact", 128)
    if batch_name is not None:
        job.batch_name = changed["batch_name"] = _clean_text(batch_name, "batch_name", 64)
    if tags is not None:
        job.tags = changed["tags"] = asset_actions.clean_tags(tags)
    if is_background_replacement is not None:
        job.is_background_replacement = changed["is_background_replacement"] = _clean_bool(
            is_background_replacement, "is_background_replacement")
    if action_segments is not None:
        job.action_segments = changed["action_segments"] = _clean_action_segments(action_segments)
    parts = job.video_multipart_count if video_multipart_count is None else _clean_parts(video_multipart_count)
    if command_message == "UPDATE_VIDEO" or parts != job.video_multipart_count:
        _reset_video(job, parts)
        changed["video"] = f"new training video in {parts} part(s)"
        log(job, "USER_UPDATE_VIDEO", actor, changed["video"])
    if {"name", "batch_name", "tags"} & set(changed):
        _machine_review(job.account, job.name, job.batch_name, *job.tags)
    job.save()
    if changed:
        log(job, "USER_UPDATE_JOB", actor, ", ".join(sorted(changed)))
    _audit(actor, "update", job, **{key: value for key, value in changed.items() if key != "video"})
    return job


def _reset_video(job: AvatarTrainingJob, parts: int) -> None:
    """Forget the training video (accepted or partly uploaded): the next upload URLs are a new generation."""
    old_uploads = list(job.uploads.filter(slot=Slot.TRAINING_VIDEO))
    old_video = job.training_video.name
    AvatarUpload.objects.filter(pk__in=[upload.pk for upload in old_uploads]).delete()
    job.training_video = ""
    job.file_names.pop(uploads.FIELDS[Slot.TRAINING_VIDEO], None)
    job.video_generation += 1
    job.video_multipart_count = parts

    def clean():
        for upload in old_uploads:
            uploads.discard(upload)
        if old_video:
            default_storage.delete(old_video)

    transaction.on_commit(clean)


@transaction.atomic
def issue_upload_urls(job: AvatarTrainingJob, base_url: str) -> dict:
    """Signed upload URLs (valid 24 h) for each file the job can still take, in MetaStudio's field names:
    training_video_upload_url (one per part, until the video is accepted), grant_file_upload_url (the
    authorization letter), id_card_image1_upload_url, id_card_image2_upload_url, cover_upload_url.

    Each URL takes one file: once accepted it is closed, and calling this again gives a fresh URL for the slot
    (a new file replaces the accepted one). Nothing is issued for a job that cannot change."""
    job = _locked(job)
    urls = {"training_video_upload_url": [], **{f"{uploads.FIELDS[slot]}_upload_url": None
                                                 for slot in (Slot.GRANT_FILE, *OPTIONAL_SLOTS)}}
    if not job.editable:
        return urls
    if not job.training_video:
        have = {upload.part_number: upload for upload in
                job.uploads.filter(slot=Slot.TRAINING_VIDEO, generation=job.video_generation)}
        for number in range(1, job.video_multipart_count + 1):
            upload = have.get(number) or AvatarUpload.objects.create(
                job=job, account=job.account, slot=Slot.TRAINING_VIDEO, part_number=number,
                generation=job.video_generation)
            urls["training_video_upload_url"].append(uploads.upload_url(upload, base_url))
    for slot in (Slot.GRANT_FILE, *OPTIONAL_SLOTS):
        upload = job.uploads.filter(slot=slot).exclude(state=AvatarUpload.State.UPLOADED).first() or \
            AvatarUpload.objects.create(job=job, account=job.account, slot=slot)
        urls[f"{uploads.FIELDS[slot]}_upload_url"] = uploads.upload_url(upload, base_url)
    return urls


# --- receiving files -----------------------------------------------------------------------------------------

def _ensure_open(upload: AvatarUpload, job: AvatarTrainingJob) -> None:
    field = uploads.FIELDS[upload.slot]
    if upload.state == AvatarUpload.State.UPLOADED:
        raise StateConflict("this upload URL has already received its file; ask for a new URL to replace it "
                            "(PUT the job)", field=field)
    _ensure_editable(job, field)
    if upload.slot == Slot.TRAINING_VIDEO and upload.generation != job.video_generation:
        raise StateConflict("the training video was replaced; use the new upload URLs", field=field)


def receive_upload(upload: AvatarUpload, stream, content_range: str | None = None) -> AvatarUpload:
    """Bytes PUT to a signed upload URL (whole, or a Content-Range piece). A whole file is checked at once:
    it must really be what its slot takes (an MP4/MOV video, a PDF/PNG/JPG letter, PNG/JPG images)."""
    _ensure_open(upload, upload.job)
    field, limit = uploads.FIELDS[upload.slot], uploads.max_bytes(upload.slot)
    total = uploads.parse_total(content_range)
    if total is not None:
        if total > limit:
            raise InvalidParameter(f"at most {limit} bytes; this file has {total}", field=field)
        if upload.state == AvatarUpload.State.UPLOADING and upload.declared_size not in (None, total):
            raise InvalidParameter(f"the earlier pieces announced a total of {upload.declared_size} bytes",
                                   field="Content-Range")
    size = uploads.write(upload, stream, content_range, total)
    if size == 0:
        uploads.discard(upload)
        raise InvalidParameter("the body is empty: send the file", field=field)
    if total is not None and size < total:
        AvatarUpload.objects.filter(pk=upload.pk).update(state=AvatarUpload.State.UPLOADING, received_bytes=size,
                                                         declared_size=total, reason="")
        upload.refresh_from_db()
        return upload
    return _arrived(upload, size)


def upload_file(actor: Actor, job: AvatarTrainingJob, slot: str, path: Path, file_name: str = "") -> AvatarTrainingJob:
    """A whole file given to the platform directly (a console form, a test): the same checks as a signed upload.
    For the training video this replaces any video (and parts) uploaded so far."""
    if slot not in Slot.values:
        raise InvalidParameter(f"must be one of {', '.join(Slot.values)}", field="slot")
    path = Path(path)
    if path.stat().st_size > uploads.max_bytes(slot):
        raise InvalidParameter(f"at most {uploads.max_bytes(slot)} bytes", field=uploads.FIELDS[slot])
    with transaction.atomic():
        job = _locked(job)
        _ensure_editable(job, uploads.FIELDS[slot])
        if slot == Slot.TRAINING_VIDEO:
            _reset_video(job, 1)
            job.save()
        upload = AvatarUpload.objects.create(job=job, account=job.account, slot=slot, file_name=file_name[:256],
                                             generation=job.video_generation)
    accepted = _arrived(upload, uploads.put_file(upload, path), actor)
    job.refresh_from_db()
    if accepted.state != AvatarUpload.State.UPLOADED:
        raise InvalidParameter(accepted.reason, field=uploads.FIELDS[slot])
    return job


def _check_kind(slot: str, path: Path) -> str:
    """The container of a file that is what `slot` takes; InvalidParameter naming the field otherwise."""
    from synthesis.media.probe import probe

    kind, containers, words = uploads.KINDS[slot]
    info = probe(path)
    if info.unsafe or info.error or info.container not in containers or (kind and info.kind != kind):
        found = info.unsafe or info.error or (f"it is {info.container}" if info.container else "its format is unknown")
        raise InvalidParameter(f"must be {words}; {found}", field=uploads.FIELDS[slot])
    return info.container


def _refuse(upload: AvatarUpload, error: InvalidParameter) -> None:
    AvatarUpload.objects.filter(pk=upload.pk).update(state=AvatarUpload.State.FAILED, received_bytes=0,
                                                     declared_size=None, reason=error.message[:1024])
    uploads.discard(upload)


def _arrived(upload: AvatarUpload, size: int, actor: Actor | None = None) -> AvatarUpload:
    """A complete upload: a part of the video is kept for assembly; a whole file is checked and attached."""
    job = upload.job
    if upload.slot == Slot.TRAINING_VIDEO and job.video_multipart_count > 1:
        tag = uploads.etag(upload) if not uploads.is_s3() else uploads.bucket_etag(upload)
        with transaction.atomic():
            _ensure_open(upload, _locked(job))
            AvatarUpload.objects.filter(pk=upload.pk).update(
                state=AvatarUpload.State.UPLOADED, received_bytes=size, declared_size=size, etag=tag, reason="",
                completed_at=timezone.now())
        uploads.drop_sidecar(upload)
        upload.refresh_from_db()
        return upload
    with uploads.local_bytes(upload) as path:
        try:
            container = _check_kind(upload.slot, Path(path))
        except InvalidParameter as error:
            _refuse(upload, error)
            raise
        tag = uploads.etag(upload) if not uploads.is_s3() else uploads.bucket_etag(upload)
        with transaction.atomic():
            job = _locked(job)
            _ensure_open(upload, job)
            if uploads.is_s3():
                name = uploads.bucket_key(upload)
            else:
                name = uploads.store(Path(path), uploads.stored_name(job, upload.slot, upload.pk.hex[:12], container))
            _attach(job, upload.slot, name, upload.file_name or f"{uploads.FIELDS[upload.slot]}"
                                                                 f"{uploads.EXTENSIONS.get(container, '')}")
            AvatarUpload.objects.filter(pk=upload.pk).update(
                state=AvatarUpload.State.UPLOADED, received_bytes=size, declared_size=size, etag=tag, reason="",
                completed_at=timezone.now())
            log(job, "USER_UPLOAD_FILE", actor, f"{uploads.FIELDS[upload.slot]}: {size} bytes")
    uploads.drop_sidecar(upload)
    upload.refresh_from_db()
    return upload


def _attach(job: AvatarTrainingJob, slot: str, name: str, original_name: str) -> None:
    field = uploads.FIELDS[slot]
    old = getattr(job, field).name
    setattr(job, field, name)
    job.file_names = {**job.file_names, field: original_name[:256]}
    job.save()
    if old and old != name:
        transaction.on_commit(lambda: default_storage.delete(old))


def collect_arrivals(job: AvatarTrainingJob) -> None:
    """S3 mode: presigned PUTs go straight to the bucket; take in what arrived there (no-op on local storage)."""
    if not uploads.is_s3():
        return
    pending = job.uploads.exclude(state=AvatarUpload.State.UPLOADED)
    for upload in list(pending):
        if upload.slot == Slot.TRAINING_VIDEO and upload.generation != job.video_generation:
            continue
        size = uploads.received_size(upload)
        if size:
            try:
                _arrived(upload, size)
            except (InvalidParameter, StateConflict):
                pass  # recorded on the upload (FAILED with the reason); missing_material() tells the user
    job.refresh_from_db()


def uploaded_parts(job: AvatarTrainingJob) -> list[dict]:
    """GET_MULTIPART_UPLOADED: the parts of the current training video that arrived, with their ETag."""
    collect_arrivals(job)
    parts = job.uploads.filter(slot=Slot.TRAINING_VIDEO, generation=job.video_generation,
                               state=AvatarUpload.State.UPLOADED).order_by("part_number")
    return [{"part_number": str(part.part_number), "etag": part.etag} for part in parts]


def _missing_parts(job: AvatarTrainingJob) -> list[int]:
    arrived = set(job.uploads.filter(slot=Slot.TRAINING_VIDEO, generation=job.video_generation,
                                     state=AvatarUpload.State.UPLOADED).values_list("part_number", flat=True))
    return [number for number in range(1, job.video_multipart_count + 1) if number not in arrived]


def confirm_video_parts(actor: Actor, job: AvatarTrainingJob) -> AvatarTrainingJob:
    """CONFIRM_MULTIPART_UPLOADED: join the parts of the training video in order and check the result."""
    collect_arrivals(job)
    job.refresh_from_db()
    _ensure_editable(job, "training_video")
    if job.training_video:
        return job
    missing = _missing_parts(job)
    if missing:
        raise InvalidParameter(f"parts {number_ranges(missing)} of {job.video_multipart_count} have not arrived",
                               field="training_video")
    generation = job.video_generation
    parts = list(job.uploads.filter(slot=Slot.TRAINING_VIDEO, generation=generation).order_by("part_number"))
    joined = uploads.concatenate(parts)
    try:
        limit = uploads.max_bytes(Slot.TRAINING_VIDEO)
        if joined.stat().st_size > limit:
            raise InvalidParameter(f"at most {limit} bytes; the parts add up to {joined.stat().st_size}",
                                   field="training_video")
        container = _check_kind(Slot.TRAINING_VIDEO, joined)
        with transaction.atomic():
            job = _locked(job)
            _ensure_editable(job, "training_video")
            if job.video_generation != generation:
                raise StateConflict("the training video was replaced meanwhile", field="training_video")
            name = uploads.store(joined, uploads.stored_name(job, Slot.TRAINING_VIDEO, f"g{generation}", container))
            _attach(job, Slot.TRAINING_VIDEO, name, f"training_video{uploads.EXTENSIONS.get(container, '')}")
            log(job, "USER_CONFIRM_MULTIPART_UPLOADED", actor, f"{len(parts)} parts joined")
            _audit(actor, "confirm_parts", job, parts=len(parts))
            transaction.on_commit(lambda: [uploads.discard(part) for part in parts])
    finally:
        joined.unlink(missing_ok=True)
    return job


def missing_material(job: AvatarTrainingJob) -> list[str]:
    """What the user still has to upload before submitting, each naming its field (empty when ready)."""
    missing = []
    if not job.training_video:
        failed = job.uploads.filter(slot=Slot.TRAINING_VIDEO, generation=job.video_generation,
                                    state=AvatarUpload.State.FAILED).first()
        absent = _missing_parts(job)
        if failed is not None:
            missing.append(f"training_video (the training video): refused: {failed.reason}")
        elif job.video_multipart_count > 1 and absent:
            missing.append(f"training_video (the training video): parts {number_ranges(absent)} of "
                           f"{job.video_multipart_count} not uploaded")
        elif job.video_multipart_count == 1 or absent:
            missing.append("training_video (the training video): not uploaded")
    if not job.grant_file:
        failed = job.uploads.filter(slot=Slot.GRANT_FILE, state=AvatarUpload.State.FAILED).first()
        missing.append("grant_file (the authorization letter): "
                       + (f"refused: {failed.reason}" if failed else "not uploaded"))
    return missing


# --- commands: submit for checks ------------------------------------------------------------------------------

def execute_command(actor: Actor, job: AvatarTrainingJob, command, *, command_message=None,
                    comment_data=None) -> dict:
    """MetaStudio's ExecuteDigitalHumanTrainingJobCommand for tenants: SUBMITVERIFYING, GET_MULTIPART_UPLOADED,
    CONFIRM_MULTIPART_UPLOADED. Answers {"commond_result": "SUCCESS", ...} (MetaStudio's field names)."""
    offered = ", ".join(COMMANDS)
    if not isinstance(command, str) or not command:
        raise InvalidParameter(f"must be one of {offered}", field="command")
    if command in NOT_OFFERED:
        raise InvalidParameter(f"{command} is not offered by this platform; use one of {offered}", field="command")
    if command not in COMMANDS:
        raise InvalidParameter(f"must be one of {offered}", field="command")
    if command_message not in (None, "", *COMMAND_MESSAGES):
        raise InvalidParameter(f"must be one of {', '.join(COMMAND_MESSAGES)}", field="command_message")
    if command == "GET_MULTIPART_UPLOADED":
        return {"commond_result": "SUCCESS", "multipart_data": uploaded_parts(job)}
    if command == "CONFIRM_MULTIPART_UPLOADED":
        job = confirm_video_parts(actor, job)
        return {"commond_result": "SUCCESS", "state": job.state}
    job = submit(actor, job, comment=_clean_comment(comment_data))
    return {"commond_result": "SUCCESS", "state": job.state}


def _clean_comment(comment_data) -> str:
    if comment_data is None:
        return ""
    if not isinstance(comment_data, dict):
        raise InvalidParameter("must be an object {comment_title, comment_message}", field="comment_data")
    title = _clean_text(comment_data.get("comment_title"), "comment_data.comment_title", 256)
    message = _clean_text(comment_data.get("comment_message"), "comment_data.comment_message", 1024)
    return ": ".join(part for part in (title, message) if part)


def submit(actor: Actor, job: AvatarTrainingJob, *, comment: str = "") -> AvatarTrainingJob:
    """SUBMITVERIFYING: the training video (all its parts) and the authorization letter are needed; the video
    check job starts (AUTO_VERIFYING)."""
    from avatars.tasks import CHECK

    collect_arrivals(job)
    job = AvatarTrainingJob.objects.select_related("engine_job").get(pk=job.pk)
    if not job.editable:
        raise StateConflict(f"only a job in {', '.join(AvatarTrainingJob.EDITABLE_STATES)} can be submitted; "
                            f"this one is {job.state}", field="command")
    if not job.training_video and job.video_multipart_count > 1 and not _missing_parts(job):
        job = confirm_video_parts(actor, job)
    with transaction.atomic():
        job = _locked(job)
        _ensure_editable(job, "command")
        missing = missing_material(job)
        if missing:
            raise InvalidParameter("not ready: " + "; ".join(missing))
        engine = jobs.submit(actor, job.account, CHECK.name, {"avatar_job_id": str(job.pk)}, project=job.project)
        _set_state(job, State.AUTO_VERIFYING, "", engine_job=engine, submitted_at=timezone.now(), verify_report={},
                   admin_audit={})
        if comment:
            log(job, "USER_COMMENT", actor, comment)
        log(job, "USER_VERIFYING_SUBMITTED", actor, "submitted for the video check and review")
        _audit(actor, "submit", job)
    return job


@transaction.atomic
def finish_video_check(job_id, report: dict) -> AvatarTrainingJob:
    """The video check's verdict (system): MANUAL_VERIFYING when it passed, else AUTO_VERIFY_FAILED with the
    messages of the failed rules. `report` is VideoCheckReport.to_dict()."""
    job = AvatarTrainingJob.objects.select_for_update().get(pk=job_id)
    if job.state != State.AUTO_VERIFYING:
        return job
    report = jsonable(report)
    failures = [str(rule.get("message") or rule.get("rule")) for rule in report.get("rules") or []
                if isinstance(rule, dict) and rule.get("status") == "fail"]
    if job.is_background_replacement and not report.get("green_screen"):
        failures.append("is_background_replacement: the background can only be replaced when the training video "
                        "is shot on a green screen; shoot it again or turn background replacement off")
    passed = bool(report.get("passed")) and not failures
    width, height = report.get("width") or 0, report.get("height") or 0
    resolution = AvatarTrainingJob.Resolution.K4 if min(width, height) >= 2160 else AvatarTrainingJob.Resolution.P1080
    report["audit_time"] = timezone.now().isoformat()
    if passed:
        warnings = "; ".join(str(item) for item in report.get("warnings") or [])
        _set_state(job, State.MANUAL_VERIFYING, "waiting for manual review", verify_report=report,
                   model_resolution=resolution)
        log(job, "SYSTEM_VERIFY_SUCCESS", None, f"video check passed{'; warnings: ' + warnings if warnings else ''}")
    else:
        reason = "; ".join(failures) or "the training video did not pass the check"
        _set_state(job, State.AUTO_VERIFY_FAILED, reason, verify_report=report, model_resolution=resolution)
        log(job, "SYSTEM_VERIFY_FAILED", None, reason)
    return job


# --- review (back office) -----------------------------------------------------------------------------------

def review(actor: Actor, job: AvatarTrainingJob, *, approved: bool, message: str = "",
           final: bool = False) -> AvatarTrainingJob:
    """A reviewer's decision on the material of a MANUAL_VERIFYING job: approve (training is queued:
    MANUAL_VERIFY_SUCCESS), reject with a reason (MANUAL_VERIFY_FAILED: the tenant fixes and resubmits) or,
    with final=True, refuse for good (JOB_REJECT)."""
    from avatars.tasks import TRAIN

    with transaction.atomic():
        job = _locked(job)
        if job.state != State.MANUAL_VERIFYING:
            raise StateConflict(f"only a job waiting for review (MANUAL_VERIFYING) can be reviewed; this one is "
                                f"{job.state}", field="job_id")
        message = (message or "").strip()[:1024]
        admin_audit = {"approved": approved, "final": bool(final and not approved), "reviewer": actor.name,
                       "message": message or ("approved" if approved else ""),
                       "audit_time": timezone.now().isoformat()}
        if approved:
            engine = jobs.submit(actor, job.account, TRAIN.name, {"avatar_job_id": str(job.pk)}, project=job.project)
            _set_state(job, State.MANUAL_VERIFY_SUCCESS, "", admin_audit=admin_audit, engine_job=engine)
            log(job, "ADMIN_VERIFY_SUCCESS", actor, message or "approved: training queued")
        else:
            if not message:
                raise InvalidParameter("say why the material is rejected", field="reason")
            if final:
                _set_state(job, State.JOB_REJECT, f"rejected by review: {message}", admin_audit=admin_audit,
                           finished_at=timezone.now())
            else:
                _set_state(job, State.MANUAL_VERIFY_FAILED, f"rejected by review: {message}", admin_audit=admin_audit)
            log(job, "ADMIN_VERIFY_FAILED", actor, message + (" (final)" if final else ""))
        record_audit(actor, f"avatar_training.{'approve' if approved else 'reject'}", job, account=job.account,
                     detail={"message": message, "final": bool(final and not approved)})
    return job


# --- training (called by the job handlers and the engine's hooks) ---------------------------------------------

@transaction.atomic
def training_phase(job_id, state: str) -> AvatarTrainingJob:
    """Move a job that is being trained to the phase `state` (a retry may start over from an earlier one)."""
    job = AvatarTrainingJob.objects.select_for_update().get(pk=job_id)
    if job.state not in AvatarTrainingJob.TRAINING_STATES or state not in PHASE_LOGS:
        raise StateConflict(f"the job is {job.state}, not being trained")
    if job.state != state:
        _set_state(job, state)
        log(job, PHASE_LOGS[state])
    return job


@transaction.atomic
def model_stored(job_id, asset: Asset) -> AvatarTrainingJob:
    job = AvatarTrainingJob.objects.select_for_update().get(pk=job_id)
    job.model_asset = asset
    job.save(update_fields=["model_asset", "updated_at"])
    log(job, "SYSTEM_TRAIN_SUCCESS", None, f"model {asset.pk} stored")
    return job


def training_succeeded(engine_job) -> None:
    """on_succeed of the training job kind, in the engine's completing transaction (with the metering): the
    model becomes ACTIVED and the job JOB_SUCCESS, together or not at all."""
    job = AvatarTrainingJob.objects.select_for_update().filter(engine_job=engine_job).first()
    if job is None or job.state not in AvatarTrainingJob.TRAINING_STATES or job.model_asset_id is None:
        return
    Asset.objects.filter(pk=job.model_asset_id, state=Asset.State.CREATING).update(
        state=Asset.State.ACTIVED, updated_at=timezone.now())
    _set_state(job, State.JOB_SUCCESS, "", finished_at=timezone.now())
    log(job, "SYSTEM_JOB_SUCCESS", None, f"model {job.model_asset_id} is in the asset library")


def engine_failed(engine_job) -> None:
    """on_fail of the check and training job kinds (any cause: the reaper's, or a cancel from the task center):
    the avatar job leaves its running state for the failed state of that phase, with the reason; a half-stored
    model is removed."""
    job = AvatarTrainingJob.objects.select_for_update().filter(engine_job=engine_job).first()
    if job is None or job.state not in PHASE_FAILURES:
        return
    reason = engine_job.error_msg or "the job failed"
    state = PHASE_FAILURES[job.state]
    fields = {} if state == State.AUTO_VERIFY_FAILED else {"finished_at": timezone.now()}
    asset = job.model_asset
    if asset is not None and asset.state == Asset.State.CREATING:
        asset_actions.delete_asset(Actor.system(job.account), asset, force=True)
        fields["model_asset"] = None
    _set_state(job, state, reason, **fields)
    log(job, "SYSTEM_VERIFY_FAILED" if state == State.AUTO_VERIFY_FAILED else "SYSTEM_TRAIN_FAILED", None, reason)


# --- deleting -----------------------------------------------------------------------------------------------

def delete_job(actor: Actor, job: AvatarTrainingJob) -> None:
    """Delete a job that nothing works on, with its material; a trained model stays in the asset library."""
    with transaction.atomic():
        job = _locked(job)
        if not job.deletable:
            raise StateConflict(f"a {job.state} job cannot be deleted now; wait for the check or training to end",
                                field="job_id")
        names = [getattr(job, uploads.FIELDS[slot]).name for slot in Slot.values]
        pending = list(job.uploads.all())  # part files of unfinished uploads and of parts not joined yet
        _audit(actor, "delete", job, name=job.name)
        job.delete()

        def clean():
            for name in names:
                if name:
                    default_storage.delete(name)
            for upload in pending:
                uploads.discard(upload)

        transaction.on_commit(clean)


# --- the model speaks ---------------------------------------------------------------------------------------

def speak_with_avatar(actor: Actor, asset: Asset, *, text=None, voice_id=None, audio_path=None,
                      project=None) -> jobs.Job:
    """Queue an `avatars.speak` job: the avatar model `asset` says `text` with the voice `voice_id` (a preset
    voice or one of the tenant's trained voices), or lip-syncs the WAV/MP3 at `audio_path`. Everything is
    checked before the job exists; the result is a VIDEO asset (job.result["asset_id"])."""
    from avatars.tasks import SPEAK
    from voices import speech

    account = asset.account
    if asset.type != Asset.Type.HUMAN_MODEL_2D:
        raise InvalidParameter("must be an avatar model (HUMAN_MODEL_2D)", field="asset_id")
    asset_actions.ensure_usable(asset)
    if not asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).exists():
        raise StateConflict("the avatar has no model file", field="asset_id")
    has_text = isinstance(text, str) and bool(text.strip())
    if has_text == bool(audio_path):
        raise InvalidParameter("give either text (with a voice) or an audio file, not both", field="text")
    params = {"model_asset_id": str(asset.pk)}
    stored = ""
    if has_text:
        if len(text) > SPEAK_MAX_TEXT:
            raise InvalidParameter(f"at most {SPEAK_MAX_TEXT} characters; this text has {len(text)}", field="text")
        speech.resolve_voice(account, voice_id, field="voice_id")
        params["tts"] = speech.clean_tts_request(account, {"text": text, "voice_asset_id": voice_id,
                                                           "sample_rate": 24000}, max_chars=SPEAK_MAX_TEXT)
    else:
        stored, params["audio_seconds"] = store_driving_audio(account, Path(audio_path))
        params["audio_name"] = stored
    try:
        with transaction.atomic():
            job = jobs.submit(actor, account, SPEAK.name, params, project=project or asset.project)
            record_audit(actor, "avatar.speak", asset, account=account,
                         detail={"job_id": str(job.pk), "characters": len(text) if has_text else 0,
                                 "voice_id": voice_id if has_text else None})
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return job


def store_driving_audio(account, path: Path, *, folder: str = "avatars/speak", field: str = "audio",
                        mono: bool = False) -> tuple[str, float]:
    """Check a WAV/MP3 that drives a clip (<= 20 MB, <= 5 min, and one channel when `mono`) and keep it in the
    storage under `folder` for the job; returns (stored name, seconds)."""
    from synthesis.media.probe import probe

    if not path.is_file() or path.stat().st_size == 0:
        raise InvalidParameter("the audio file is empty or missing", field=field)
    if path.stat().st_size > SPEAK_MAX_AUDIO_BYTES:
        raise InvalidParameter(f"at most {SPEAK_MAX_AUDIO_BYTES // 2**20} MB; this file has "
                               f"{path.stat().st_size / 2**20:.1f} MB", field=field)
    info = probe(path)
    if not info.ok or info.kind != "audio" or info.container not in SPEAK_AUDIO:
        found = info.error or (f"it is {info.container}" if info.container else "its format is unknown")
        raise InvalidParameter(f"must be a WAV or MP3 audio file; {found}", field=field)
    if mono and (info.channels or 1) != 1:
        raise InvalidParameter(f"must be mono (one channel); this audio has {info.channels} channels "
                               f"at {info.sample_rate} Hz", field=field)
    seconds = float(info.duration_s or 0)
    if seconds > SPEAK_MAX_AUDIO_SECONDS:
        raise InvalidParameter(f"at most {SPEAK_MAX_AUDIO_SECONDS // 60} minutes; this audio lasts {seconds:.0f} s",
                               field=field)
    with open(path, "rb") as handle:
        name = default_storage.save(f"{folder}/{account.pk}/{uuid.uuid4().hex}.{info.container}", File(handle))
    return name, round(seconds, 3)
