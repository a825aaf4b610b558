"""Avatar jobs: thin handlers that reload by id, call the synthesis engine and write results back through actions.

- avatars.check: the training video check (synthesis.face.video_check) -> MANUAL_VERIFYING or AUTO_VERIFY_FAILED.
- avatars.train: synthesis.avatar.training.train_avatar, then a preview clip (synthesis.avatar.preview); the model
  is stored as a HUMAN_MODEL_2D asset (MAIN = model, COVER, SAMPLE = preview, model card in media_info). The
  asset turns ACTIVED and the job JOB_SUCCESS in the engine's completing transaction (on_succeed), where the
  one AVATAR_TRAINING unit is metered: a retried or resumed run never charges twice.
- avatars.speak: synthesis.avatar.render.render_clip of text (spoken by voices.speech) or uploaded audio ->
  a VIDEO asset made by the platform.
"""

import contextlib
import tempfile
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from assets.models import Asset, AssetFile
from assets.tasks import local_copy, store_generated_file
from avatars import actions
from avatars.models import AvatarTrainingJob
from metastudio.errors import ServiceError
from metastudio.jobs import JobFailure, JobKind, JobRun, register_kind

State = AvatarTrainingJob.State
CHECK = register_kind(JobKind(name="avatars.check", label="Avatar training video check", iam_resource="avatar",
                              handler="avatars.tasks.check_video", on_fail="avatars.actions.engine_failed",
                              lease_seconds=600))
TRAIN = register_kind(JobKind(name="avatars.train", label="Avatar model training", iam_resource="avatar",
                              handler="avatars.tasks.train_model", on_fail="avatars.actions.engine_failed",
                              on_succeed="avatars.actions.training_succeeded", lease_seconds=600, max_attempts=2))
SPEAK = register_kind(JobKind(name="avatars.speak", label="Avatar speech clip", iam_resource="avatar",
                              handler="avatars.tasks.speak", on_fail="avatars.tasks.speak_ended",
                              on_succeed="avatars.tasks.speak_ended", lease_seconds=600))
TRAINING_RESOURCE = "AVATAR_TRAINING"
SPEAK_FPS = 25


def _avatar_job(run: JobRun) -> AvatarTrainingJob:
    job = AvatarTrainingJob.objects.filter(pk=run.job.params.get("avatar_job_id")).first()
    if job is None:
        raise JobFailure("the avatar training job no longer exists")
    return job



# --- the training video check ---------------------------------------------------------------------------

def check_video(run: JobRun) -> dict:
    from synthesis.face.video_check import check_training_video
    from synthesis.media.errors import MediaError

    job = _avatar_job(run)
    if job.state != State.AUTO_VERIFYING:
        raise JobFailure(f"the avatar job is {job.state}, not waiting for its video check")
    run.progress(2, "reading the training video")
    with local_copy(job.training_video.name) as path:
        try:
            report = check_training_video(Path(path), progress=run.scaled_progress(5, 95))
        except MediaError as error:  # unreadable video: a verdict for the user, not a crash
            report = _unreadable(str(error))
            actions.finish_video_check(job.pk, report)
            return {"avatar_job_id": str(job.pk), "passed": False}
    job = actions.finish_video_check(job.pk, report.to_dict())
    return {"avatar_job_id": str(job.pk), "passed": job.state == State.MANUAL_VERIFYING, "state": job.state}


def _unreadable(message: str) -> dict:
    return {"passed": False, "rules": [{"rule": "readable", "status": "fail", "value": None,
                                        "message": f"the training video cannot be read: {message}"}],
            "warnings": []}


# --- training -------------------------------------------------------------------------------------------

def train_model(run: JobRun) -> dict:
    from synthesis.avatar.preview import render_preview
    from synthesis.avatar.training import ActionMark, TrainingRejected, train_avatar

    job = _avatar_job(run)
    if job.model_asset_id and job.state in AvatarTrainingJob.TRAINING_STATES:
        # A retry after the model was stored (the worker died before completing): resume, do not train again.
        run.meter(TRAINING_RESOURCE, 1, "model")
        return _result(job)
    try:
        job = actions.training_phase(job.pk, State.TRAINING_DATA_PREPROCESSING)
    except ServiceError as error:
        raise JobFailure(error.message) from None
    run.progress(1, "fetching the training video")
    with tempfile.TemporaryDirectory(prefix="avatar-train-") as folder, local_copy(job.training_video.name) as video:
        work = Path(folder)
        actions.training_phase(job.pk, State.TRAINING)
        try:
            marks = [ActionMark(a["name"], a["start_time"], a["end_time"]) for a in job.action_segments]
            trained = train_avatar(Path(video), work / "model", actions=marks, progress=run.scaled_progress(3, 85))
        except TrainingRejected as rejected:
            raise JobFailure(f"training refused: {rejected.reason}") from None
        actions.training_phase(job.pk, State.INFERENCE_DATA_PREPROCESSING)
        run.progress(86, "rendering the preview clip")
        preview = render_preview(Path(trained.model_path), work / "preview.mp4", progress=run.scaled_progress(86, 97))
        run.progress(97, "storing the model")
        card = actions.jsonable(trained.card)
        with contextlib.ExitStack() as stack:
            cover = Path(trained.cover_path)
            if job.cover:  # the user's own cover wins over the frame the training picked
                cover = Path(stack.enter_context(local_copy(job.cover.name)))
            asset = _store_model(job, Path(trained.model_path), cover, Path(preview), card)
    run.meter(TRAINING_RESOURCE, 1, "model")
    return _result(job, asset)


def _result(job: AvatarTrainingJob, asset: Asset | None = None) -> dict:
    asset = asset or job.model_asset
    return {"avatar_job_id": str(job.pk), "asset_id": str(asset.pk),
            "supports_actions": bool((asset.media_info or {}).get("supports_actions"))}


@transaction.atomic
def _store_model(job: AvatarTrainingJob, model: Path, cover: Path, preview: Path, card: dict) -> Asset:
    """The trained model as a HUMAN_MODEL_2D asset (CREATING until the engine completes the job)."""
    supports_actions = bool(card.get("supports_actions"))
    green_screen = bool(card.get("green_screen"))
    asset = Asset.objects.create(
        account=job.account, project=job.project, created_by=job.created_by, name=job.name,
        type=Asset.Type.HUMAN_MODEL_2D, state=Asset.State.CREATING, review=Asset.Review.PASSED,
        review_note="training material approved by a reviewer",
        tags=(["SUPPORTS_ACTIONS"] if supports_actions else []),
        media_info={
            "training_job_id": str(job.pk), "trained_at": timezone.now().isoformat(),
            "supports_actions": supports_actions, "actions": card.get("actions") or [],
            "green_screen": green_screen, "model_card": card,
            "human_model_2d_meta": {
                "model_version": job.model_version, "model_resolution": job.model_resolution,
                "is_real_background": not green_screen, "support_live": True, "is_flexus": False,
                "is_action_editable": supports_actions, "is_with_action_library": supports_actions,
            },
        },
    )
    files = [store_generated_file(asset, AssetFile.Category.MAIN, model, file_type=model.suffix.lstrip(".")),
             store_generated_file(asset, AssetFile.Category.COVER, cover, name=f"cover{cover.suffix or '.jpg'}",
                                  file_type=(cover.suffix.lstrip(".") or "jpg")),
             store_generated_file(asset, AssetFile.Category.SAMPLE, preview, name="preview.mp4", file_type="mp4")]
    Asset.objects.filter(pk=asset.pk).update(size_bytes=sum(file.declared_size for file in files))
    actions.model_stored(job.pk, asset)
    asset.refresh_from_db()
    return asset


# --- speaking -------------------------------------------------------------------------------------------

def speak(run: JobRun) -> dict:
    from synthesis.avatar.render import render_clip

    params, account = run.job.params, run.job.account
    model = Asset.objects.filter(account=account, pk=params.get("model_asset_id")).first()
    if model is None:
        raise JobFailure("the avatar model no longer exists")
    main = model.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
    try:
        from assets.actions import ensure_usable

        ensure_usable(model)
    except ServiceError as error:
        raise JobFailure(error.message) from None
    if main is None:
        raise JobFailure("the avatar has no model file")
    with tempfile.TemporaryDirectory(prefix="avatar-speak-") as folder, contextlib.ExitStack() as stack:
        work = Path(folder)
        model_path = Path(stack.enter_context(local_copy(main.stored.name)))
        phonemes = None
        if params.get("tts"):
            run.progress(2, "speaking the text")
            audio, phonemes = speak_text(account, params["tts"], work / "speech.wav")
        else:
            audio = Path(stack.enter_context(local_copy(params["audio_name"])))
        run.progress(10, "rendering the avatar")
        clip = render_clip(model_path, work / "clip.mp4", audio_path=audio, phonemes=phonemes, fps=SPEAK_FPS,
                           progress=run.scaled_progress(10, 95))
        run.progress(96, "storing the video")
        video = _store_clip(run.job, model, Path(clip), work)
    if params.get("tts"):
        from voices import speech

        run.meter(speech.tts_resource(params["tts"]["voice_tier"]), params["tts"]["characters"], "characters")
    return {"asset_id": str(video.pk), "model_asset_id": str(model.pk),
            "duration": (video.media_info or {}).get("duration_s")}


def speak_ended(engine_job) -> None:
    """on_succeed / on_fail of avatars.speak: the uploaded audio was only kept for the job."""
    name = (engine_job.params or {}).get("audio_name")
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def speak_text(account, tts: dict, target: Path) -> tuple[Path, list]:
    """The text spoken by the voice (a preset voice or the tenant's trained voice, with its readings) as WAV, and
    its timed phonemes (the mouth follows them exactly); at most SPEAK_MAX_AUDIO_SECONDS of speech."""
    chunks = synthesize_speech(account, tts, target)
    seconds = sum(len(chunk.pcm) for chunk in chunks) / tts["sample_rate"]
    if seconds > actions.SPEAK_MAX_AUDIO_SECONDS:
        raise JobFailure(f"the text makes {seconds:.0f} s of speech; at most {actions.SPEAK_MAX_AUDIO_SECONDS} s")
    return target, [phoneme for chunk in chunks for phoneme in chunk.phonemes]


def synthesize_speech(account, tts: dict, target: Path) -> list:
    """Speak validated TTS params into a WAV at `target`; returns the engine's chunks (audio, phonemes, word
    timings). Engine and voice errors fail the job with their message."""
    import numpy as np

    from synthesis.speech.audio import encode
    from synthesis.speech.types import SpeechError
    from voices import speech

    try:
        chunks = list(speech.stream(account, tts))
    except ServiceError as error:
        raise JobFailure(error.message) from None
    except SpeechError as error:
        raise JobFailure(f"{error.field}: {error.message}") from None
    pcm = np.concatenate([chunk.pcm for chunk in chunks]) if chunks else np.zeros(0, dtype=np.int16)
    target.write_bytes(encode(pcm, tts["sample_rate"], "wav"))
    return chunks


@transaction.atomic
def _store_clip(engine_job, model: Asset, clip: Path, work: Path) -> Asset:
    return store_platform_video(engine_job, clip, work, name=f"{model.name} {timezone.now():%Y-%m-%d %H:%M:%S}",
                                media_info={"model_asset_id": str(model.pk), "speak_job_id": str(engine_job.pk)})


@transaction.atomic
def store_platform_video(engine_job, clip: Path, work: Path, *, name: str, media_info: dict,
                         extension: str = "mp4") -> Asset:
    """A rendered video (MP4, or WEBM / MOV with alpha) as an ACTIVED VIDEO asset made by the platform, with a
    thumbnail."""
    from synthesis.media import derive
    from synthesis.media.probe import probe

    info = probe(clip)
    if not info.ok or info.kind != "video":
        raise JobFailure(f"the rendered clip is not a playable video: {info.error or info.container}")
    video = Asset.objects.create(
        account=engine_job.account, project=engine_job.project, created_by=engine_job.created_by,
        name=name[:256], type=Asset.Type.VIDEO,
        state=Asset.State.ACTIVED, review=Asset.Review.PASSED, review_note="made by the platform",
        created_by_platform=True, system_properties=[{"key": "CREATED_BY_PLATFORM", "value": "Yes"}],
        media_info={**info.as_dict(), **media_info},
    )
    files = [store_generated_file(video, AssetFile.Category.MAIN, clip, name=f"clip.{extension}",
                                  file_type=extension)]
    thumbnail = derive.video_thumbnail(clip, work / "thumbnail.png", at=min(1.0, (info.duration_s or 2) / 2))
    files.append(store_generated_file(video, AssetFile.Category.THUMBNAIL, Path(thumbnail), name="thumbnail.png"))
    Asset.objects.filter(pk=video.pk).update(size_bytes=sum(file.declared_size for file in files))
    video.refresh_from_db()
    return video
