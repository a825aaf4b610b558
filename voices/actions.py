"""Every state change of voice training jobs and TTS configuration. Atomic, audited, op-logged."""

import json
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from assets import moderation
from metastudio import jobs
from metastudio.errors import InvalidParameter, LimitExceeded, PermissionDenied, StateConflict
from tenancy.audit import Actor, record_audit
from voices.models import CustomReading, VocabularyGroup, VoiceJobLog, VoiceRecording, VoiceTrainingJob

LANGUAGES = ("zh", "en")
LETTER_TYPES = (".pdf", ".png", ".jpg", ".jpeg")
LETTER_MAX_BYTES = 10 * 1024 * 1024
MAX_READINGS = 1000
MAX_GROUPS = 100
State = VoiceTrainingJob.State


# --- helpers ------------------------------------------------------------------------------------

def log(job: VoiceTrainingJob, operation: str, actor: Actor | None = None, message: str = "") -> None:
    VoiceJobLog.objects.create(job=job, operation=operation, actor_name=actor.name if actor else "system",
                               message=message[:1024])


def _audit(actor: Actor, action: str, job: VoiceTrainingJob, **detail) -> None:
    record_audit(actor, f"voice_training.{action}", job, account=job.account, detail=detail)


def _clean_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(name) <= 256:
        raise InvalidParameter("must be 1 to 256 characters", field="voice_name")
    return name


def _ensure_editable(job: VoiceTrainingJob) -> None:
    if job.state not in VoiceTrainingJob.EDITABLE_STATES:
        raise StateConflict(f"recordings can change only before the job is submitted; this job is {job.state}",
                            field="job_id")


def _set_state(job: VoiceTrainingJob, state: str, reason: str = "", **fields) -> None:
    job.state, job.reason = state, reason[:1024]
    for name, value in fields.items():
        setattr(job, name, value)
    job.save()


# --- creating and filling a job ---------------------------------------------------------------

@transaction.atomic
def create_training_job(actor: Actor, account, *, tier: str, voice_name, sex="FEMALE", language="zh",
                        description="", project=None) -> VoiceTrainingJob:
    from synthesis.speech.prompts import prompts

    if not account.is_enterprise:
        raise PermissionDenied("voice production is for enterprise accounts", field="tier")
    if tier not in VoiceTrainingJob.Tier.values:
        raise InvalidParameter(f"must be one of {', '.join(VoiceTrainingJob.Tier.values)}", field="tier")
    name = _clean_name(voice_name)
    if sex not in VoiceTrainingJob.Sex.values:
        raise InvalidParameter("must be FEMALE or MALE", field="sex")
    if language not in LANGUAGES:
        raise InvalidParameter(f"must be one of {', '.join(LANGUAGES)}", field="language")
    description = description or ""
    if not isinstance(description, str) or len(description) > 1024:
        raise InvalidParameter("at most 1024 characters", field="description")
    if not account.review_exempt and moderation.findings(name, description):
        raise InvalidParameter("the name or description did not pass machine review", field="voice_name")
    job = VoiceTrainingJob(account=account, project=project, created_by=actor.user, tier=tier, voice_name=name,
                           sex=sex, language=language, description=description)
    count = job.required_sentences
    job.prompts = prompts(language, count) if count else []
    job.save()
    log(job, "CREATE", actor, f"{tier} job created")
    _audit(actor, "create", job, tier=tier, voice_name=name)
    return job


def _check(job: VoiceTrainingJob, index: int, text: str, path: Path, *, asr: bool):
    from synthesis.speech.checks import check_recording

    return check_recording(str(path), text, job.language, asr=asr and settings.VOICE_CHECK_ASR, sentence_number=index)


def _apply_report(recording: VoiceRecording, report) -> None:
    recording.status = VoiceRecording.Status.OK if report.ok else VoiceRecording.Status.REDO
    recording.problems = [{"code": problem.code, "message": problem.message} for problem in report.problems]
    recording.metrics = jsonable(report.metrics)


def _store_recording(job: VoiceTrainingJob, index: int, text: str, path: Path, *, asr: bool) -> VoiceRecording:
    report = _check(job, index, text, path, asr=asr)
    recording = VoiceRecording.objects.filter(job=job, index=index).first() or VoiceRecording(job=job, index=index)
    old = recording.audio.name if recording.pk else ""
    recording.text = text
    _apply_report(recording, report)
    with open(path, "rb") as handle:
        recording.audio.save(f"{job.pk}/{index:04d}.wav", File(handle), save=False)
    recording.save()
    if old and old != recording.audio.name:
        storage, name = recording.audio.storage, old
        transaction.on_commit(lambda: storage.delete(name))
    return recording


def recheck_recording(recording: VoiceRecording, path: Path, *, asr: bool) -> VoiceRecording:
    """The system audit's check of a stored recording (`path`: a local copy of it); the file stays as it is."""
    _apply_report(recording, _check(recording.job, recording.index, recording.text, path, asr=asr))
    recording.save(update_fields=["status", "problems", "metrics"])
    return recording


def jsonable(value):
    """`value` with numpy numbers (and anything else JSON lacks) turned into plain floats or strings."""
    return json.loads(json.dumps(value, default=lambda item: float(item) if hasattr(item, "__float__") else str(item)))


def _sentence_index(job: VoiceTrainingJob, index) -> int:
    if job.tier == VoiceTrainingJob.Tier.ADVANCE:
        raise InvalidParameter("an ADVANCE job takes one long recording: upload it as the package", field="index")
    try:
        index = int(index)
    except (TypeError, ValueError):
        raise InvalidParameter("must be a sentence number", field="index") from None
    if not 1 <= index <= job.required_sentences:
        raise InvalidParameter(f"must be between 1 and {job.required_sentences}", field="index")
    return index


def upload_recording(actor: Actor, job: VoiceTrainingJob, index, path: Path) -> VoiceRecording:
    """One sentence recorded online or uploaded: checked at once (level, noise, clipping, text via ASR)."""
    index = _sentence_index(job, index)
    _ensure_editable(job)
    if path.stat().st_size > settings.VOICE_RECORDING_MAX_BYTES:
        raise InvalidParameter(f"a recording is at most {settings.VOICE_RECORDING_MAX_BYTES} bytes", field="file")
    with transaction.atomic():
        job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
        _ensure_editable(job)
        recording = _store_recording(job, index, job.prompts[index - 1], path, asr=True)
        verdict = "ok" if recording.status == "OK" else "redo: " + "; ".join(p["message"] for p in recording.problems)
        log(job, "UPLOAD_RECORDING", actor, f"sentence {index}: {verdict}")
    return recording


def _package_members(archive: zipfile.ZipFile) -> dict[int, dict[str, str]]:
    """{sentence number: {"wav": member, "txt": member}} from names like 1.wav, 01.txt, folder/3.wav."""
    found: dict[int, dict[str, str]] = {}
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = PurePosixPath(info.filename)
        if name.name.startswith(".") or "__MACOSX" in name.parts:
            continue
        stem, suffix = name.stem, name.suffix.lower()
        if suffix not in (".wav", ".txt") or not stem.isdigit():
            raise InvalidParameter(f"unexpected file {info.filename!r}: the zip holds N.wav (and optional N.txt)",
                                   field="file")
        slot = found.setdefault(int(stem), {})
        if suffix[1:] in slot:
            raise InvalidParameter(f"sentence {int(stem)} appears twice in the zip", field="file")
        slot[suffix[1:]] = info.filename
    return found


def upload_package(actor: Actor, job: VoiceTrainingJob, path: Path, filename: str, workdir: Path):
    """BASIC/MIDDLE: a zip of N.wav (+ N.txt, else the prompt) replaces all recordings.
    ADVANCE: the long recording (WAV or a zip of WAVs) is stored for splitting at submit."""
    from synthesis.media import UnsafeArchive, check_zip_safe

    _ensure_editable(job)
    if path.stat().st_size > settings.VOICE_PACKAGE_MAX_BYTES:
        raise InvalidParameter(f"the package is at most {settings.VOICE_PACKAGE_MAX_BYTES} bytes", field="file")
    is_zip = zipfile.is_zipfile(path)
    if is_zip:
        try:
            check_zip_safe(path)
        except UnsafeArchive as error:
            raise InvalidParameter(f"refused zip: {error}", field="file") from None
    if job.tier == VoiceTrainingJob.Tier.ADVANCE:
        return _store_long_recording(actor, job, path, filename, is_zip)
    if not is_zip:
        raise InvalidParameter("must be a zip of N.wav files (1.wav ... N.wav)", field="file")
    with zipfile.ZipFile(path) as archive:
        members = _package_members(archive)
        expected = set(range(1, job.required_sentences + 1))
        wavs = {number for number, slot in members.items() if "wav" in slot}
        if wavs != expected or set(members) - expected:
            raise InvalidParameter(
                f"a {job.tier} job needs exactly {job.required_sentences} recordings 1.wav to "
                f"{job.required_sentences}.wav; this zip has {len(wavs)}"
                + (f" (missing {sorted(expected - wavs)[:10]})" if expected - wavs else "")
                + (f" (unexpected {sorted(set(members) - expected)[:10]})" if set(members) - expected else ""),
                field="file")
        texts = {}
        for number, slot in members.items():
            if "txt" in slot:
                text = archive.read(slot["txt"]).decode("utf-8", errors="replace").strip()
                if not 1 <= len(text) <= 1024:
                    raise InvalidParameter(f"{slot['txt']}: the text must be 1 to 1024 characters", field="file")
                texts[number] = text
        extracted = {}
        for number, slot in members.items():
            target = workdir / f"{number:04d}.wav"
            with archive.open(slot["wav"]) as source, open(target, "wb") as out:
                out.write(source.read(settings.VOICE_RECORDING_MAX_BYTES + 1))
            if target.stat().st_size > settings.VOICE_RECORDING_MAX_BYTES:
                raise InvalidParameter(f"{slot['wav']} is larger than {settings.VOICE_RECORDING_MAX_BYTES} bytes",
                                       field="file")
            extracted[number] = target
    with transaction.atomic():
        job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
        _ensure_editable(job)
        prompts = list(job.prompts)
        for number, target in sorted(extracted.items()):
            prompts[number - 1] = texts.get(number, prompts[number - 1])
            _store_recording(job, number, prompts[number - 1], target, asr=False)
        job.prompts = prompts
        job.save(update_fields=["prompts", "updated_at"])
        log(job, "UPLOAD_PACKAGE", actor, f"{filename}: {len(extracted)} recordings")
        _audit(actor, "upload_package", job, file=filename)
    return job


def _store_long_recording(actor: Actor, job: VoiceTrainingJob, path: Path, filename: str, is_zip: bool):
    if not is_zip:
        with open(path, "rb") as handle:
            if handle.read(4) != b"RIFF":
                raise InvalidParameter("must be a WAV file, or a zip of WAV files", field="file")
    with transaction.atomic():
        job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
        _ensure_editable(job)
        old = job.package.name
        with open(path, "rb") as handle:
            job.package.save(f"{job.pk}/{'package.zip' if is_zip else 'long.wav'}", File(handle), save=False)
        job.save(update_fields=["package", "updated_at"])
        if old and old != job.package.name:
            storage = job.package.storage
            transaction.on_commit(lambda: storage.delete(old))
        log(job, "UPLOAD_PACKAGE", actor, f"long recording {filename}")
        _audit(actor, "upload_package", job, file=filename)
    return job


@transaction.atomic
def upload_authorization_letter(actor: Actor, job: VoiceTrainingJob, data: bytes, filename: str):
    _ensure_editable(job)
    suffix = Path(filename or "").suffix.lower()
    if suffix not in LETTER_TYPES:
        raise InvalidParameter(f"must be one of {', '.join(LETTER_TYPES)}", field="file")
    if not data or len(data) > LETTER_MAX_BYTES:
        raise InvalidParameter(f"must be 1 byte to {LETTER_MAX_BYTES} bytes", field="file")
    signatures = {".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8",), ".jpeg": (b"\xff\xd8",)}
    if not data.startswith(signatures[suffix]):
        raise InvalidParameter(f"the file is not a real {suffix[1:].upper()}", field="file")
    job.authorization_letter.save(f"{job.pk}/letter{suffix}", ContentFile(data), save=False)
    job.save(update_fields=["authorization_letter", "updated_at"])
    log(job, "UPLOAD_AUTHORIZATION_LETTER", actor, filename)
    _audit(actor, "upload_letter", job, file=filename)
    return job


@transaction.atomic
def set_batch(actor: Actor, job: VoiceTrainingJob, batch_name) -> VoiceTrainingJob:
    if not isinstance(batch_name, str) or len(batch_name) > 64:
        raise InvalidParameter("at most 64 characters", field="batch_name")
    job.batch_name = batch_name
    job.save(update_fields=["batch_name", "updated_at"])
    log(job, "SET_BATCH", actor, batch_name)
    return job


# --- submit, audit, review, training ------------------------------------------------------------

def missing_material(job: VoiceTrainingJob) -> list[str]:
    """What the user still has to provide before submitting (empty when ready)."""
    missing = []
    if job.tier == VoiceTrainingJob.Tier.ADVANCE:
        if not job.package:
            missing.append("the long recording (package)")
    else:
        have = dict(job.recordings.values_list("index", "status"))
        absent = [n for n in range(1, job.required_sentences + 1) if n not in have]
        redo = sorted(n for n, status in have.items() if status == VoiceRecording.Status.REDO)
        if absent:
            missing.append(f"recordings of sentences {sentence_ranges(absent)}")
        if redo:
            missing.append(f"new recordings of sentences {sentence_ranges(redo)} (their checks failed)")
    if not job.authorization_letter:
        missing.append("the authorization letter")
    return missing


def sentence_ranges(numbers: list[int]) -> str:
    parts, start = [], None
    for position, number in enumerate(numbers):
        if start is None:
            start = number
        following = numbers[position + 1] if position + 1 < len(numbers) else None
        if following != number + 1:
            parts.append(str(start) if start == number else f"{start}-{number}")
            start = None
    return ", ".join(parts)


def submit(actor: Actor, job: VoiceTrainingJob) -> VoiceTrainingJob:
    from voices.tasks import AUDIT

    with transaction.atomic():
        job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.state not in VoiceTrainingJob.EDITABLE_STATES:
            raise StateConflict(f"only a job in CREATING or AUDIT_FAILED can be submitted; this one is {job.state}",
                                field="job_id")
        missing = missing_material(job)
        if missing:
            raise InvalidParameter("not ready: upload " + "; ".join(missing), field="job_id")
        engine = jobs.submit(actor, job.account, AUDIT.name, {"voice_job_id": str(job.pk)}, project=job.project)
        state = State.SPLITTING if job.tier == VoiceTrainingJob.Tier.ADVANCE else State.SYSTEM_AUDITING
        _set_state(job, state, engine_job=engine, submitted_at=timezone.now(), system_audit={}, admin_audit={})
        log(job, "SUBMIT", actor, "submitted for system audit")
        _audit(actor, "submit", job)
    return job


@transaction.atomic
def finish_system_audit(job_id, errors: list[dict], summary: str) -> VoiceTrainingJob:
    job = VoiceTrainingJob.objects.select_for_update().get(pk=job_id)
    audit = {"audit_time": int(timezone.now().timestamp()), "errors": errors}
    if errors:
        _set_state(job, State.AUDIT_FAILED, summary, system_audit=audit)
        log(job, "SYSTEM_AUDIT_FAILED", None, summary)
    else:
        _set_state(job, State.AUDITING, "waiting for manual review", system_audit=audit)
        log(job, "SYSTEM_AUDIT_PASSED", None, summary)
    return job


@transaction.atomic
def split_failed(job_id, reason: str) -> None:
    job = VoiceTrainingJob.objects.select_for_update().get(pk=job_id)
    _set_state(job, State.SPLIT_FAILED, reason)
    log(job, "SPLIT_FAILED", None, reason)


def review(actor: Actor, job: VoiceTrainingJob, *, approved: bool, message: str = "") -> VoiceTrainingJob:
    """A reviewer's decision on the training material (back office)."""
    from voices.tasks import TRAIN

    with transaction.atomic():
        job = VoiceTrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.state != State.AUDITING:
            raise StateConflict(f"only a job waiting for review (AUDITING) can be reviewed; this one is {job.state}",
                                field="job_id")
        message = (message or "").strip()[:1024]
        admin_audit = {"message": message or ("approved" if approved else "rejected"), "reviewer": actor.name,
                       "audit_time": int(timezone.now().timestamp()), "approved": approved}
        if approved:
            engine = jobs.submit(actor, job.account, TRAIN.name, {"voice_job_id": str(job.pk)}, project=job.project)
            _set_state(job, State.WAITING, "", admin_audit=admin_audit, engine_job=engine)
            log(job, "ADMIN_APPROVED", actor, message)
        else:
            if not message:
                raise InvalidParameter("say why the material is rejected", field="reason")
            _set_state(job, State.AUDIT_FAILED, f"rejected by review: {message}", admin_audit=admin_audit)
            log(job, "ADMIN_REJECTED", actor, message)
        record_audit(actor, f"voice_training.{'approve' if approved else 'reject'}", job, account=job.account,
                     detail={"message": message})
    return job


@transaction.atomic
def training_started(job_id) -> VoiceTrainingJob:
    job = VoiceTrainingJob.objects.select_for_update().get(pk=job_id)
    if job.state not in (State.WAITING, State.PROCESSING):
        raise StateConflict(f"the job is {job.state}, not waiting for training")
    if job.state == State.WAITING:
        _set_state(job, State.PROCESSING)
        log(job, "TRAINING_STARTED")
    return job


@transaction.atomic
def training_succeeded(job_id, asset) -> VoiceTrainingJob:
    job = VoiceTrainingJob.objects.select_for_update().get(pk=job_id)
    _set_state(job, State.SUCCEED, "", voice_asset=asset, finished_at=timezone.now())
    log(job, "TRAINING_SUCCEEDED", None, f"voice model {asset.pk}")
    return job


def engine_failed(engine_job) -> None:
    """on_fail hook of the audit and training job kinds: the voice job fails with the reason (any cause)."""
    job = VoiceTrainingJob.objects.select_for_update().filter(engine_job=engine_job).first()
    if job is None:
        return
    reason = engine_job.error_msg or "the job failed"
    if job.state == State.SPLITTING:
        _set_state(job, State.SPLIT_FAILED, reason)
    elif job.state == State.SYSTEM_AUDITING:
        _set_state(job, State.AUDIT_FAILED, reason)
    elif job.state in (State.WAITING, State.PROCESSING):
        _set_state(job, State.FAILED, reason, finished_at=timezone.now())
    else:
        return
    log(job, f"{job.state}", None, reason)


def delete_job(actor: Actor, job: VoiceTrainingJob) -> None:
    if job.state not in VoiceTrainingJob.DELETABLE_STATES:
        raise StateConflict(f"a {job.state} job cannot be deleted now", field="job_id")
    with transaction.atomic():
        names = [r.audio.name for r in job.recordings.all()] + [job.package.name, job.authorization_letter.name]
        storage = job.package.storage
        _audit(actor, "delete", job)
        job.delete()
        transaction.on_commit(lambda: [storage.delete(name) for name in names if name])


# --- TTS configuration: custom readings and vocabulary groups -------------------------------------

def _clean_reading(source, target) -> tuple[str, str]:
    if not isinstance(source, str) or not 1 <= len(source.strip()) <= 64:
        raise InvalidParameter("must be 1 to 64 characters", field="source_text")
    if not isinstance(target, str) or not 1 <= len(target.strip()) <= 256:
        raise InvalidParameter("must be 1 to 256 characters", field="target_text")
    return source.strip(), target.strip()


@transaction.atomic
def set_reading(actor: Actor, account, *, source, target, group=None) -> CustomReading:
    source, target = _clean_reading(source, target)
    existing = CustomReading.objects.filter(account=account, group=group, source=source).first()
    if existing is None and CustomReading.objects.filter(account=account).count() >= MAX_READINGS:
        raise LimitExceeded(f"at most {MAX_READINGS} custom readings per tenant")
    reading = existing or CustomReading(account=account, group=group, source=source)
    reading.target = target
    reading.save()
    record_audit(actor, "tts.reading.set", reading, account=account, detail={"source": source, "target": target})
    return reading


@transaction.atomic
def update_reading(actor: Actor, reading: CustomReading, *, source=None, target=None) -> CustomReading:
    source, target = _clean_reading(source if source is not None else reading.source,
                                    target if target is not None else reading.target)
    clash = CustomReading.objects.filter(account=reading.account, group=reading.group, source=source)
    if clash.exclude(pk=reading.pk).exists():
        raise StateConflict(f"a reading of {source!r} already exists", field="source_text")
    reading.source, reading.target = source, target
    reading.save()
    record_audit(actor, "tts.reading.update", reading, account=reading.account, detail={"source": source})
    return reading


@transaction.atomic
def delete_reading(actor: Actor, reading: CustomReading) -> None:
    record_audit(actor, "tts.reading.delete", reading, account=reading.account, detail={"source": reading.source})
    reading.delete()


def _clean_group_name(name) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
        raise InvalidParameter("must be 1 to 64 characters", field="group_name")
    return name.strip()


@transaction.atomic
def create_group(actor: Actor, account, name) -> VocabularyGroup:
    name = _clean_group_name(name)
    if VocabularyGroup.objects.filter(account=account, name=name).exists():
        raise StateConflict(f"a group named {name!r} already exists", field="group_name")
    if VocabularyGroup.objects.filter(account=account).count() >= MAX_GROUPS:
        raise LimitExceeded(f"at most {MAX_GROUPS} vocabulary groups per tenant")
    group = VocabularyGroup.objects.create(account=account, name=name)
    record_audit(actor, "tts.group.create", group, account=account, detail={"name": name})
    return group


@transaction.atomic
def rename_group(actor: Actor, group: VocabularyGroup, name) -> VocabularyGroup:
    name = _clean_group_name(name)
    if VocabularyGroup.objects.filter(account=group.account, name=name).exclude(pk=group.pk).exists():
        raise StateConflict(f"a group named {name!r} already exists", field="group_name")
    group.name = name
    group.save(update_fields=["name"])
    record_audit(actor, "tts.group.rename", group, account=group.account, detail={"name": name})
    return group


@transaction.atomic
def delete_group(actor: Actor, group: VocabularyGroup) -> None:
    record_audit(actor, "tts.group.delete", group, account=group.account, detail={"name": group.name})
    group.delete()


@transaction.atomic
def set_group_voices(actor: Actor, group: VocabularyGroup, voice_ids) -> VocabularyGroup:
    from voices.speech import resolve_voice

    if not isinstance(voice_ids, list) or len(voice_ids) > 100:
        raise InvalidParameter("must be a list of at most 100 voice ids", field="asset_ids")
    cleaned = []
    for position, voice_id in enumerate(voice_ids):
        resolve_voice(group.account, voice_id, field=f"asset_ids[{position}]", usable=False)
        if str(voice_id) not in cleaned:
            cleaned.append(str(voice_id))
    group.voice_ids = cleaned
    group.save(update_fields=["voice_ids"])
    record_audit(actor, "tts.group.set_assets", group, account=group.account, detail={"voice_ids": cleaned})
    return group
