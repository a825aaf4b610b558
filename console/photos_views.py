"""The console's photo digital human: choose a photo (upload one, which runs photo detection and shows its report
rule by rule with the marked-up preview, or pick a preset digital human), drive it with a text and a voice or an
uploaded recording, pick the output (aspect, frame rate, name), generate and follow the job live, then play and
download the video. The tenant's recent photo videos are listed on the page. Views parse input, call
videos.actions and render."""

import mimetypes
import tempfile
from pathlib import Path

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset
from console.avatars_views import SPEAK_VOICE, _media_response, _project
from console.job_videos import account_job, job_video, job_video_response
from console.views import _actor, _attempt, console_page, refuse, wants_json
from console.voices_views import _preset_groups, _uploaded_path, _voice_assets
from metastudio import jobs
from metastudio.errors import InvalidParameter, NotFound, ServiceError, StateConflict, is_uuid
from tenancy.permissions import user_can
from videos import actions, presets
from videos.tasks import DETECTION, PHOTO_VIDEO

Job = jobs.Job
SHOW, CREATE, CANCEL = "metastudio:photo:show", "metastudio:photo:create", "metastudio:photo:cancel"
RECENT = 10  # photo videos listed on the page
MAX_UPLOAD_BYTES = 32 * 2**20  # larger uploads are refused before detection (which fails anything over 16 MB)
MAX_AUDIO_MB = 20
DEFAULT_TEXT = "Hello! I am a digital human made from a single photo. Nice to meet you."
RULE_LABELS = {
    "readable": "Readable", "format": "Format", "file_size": "File size", "resolution": "Resolution",
    "one_face": "One face", "face_size": "Face size", "pose": "Head pose", "eyes": "Eyes",
    "occlusion": "Face not covered", "lighting": "Lighting", "sharpness": "Sharpness", "real_photo": "Real photo",
}
# Each form part and the API field names (of videos.actions) whose errors are shown next to it.
FIELD_GROUPS = {
    "photo": ("photo", "human_image", "preset_id"),
    "script": ("shoot_scripts", "shoot_scripts[0].script_type"),
    "text": ("shoot_scripts[0].text_config.text", "text"),
    "voice": ("voice_config", "voice_config.voice_asset_id"),
    "speed": ("voice_config.speed",),
    "audio": ("audio", "shoot_scripts[0].audio_asset_id"),
    "aspect": ("video_config.aspect_ratio",),
    "fps": ("video_config", "video_config.frame_rate", "video_config.codec", "video_config.bitrate"),
    "name": ("output_asset_config.asset_name",),
    "form": ("form",),  # anything else
}
ASPECTS = [("ORIGINAL", "Original"), ("9:16", "9:16 (portrait)"), ("16:9", "16:9 (landscape)")]


# --- helpers --------------------------------------------------------------------------------------------------

def _group(field: str | None) -> str:
    return next((group for group, fields in FIELD_GROUPS.items() if field in fields), "form")


def _error_json(error: ServiceError) -> JsonResponse:
    """The API's error body plus the field it names, so the page shows it next to that field."""
    return JsonResponse({**error.body(), "field": error.field or "form", "group": _group(error.field)},
                        status=error.status)


def _shown(value, rule: str = "") -> str:
    """A measured value or threshold of a rule as text."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if rule == "file_size" and isinstance(value, int):
        return f"{value / 2**20:.1f} MB"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{str(key).replace('_', ' ')} {_shown(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and all(isinstance(item, (int, float)) for item in value):
            return f"{_shown(value[0])}–{_shown(value[1])}"
        return ", ".join(_shown(item) for item in value)
    return str(value)


def _rules(report: dict) -> list[dict]:
    return [{"rule": rule.get("rule"), "status": rule.get("status"), "message": rule.get("message") or "",
             "label": RULE_LABELS.get(rule.get("rule"), str(rule.get("rule") or "").replace("_", " ").capitalize()),
             "value": _shown(rule.get("value"), rule.get("rule")),
             "threshold": _shown(rule.get("threshold"), rule.get("rule"))}
            for rule in (report or {}).get("rules") or [] if isinstance(rule, dict)]


def _verdict(job: Job) -> dict:
    """pass / fail / checking, with the reason a photo cannot be used."""
    if job.state not in Job.FINAL_STATES:
        return {"verdict": "checking", "reason": "The photo is being checked."}
    if job.state != Job.State.SUCCEED:
        return {"verdict": "fail", "reason": f"The photo could not be checked: {job.error_msg or job.state}."}
    report = job.result or {}
    failed = [rule for rule in _rules(report) if rule["status"] == "fail"]
    if report.get("passed") and not failed:
        return {"verdict": "pass", "reason": ""}
    names = ", ".join(rule["label"] for rule in failed) or "the photo rules"
    return {"verdict": "fail", "reason": f"This photo failed the check ({names}): upload another photo or pick a "
                                         "preset."}


def _detection_state(request, job: Job) -> dict:
    """The detection's live view: the job, its verdict and (once it ended) the report as HTML."""
    payload = jobs.job_payload(job)
    verdict = _verdict(job)
    payload.update({
        **verdict,
        "state_url": reverse("console:photo_detection", args=[job.pk]),
        "photo_url": reverse("console:photo_job_photo", args=[job.pk]),
        "choice": f"detection:{job.pk}",
        "passed": verdict["verdict"] == "pass",
        "report_html": render_to_string("console/photos/_report.html", _report_context(job), request=request)
        if job.state in Job.FINAL_STATES else "",
    })
    return payload


def _report_context(job: Job) -> dict:
    report = (job.result or {}) if job.state == Job.State.SUCCEED else {}
    rules = _rules(report)
    return {
        "detection": job,
        "report": report,
        "rules": rules,
        "failed_rules": [rule for rule in rules if rule["status"] == "fail"],
        "warned_rules": [rule for rule in rules if rule["status"] == "warn"],
        **_verdict(job),
        "preview_url": reverse("console:photo_preview", args=[job.pk])
        if job.state == Job.State.SUCCEED and job.result_file else "",
    }


def _video_state(job: Job, *, with_asset: bool = True) -> dict:
    payload = jobs.job_payload(job)
    params, result = job.params or {}, job.result or {}
    video = job_video(job) if with_asset else None
    url = reverse("console:photo_video_file", args=[job.pk]) if video is not None else None
    payload.update({
        "state_url": reverse("console:photo_video_state", args=[job.pk]),
        "photo_url": reverse("console:photo_job_photo", args=[job.pk]),
        "cancel_url": reverse("console:photo_video_cancel", args=[job.pk]) if job.state == Job.State.WAITING
        else None,
        "video_url": url,
        "download_url": f"{url}?download=1" if url else None,
        "asset_id": str(video.pk) if video is not None else None,
        "asset_name": result.get("asset_name") or params.get("asset_name") or "",
        "duration": result.get("duration"),
        "charged_minutes": result.get("charged_minutes"),
        "photo_warnings": result.get("photo_warnings") or [],
        "script_type": params.get("script_type"),
        "preset_id": params.get("preset_id"),
    })
    return payload


def _recent(account) -> list[dict]:
    found = Job.objects.filter(account=account, kind=PHOTO_VIDEO.name).order_by("-created_at")[:RECENT]
    return [{**_video_state(job), "created": job.created_at, "preset_name": _preset_name(job)} for job in found]


def _preset_name(job: Job) -> str:
    preset = presets.PRESETS.get((job.params or {}).get("preset_id"))
    return preset.name if preset else ""


def _presets() -> list[dict]:
    return [{**preset.as_dict(), "url": reverse("console:photo_preset", args=[preset.preset_id]),
             "choice": f"preset:{preset.preset_id}"} for preset in presets.preset_photos()]


def _default_voice(groups) -> str:
    return next((v.voice_id for _, _, group in groups for v in group if v.voice_id == SPEAK_VOICE),
                next((v.voice_id for code, _, group in groups if code == "en" for v in group), ""))


def _page(request, *, form=None, errors=None, status: int = 200):
    account = request.user.account
    groups = _preset_groups()
    detection = None
    detection_id = request.GET.get("detection") or ""
    if is_uuid(detection_id):
        detection = Job.objects.filter(account=account, kind=DETECTION.name, pk=detection_id).first()
    current = None
    video_id = request.GET.get("video") or ""
    if is_uuid(video_id):
        current = Job.objects.filter(account=account, kind=PHOTO_VIDEO.name, pk=video_id).first()
    form = form if form is not None else {}
    preset = request.GET.get("preset")
    choice = form.get("photo") or (f"detection:{detection.pk}" if detection is not None else "") or (
        f"preset:{preset}" if preset in presets.PRESETS else "")
    return render(request, "console/photos/studio.html", {
        "presets": _presets(),
        "detection": _detection_state(request, detection) if detection is not None else None,
        "current": _video_state(current) if current is not None else None,
        "choice": choice,
        "preset_groups": groups,
        "voices": list(_voice_assets(account).filter(state=Asset.State.ACTIVED).order_by("name")),
        "voice_id": form.get("voice_id") or _default_voice(groups),
        "text": form.get("text", DEFAULT_TEXT),
        "script_type": form.get("script_type") or "TEXT",
        "speed": form.get("speed") or 100,
        "frame_rate": form.get("frame_rate") or "25",
        "aspect_ratio": form.get("aspect_ratio") or "ORIGINAL",
        "asset_name": form.get("asset_name", ""),
        "aspects": ASPECTS,
        "frame_rates": [str(fps) for fps in actions.FRAME_RATES],
        "max_text": actions.MAX_TEXT,
        "max_audio_mb": MAX_AUDIO_MB,
        "max_audio_minutes": actions.MAX_SPEECH_SECONDS // 60,
        "errors": errors or {},
        "fields": {group: " ".join(fields) for group, fields in FIELD_GROUPS.items()},
        "recent": _recent(account),
        "can_create": user_can(request.user, CREATE),
        "can_cancel": user_can(request.user, CANCEL),
        "ws_live": user_can(request.user, "metastudio:job:show"),
    }, status=status)


# --- the page -------------------------------------------------------------------------------------------------

@require_GET
@console_page(SHOW)
def studio(request):
    """The photo digital human page; ?detection=<job> shows that photo's check, ?video=<job> that video,
    ?preset=<id> picks that preset."""
    return _page(request)


@require_GET
@console_page()
def preset_photo(request, preset_id):
    """A preset digital human's picture (public domain): any user of a tenant sees it, on whichever page."""
    preset = presets.PRESETS.get(preset_id)
    if preset is None:
        raise Http404
    response = FileResponse(open(presets.preset_photo_path(preset), "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- photo detection ------------------------------------------------------------------------------------------

def _uploaded_photo(request) -> bytes:
    upload = request.FILES.get("photo")
    if upload is None or not upload.size:
        raise InvalidParameter("choose a photo to upload (PNG, JPG or WEBP)", field="photo")
    if upload.size > MAX_UPLOAD_BYTES:
        raise InvalidParameter(f"at most 16 MB; this file has {upload.size / 2**20:.1f} MB", field="photo")
    return b"".join(upload.chunks())


@require_POST
@console_page(SHOW)
def detect(request):
    """Upload a photo: a photo-detection job checks it (followed live; the report replaces the progress)."""
    if not user_can(request.user, CREATE):
        return refuse(request, CREATE)
    account = request.user.account
    try:
        job = actions.create_photo_detection(_actor(request), account, _uploaded_photo(request),
                                             project=_project(account))
    except ServiceError as error:
        if wants_json(request):
            return _error_json(error)
        return _page(request, errors={_group(error.field): error.message}, status=error.status)
    if wants_json(request):
        return JsonResponse(_detection_state(request, job), status=201)
    return redirect(f"{reverse('console:photos')}?detection={job.pk}")


@require_GET
@console_page(SHOW)
def detection_state(request, job_id):
    """The detection's state (JSON), with the report rendered once it ended; HTML: the page showing it."""
    job = account_job(request, DETECTION.name, job_id)
    if wants_json(request):
        return JsonResponse(_detection_state(request, job))
    return redirect(f"{reverse('console:photos')}?detection={job.pk}")


@require_GET
@console_page(SHOW)
def detection_preview(request, job_id):
    """The marked-up preview PNG the detection drew (face box, landmarks, verdicts)."""
    job = account_job(request, DETECTION.name, job_id)
    if job.state != Job.State.SUCCEED or not job.result_file:
        raise Http404
    return _media_response(request, job.result_file, "image/png")


@require_GET
@console_page(SHOW)
def job_photo(request, job_id):
    """The photo a detection or photo video job was given (an upload or a preset picture)."""
    job = Job.objects.filter(account=request.user.account, kind__in=(DETECTION.name, PHOTO_VIDEO.name),
                             pk=job_id).first()
    handle = actions.photo_file(job) if job is not None else None
    if handle is None:
        raise Http404
    content_type = mimetypes.guess_type(handle.name or "")[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=300"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- photo videos ---------------------------------------------------------------------------------------------

def _detected_photo(account, job_id: str, folder: Path) -> Path:
    """The uploaded photo of the tenant's detection job, on disk, when it passed the check."""
    job = Job.objects.filter(account=account, kind=DETECTION.name, pk=job_id).first() if is_uuid(job_id) else None
    if job is None:
        raise NotFound(f"photo check {job_id} does not exist: upload the photo again", field="photo")
    verdict = _verdict(job)
    if verdict["verdict"] == "checking":
        raise StateConflict("the photo is still being checked: wait for its report", field="photo")
    if verdict["verdict"] != "pass":
        raise InvalidParameter(verdict["reason"], field="photo")
    handle = actions.photo_file(job)
    if handle is None:
        raise NotFound("the uploaded photo is no longer stored: upload it again", field="photo")
    target = folder / "photo"
    with handle, open(target, "wb") as out:
        for chunk in handle.chunks():
            out.write(chunk)
    return target


def _create_video(request, folder: Path) -> Job:
    form = request.POST
    account = request.user.account
    choice = form.get("photo", "")
    source, _, value = choice.partition(":")
    photo = {}
    if source == "preset" and value:
        photo["preset_id"] = value
    elif source == "detection" and value:
        photo["photo_path"] = _detected_photo(account, value, folder)
    else:
        raise InvalidParameter("choose a photo: upload one or pick a preset digital human", field="photo")
    video_config = {"frame_rate": form.get("frame_rate") or "25", "aspect_ratio": form.get("aspect_ratio")
                    or "ORIGINAL"}
    common = {"video_config": video_config, "asset_name": form.get("asset_name", ""),
              "project": _project(account), **photo}
    if form.get("script_type", "TEXT").upper() == "AUDIO":
        with _uploaded_path(request, "audio") as (path, _name, _folder):
            return actions.create_photo_video(_actor(request), account, shoot_scripts=[{"script_type": "AUDIO"}],
                                              audio_path=path, **common)
    voice_config = {"voice_asset_id": form.get("voice_id", ""), "speed": form.get("speed") or None}
    return actions.create_photo_video(
        _actor(request), account, shoot_scripts=[{"script_type": "TEXT", "text_config": {"text": form.get("text")}}],
        voice_config=voice_config, **common)


@require_POST
@console_page(SHOW)
def generate(request):
    """Generate: a photo video job (the photo speaks the text, or lip-syncs the uploaded audio)."""
    if not user_can(request.user, CREATE):
        return refuse(request, CREATE)
    try:
        with tempfile.TemporaryDirectory(prefix="console-photo-") as folder:
            job = _create_video(request, Path(folder))
    except ServiceError as error:
        if wants_json(request):
            return _error_json(error)
        return _page(request, form=request.POST, errors={_group(error.field): error.message}, status=error.status)
    if wants_json(request):
        return JsonResponse(_video_state(job), status=201)
    return redirect(f"{reverse('console:photos')}?video={job.pk}")


@require_GET
@console_page(SHOW)
def video_state(request, job_id):
    return JsonResponse(_video_state(account_job(request, PHOTO_VIDEO.name, job_id)))


@require_GET
@console_page(SHOW)
def recent_videos(request):
    """The recent photo videos table (HTML fragment; JSON with Accept: application/json)."""
    recent = _recent(request.user.account)
    if wants_json(request):
        return JsonResponse({"videos": [{key: value for key, value in item.items() if key != "created"}
                                        for item in recent]})
    return HttpResponse(render_to_string("console/photos/_videos.html", {
        "recent": recent, "can_cancel": user_can(request.user, CANCEL)}, request=request))


@require_GET
@console_page(SHOW)
def video_file(request, job_id):
    """The MP4 a photo video job made (seekable); ?download=1 as an attachment."""
    return job_video_response(request, account_job(request, PHOTO_VIDEO.name, job_id), "photo-video")


@require_POST
@console_page(SHOW)
def cancel_video(request, job_id):
    """Cancel a photo video that has not started."""
    if not user_can(request.user, CANCEL):
        return refuse(request, CANCEL)
    job = account_job(request, PHOTO_VIDEO.name, job_id)
    if wants_json(request):
        try:
            job = jobs.cancel(_actor(request), job)
        except ServiceError as error:
            return _error_json(error)
        return JsonResponse(_video_state(job))
    _attempt(request, lambda: jobs.cancel(_actor(request), job), "Photo video canceled.")
    return redirect("console:photos")
