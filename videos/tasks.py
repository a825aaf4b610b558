"""Photo digital human jobs: thin handlers that reload by id, call the synthesis engine and store results.

- videos.photo_detection: synthesis.photo.detect.check_photo -> the report (every rule with verdict, value and
  threshold) as the job result, the marked-up preview as the job's file.
- videos.photo_video: the photo is checked again with every rule, the text is spoken (or the audio taken), then
  synthesis.photo.talking.render_talking_photo -> a VIDEO asset made by the platform. The video's seconds are
  metered in the engine's completing transaction, so a retried job never charges twice; a retry after the
  asset was stored finds it and does not render again.
"""

import contextlib
import tempfile
from pathlib import Path

from django.utils import timezone

from assets.models import Asset
from assets.tasks import local_copy
from metastudio.jobs import JobFailure, JobKind, JobRun, register_kind
from videos import actions, presets

DETECTION = register_kind(JobKind(name="videos.photo_detection", label="Photo detection", iam_resource="photo",
                                  handler="videos.tasks.detect_photo", lease_seconds=120))
PHOTO_VIDEO = register_kind(JobKind(name="videos.photo_video", label="Photo digital human video",
                                    iam_resource="photo", handler="videos.tasks.render_photo_video",
                                    on_fail="avatars.tasks.speak_ended", on_succeed="avatars.tasks.speak_ended",
                                    lease_seconds=600, max_attempts=2))



@contextlib.contextmanager
def local_photo(name: str | None, preset_id: str | None):
    """A photo as a local path: the preset's picture, or the stored upload."""
    if preset_id:
        yield presets.preset_photo_path(presets.get_preset(preset_id))
        return
    with local_copy(name) as path:
        yield Path(path)


def ensure_animatable(photo: Path):
    """Every photo rule (synthesis.photo.detect); a photo that breaks one fails the job with the rules it breaks.
    Returns the report (its warnings go into the result)."""
    from synthesis.photo.detect import check_photo

    report = check_photo(photo)
    if not report.passed:
        broken = "; ".join(f"{rule.rule}: {rule.message}" for rule in report.rules if rule.status == "fail")
        raise JobFailure(f"the photo cannot be animated: {broken}", code="MSS.00000003")
    return report


# --- detection ----------------------------------------------------------------------------------------------

def detect_photo(run: JobRun) -> dict:
    from synthesis.photo.detect import check_photo

    run.progress(5, "reading the photo")
    params = run.job.params
    with tempfile.TemporaryDirectory(prefix="photo-detect-") as folder, \
            local_photo(params.get("photo_name"), params.get("preset_id")) as photo:
        preview = Path(folder) / "preview.png"
        run.progress(20, "checking the photo")
        report = check_photo(photo, preview_path=preview)
        result = report.to_dict()
        if preview.is_file():
            run.attach_file("preview.png", preview.open("rb"))
        result["has_preview"] = preview.is_file()
    return result


# --- photo videos -------------------------------------------------------------------------------------------

def render_photo_video(run: JobRun) -> dict:
    from synthesis.photo.talking import render_talking_photo

    job = run.job
    params = job.params
    stored = Asset.objects.filter(account=job.account, type=Asset.Type.VIDEO,
                                  media_info__photo_video_job_id=str(job.pk)).first()
    if stored is not None:  # a retry after the video was stored: resume, do not render again
        return _finish(run, stored, [])
    with tempfile.TemporaryDirectory(prefix="photo-video-") as folder, contextlib.ExitStack() as stack:
        work = Path(folder)
        run.progress(2, "checking the photo")
        photo = stack.enter_context(local_photo(params.get("photo_name"), params.get("preset_id")))
        report = ensure_animatable(photo)
        phonemes = None
        if params.get("tts"):
            from avatars.tasks import speak_text

            run.progress(5, "speaking the text")
            audio, phonemes = speak_text(job.account, params["tts"], work / "speech.wav")
        else:
            audio = Path(stack.enter_context(local_copy(params["audio_name"])))
        run.progress(12, "animating the photo")
        clip = render_talking_photo(photo, work / "video.mp4", audio_path=audio, phonemes=phonemes,
                                    fps=params["fps"], aspect=params.get("aspect"), max_side=1080,
                                    progress=run.scaled_progress(12, 95))
        run.progress(96, "storing the video")
        video = _store(run, Path(clip), work)
    return _finish(run, video, report.warnings)


def _store(run: JobRun, clip: Path, work: Path) -> Asset:
    from avatars.tasks import store_platform_video

    params = run.job.params
    name = params.get("asset_name") or f"Photo video {timezone.now():%Y-%m-%d %H:%M:%S}"
    return store_platform_video(run.job, clip, work, name=name,
                                media_info={"photo_video_job_id": str(run.job.pk),
                                            "preset_id": params.get("preset_id")})


def _finish(run: JobRun, video: Asset, warnings: list[str]) -> dict:
    params = run.job.params
    seconds = round(float((video.media_info or {}).get("duration_s") or 0), 3)
    run.meter(actions.VIDEO_RESOURCE, seconds, "seconds")
    if params.get("tts"):
        from voices import speech

        run.meter(speech.tts_resource(params["tts"]["voice_tier"]), params["tts"]["characters"], "characters")
    return {"asset_id": str(video.pk), "asset_name": video.name, "duration": seconds,
            "charged_minutes": str(actions.billable_minutes(seconds)), "photo_warnings": warnings}
