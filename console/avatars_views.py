"""The console's avatars: the avatar library (the tenant's trained HUMAN_MODEL_2D models as cards), avatar
production (shooting guide, create a training job, upload the training video in resumable pieces to its signed
URL with a progress bar, the authorization letter and ID images, consent, submit, then the video check report,
the review and the training followed live), the model page (preview clip, model card, "Try it": the avatar
speaks a text or an uploaded audio file) and the training job list. Views parse input, call avatars.actions and
render."""

import re
from datetime import datetime

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset, AssetFile
from assets.serving import ranged_response
from avatars import actions, uploads
from avatars.api.serializers import job_json
from avatars.models import AvatarTrainingJob, AvatarUpload
from avatars.tasks import SPEAK
from console.assets_views import _json_error
from console.views import _actor, _attempt, _forbidden, console_page, json_action, refuse, wants_json
from console.voices_views import DEFAULT_REGION, _preset_groups, _uploaded_path, _voice_assets
from metastudio import jobs
from metastudio.errors import InvalidParameter, ServiceError
from tenancy.permissions import user_can
from videos import presets

State = AvatarTrainingJob.State
Slot = AvatarUpload.Slot
HIDDEN_STATES = (Asset.State.DELETED, Asset.State.WAITING_DELETE)
# The avatar job moves on by itself in these states: the page follows it.
LIVE_STATES = (State.AUTO_VERIFYING, State.MANUAL_VERIFYING, *AvatarTrainingJob.TRAINING_STATES)
PROGRESS_STATES = AvatarTrainingJob.RUNNING_STATES
SLOTS = {field: slot for slot, field in uploads.FIELDS.items()}  # URL name (the API's field name) -> slot
FILE_LABELS = {
    "training_video": "Training video (MP4 or MOV)",
    "grant_file": "Authorization letter signed by the person (PDF, PNG or JPG)",
    "id_card_image1": "ID card, front (PNG or JPG, optional)",
    "id_card_image2": "ID card, back (PNG or JPG, optional)",
    "cover": "Cover of the model (PNG or JPG, optional)",
}
FILE_NAMES = {"training_video": "Training video", "grant_file": "Authorization letter",
              "id_card_image1": "ID card front", "id_card_image2": "ID card back", "cover": "Cover"}
SHOOTING_GUIDE = [
    ("Resolution", "1080p (1920×1080) recommended; 720p is accepted. Landscape or portrait."),
    ("Length", "1 to 5 minutes of the person speaking."),
    ("Face", "Frontal, looking at the camera, always visible: no hands, hair or objects in front of it."),
    ("People", "Exactly one person in the picture."),
    ("Light", "Even, bright light on the face; no hard shadows or back light."),
    ("Speech", "Speak naturally at an even pace, mouth clearly visible; keep head movements small."),
    ("Background", "Any still background; a green screen is optional (needed to replace the background)."),
    ("Actions", "Optional: gestures (wave, nod), each in its own segment that starts and ends in the neutral pose; "
                "note each one's start and end time and enter them as action segments."),
]
# The steps shown above the job page, and the states in which each is the current one.
STEPS = [
    ("Upload", (State.WAIT_FILE_UPLOAD,)),
    ("Automatic check", (State.AUTO_VERIFYING, State.AUTO_VERIFY_FAILED)),
    ("Review", (State.MANUAL_VERIFYING, State.MANUAL_VERIFY_FAILED, State.JOB_REJECT)),
    ("Training", (*AvatarTrainingJob.TRAINING_STATES, State.TRAINING_DATA_PREPROCESS_FAILED, State.TRAIN_FAILED,
                  State.INFERENCE_DATA_PREPROCESS_FAILED)),
    ("Ready", (State.JOB_SUCCESS,)),
]
STATE_HELP = {
    State.WAIT_FILE_UPLOAD: "Upload the training video and the authorization letter, then submit.",
    State.AUTO_VERIFYING: "The training video is being checked automatically.",
    State.AUTO_VERIFY_FAILED: "The training video broke a rule (below): upload another video and submit again.",
    State.MANUAL_VERIFYING: "The video passed the check; waiting for a reviewer.",
    State.MANUAL_VERIFY_FAILED: "A reviewer sent the material back: fix what they name and submit again.",
    State.MANUAL_VERIFY_SUCCESS: "Approved; queued for training.",
    State.TRAINING_DATA_PREPROCESSING: "Preparing the training data.",
    State.TRAINING: "Training the avatar.",
    State.INFERENCE_DATA_PREPROCESSING: "Rendering the preview clip and storing the model.",
    State.JOB_SUCCESS: "The avatar is ready.",
    State.JOB_REJECT: "A reviewer refused the material for good.",
}
RULE_LABELS = {
    "readable": "Readable", "resolution": "Resolution", "orientation": "Orientation", "frame_rate": "Frame rate",
    "duration": "Length", "one_person": "One person", "face_visible": "Face always visible", "frontal": "Frontal face",
    "face_size": "Face size", "lighting": "Lighting", "blur": "Sharpness", "speech": "Speech",
    "green_screen": "Green screen",
}
CARD_FIELDS = [("resolution", "Resolution"), ("fps", "Frame rate (fps)"),
               ("training_video_seconds", "Training video length (s)"), ("frames", "Frames used"),
               ("face_found_share", "Share of frames with the face"), ("idle_loop_seconds", "Idle loop (s)"),
               ("blinks_per_minute", "Blinks per minute"), ("blinks_in_idle_loop", "Blinks in the idle loop"),
               ("atlas_entries", "Mouth shapes learnt"), ("training_seconds", "Training time (s)")]
# The lip-sync validation figures shown first, in this order; the others are listed under "all figures".
VALIDATION_LABELS = {
    "opening_r": "Mouth opening correlation (r)", "shape_r": "Mouth shape correlations (r)",
    "mean_abs_error_iod": "Mean error (× eye distance)", "match_share": "Frames matched",
    "loudness_r": "Loudness baseline (r)", "shift2_r": "2-frame-shift baseline (r)",
    "total_speech_s": "Speech learnt from (s)", "val_speech_s": "Held-out speech (s)", "method": "Method",
}
CONSENT_TEXT = ("I confirm the person in the video has authorized the use of their likeness and voice to make this "
                "avatar, as stated in the uploaded authorization letter.")
# One marked action per line of the form: "wave 12-15.5" (seconds in the training video).
SEGMENT_LINE = re.compile(r"^\s*(?P<name>.+?)\s+(?P<start>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*"
                          r"(?P<end>\d+(?:\.\d+)?)\s*s?\s*$")
SPEAK_TEXT = "Hello! I am your digital human. Nice to meet you."
SPEAK_VOICE = "espeak-en-us-f"  # the voice chosen first (else the first English preset)


# --- helpers --------------------------------------------------------------------------------------------------

def _account_job(request, job_id) -> AvatarTrainingJob:
    job = (AvatarTrainingJob.objects.select_related("engine_job", "model_asset", "project")
           .filter(account=request.user.account, pk=job_id).first())
    if job is None:
        raise Http404
    return job


def _models(account):
    return Asset.objects.filter(account=account, type=Asset.Type.HUMAN_MODEL_2D).exclude(state__in=HIDDEN_STATES)


def _account_model(request, asset_id) -> Asset:
    asset = _models(request.user.account).filter(pk=asset_id).first()
    if asset is None:
        raise Http404
    return asset


def _stored_file(asset: Asset, category: str) -> AssetFile | None:
    return (asset.files.filter(category=category, state=AssetFile.State.CREATED).exclude(stored="")
            .order_by("-created_at").first())


def _media_response(request, stored, content_type: str | None = None):
    """A stored file inline (seekable), cached briefly by the browser."""
    response = ranged_response(request, stored, content_type)
    response["Cache-Control"] = "private, max-age=300"
    return response


def _when(value) -> datetime | None:
    """An ISO 8601 time stored in JSON, for the template's date filter."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _job_state(job: AvatarTrainingJob) -> dict:
    """The job page's live view: the job (API shape, with the check report and what is missing) and its engine job."""
    return {
        "job": job_json(job, detail=True),
        "editable": job.editable,
        "engine_job_id": str(job.engine_job_id) if job.engine_job_id else None,
        "engine_state": job.engine_job.state if job.engine_job else None,
        "model_url": reverse("console:avatar_detail", args=[job.model_asset_id])
        if job.model_asset_id and job.state == State.JOB_SUCCESS else None,
    }


def _check_rules(report: dict) -> list[dict]:
    return [{**rule, "label": RULE_LABELS.get(rule.get("rule"), str(rule.get("rule") or "").replace("_", " "))}
            for rule in (report or {}).get("rules") or [] if isinstance(rule, dict)]


def _failed_messages(job: AvatarTrainingJob) -> list[str]:
    """Why the check failed, one line per failed rule (the reason when the report has none)."""
    if job.state != State.AUTO_VERIFY_FAILED:
        return []
    failed = [str(rule.get("message") or rule.get("rule")) for rule in _check_rules(job.verify_report)
              if rule.get("status") == "fail"]
    return failed or ([job.reason] if job.reason else [])


def _job_rows(account) -> list[dict]:
    found = AvatarTrainingJob.objects.filter(account=account).select_related("engine_job", "model_asset")[:100]
    return [{"job": job, "failed": _failed_messages(job)} for job in found]


def _steps(job: AvatarTrainingJob) -> list[dict]:
    current = next((index for index, (_, states) in enumerate(STEPS) if job.state in states), 0)
    failed = job.state in AvatarTrainingJob.FAILED_STATES
    return [{"label": label, "status": "done" if index < current or job.state == State.JOB_SUCCESS
             else ("failed" if failed else "current") if index == current else "todo"}
            for index, (label, _) in enumerate(STEPS)]


def _files(job: AvatarTrainingJob) -> list[dict]:
    return [{"field": field, "label": FILE_LABELS[field], "uploaded": bool(getattr(job, field)),
             "file_name": job.file_names.get(field, ""), "required": SLOTS[field] in actions.REQUIRED_SLOTS,
             "accept": ".mp4,.mov" if field == "training_video" else
             (".pdf,.png,.jpg,.jpeg" if field == "grant_file" else ".png,.jpg,.jpeg")}
            for field in uploads.FIELDS.values()]


def _segments(text: str) -> list[dict]:
    """The action segments typed one per line ("wave 12-15.5") as avatars.actions takes them."""
    segments = []
    for index, line in enumerate(line for line in (text or "").splitlines() if line.strip()):
        match = SEGMENT_LINE.match(line)
        if match is None:
            raise InvalidParameter(f"'{line.strip()[:40]}': one action per line, its name then its start and end in "
                                   "seconds, e.g. 'wave 12-15.5'", field=f"action_segments[{index}]")
        segments.append({"name": match["name"], "start_time": float(match["start"]),
                         "end_time": float(match["end"])})
    return segments


def _segments_text(segments) -> str:
    return "\n".join(f"{item['name']} {item['start_time']:g}-{item['end_time']:g}" for item in segments or [])


def _project(account):
    return account.projects.filter(region=DEFAULT_REGION).first() or account.projects.order_by("region").first()


# --- avatar library ----------------------------------------------------------------------------------------

@console_page("metastudio:avatar:show")
def library(request):
    """The preset digital humans (photo avatars every tenant has) and the tenant's avatar models as cards
    (cover, name, state, an actions badge)."""
    account = request.user.account
    models = list(_models(account).order_by("-created_at"))
    covers = set(AssetFile.objects.filter(asset__in=models, category=AssetFile.Category.COVER,
                                          state=AssetFile.State.CREATED).exclude(stored="")
                 .values_list("asset_id", flat=True))
    return render(request, "console/avatars/library.html", {
        "presets": [{**preset.as_dict(), "url": reverse("console:photo_preset", args=[preset.preset_id])}
                    for preset in presets.preset_photos()],
        "cards": [{"asset": asset, "has_cover": asset.pk in covers,
                   "supports_actions": bool((asset.media_info or {}).get("supports_actions"))} for asset in models],
        "rows": _job_rows(account),
        "progress_states": PROGRESS_STATES,
        "can_create": user_can(request.user, "metastudio:avatar:create"),
        "live": user_can(request.user, "metastudio:job:show"),
    })


@require_GET
@console_page("metastudio:avatar:show")
def cover(request, asset_id):
    stored = _stored_file(_account_model(request, asset_id), AssetFile.Category.COVER)
    if stored is None:
        raise Http404
    return _media_response(request, stored.stored)


@require_GET
@console_page("metastudio:avatar:show")
def preview(request, asset_id):
    """The model's SAMPLE: the preview clip rendered after training."""
    stored = _stored_file(_account_model(request, asset_id), AssetFile.Category.SAMPLE)
    if stored is None:
        raise Http404
    return _media_response(request, stored.stored, "video/mp4")


# --- model page --------------------------------------------------------------------------------------------

def _card(asset: Asset) -> dict:
    info = asset.media_info or {}
    card = info.get("model_card") or {}
    validation = card.get("validation") or {}
    shown = {key: ", ".join(str(item) for item in value) if isinstance(value, list) else value
             for key, value in validation.items() if key not in ("warnings", "warning") and not isinstance(value, dict)}
    listed = validation.get("warnings") or []
    joined = "; ".join(str(item) for item in listed)
    warnings = [str(item) for item in listed]
    warnings += [str(item) for item in card.get("warnings") or [] if str(item) != joined and item not in listed]
    meta = info.get("human_model_2d_meta") or {}
    return {
        "facts": [(label, card[key]) for key, label in CARD_FIELDS if card.get(key) not in (None, "")],
        "model_resolution": meta.get("model_resolution", ""),
        "green_screen": bool(info.get("green_screen")),
        "supports_actions": bool(info.get("supports_actions")),
        "actions": info.get("actions") or [],
        "trained_at": _when(info.get("trained_at")),
        "validation": [(label, shown[key]) for key, label in VALIDATION_LABELS.items() if key in shown],
        "validation_more": sorted((key, value) for key, value in shown.items() if key not in VALIDATION_LABELS),
        "warnings": warnings,
    }


def _speak_jobs(account, asset: Asset):
    return jobs.Job.objects.filter(account=account, kind=SPEAK.name, params__model_asset_id=str(asset.pk))


def _speak_state(asset: Asset, job: jobs.Job) -> dict:
    payload = jobs.job_payload(job)
    payload["video_url"] = (reverse("console:avatar_clip", args=[asset.pk, job.pk])
                            if job.state == jobs.Job.State.SUCCEED and (job.result or {}).get("asset_id") else None)
    payload["state_url"] = reverse("console:avatar_speak_state", args=[asset.pk, job.pk])
    return payload


def _recent(account, asset: Asset) -> list[dict]:
    return [{**_speak_state(asset, job), "created": job.created_at}
            for job in _speak_jobs(account, asset).order_by("-created_at")[:5]]


@console_page("metastudio:avatar:show")
def model_detail(request, asset_id):
    """The model: preview clip, cover, model card and the "Try it" form."""
    account = request.user.account
    asset = _account_model(request, asset_id)
    groups = _preset_groups()
    voices = list(_voice_assets(account).filter(state=Asset.State.ACTIVED).order_by("name"))
    return render(request, "console/avatars/model.html", {
        "asset": asset,
        "card": _card(asset),
        "cover_url": reverse("console:avatar_cover", args=[asset.pk])
        if _stored_file(asset, AssetFile.Category.COVER) else "",
        "preview_url": reverse("console:avatar_preview", args=[asset.pk])
        if _stored_file(asset, AssetFile.Category.SAMPLE) else "",
        "job": AvatarTrainingJob.objects.filter(account=account, model_asset=asset).first(),
        "can_speak": user_can(request.user, "metastudio:avatar:speak") and asset.state == Asset.State.ACTIVED,
        "preset_groups": groups,
        "voices": voices,
        "default_voice": next((v.voice_id for _, _, group in groups for v in group if v.voice_id == SPEAK_VOICE),
                              next((v.voice_id for code, _, group in groups if code == "en" for v in group), "")),
        "default_text": SPEAK_TEXT,
        "max_text": actions.SPEAK_MAX_TEXT,
        "recent": _recent(account, asset),
    })


@require_POST
@console_page("metastudio:avatar:show")
def speak(request, asset_id):
    """Try it: the model says a text with a voice, or lip-syncs an uploaded WAV/MP3 (a job; its clip follows)."""
    if not user_can(request.user, "metastudio:avatar:speak"):
        return refuse(request, "metastudio:avatar:speak")
    asset = _account_model(request, asset_id)
    started = []

    def work():
        if request.POST.get("mode") == "audio":
            with _uploaded_path(request, "audio") as (path, _name, _folder):
                started.append(actions.speak_with_avatar(_actor(request), asset, audio_path=path,
                                                         project=_project(request.user.account)))
        else:
            started.append(actions.speak_with_avatar(_actor(request), asset, text=request.POST.get("text", ""),
                                                     voice_id=request.POST.get("voice_id") or None,
                                                     project=_project(request.user.account)))

    if wants_json(request):
        try:
            work()
        except ServiceError as error:
            return _json_error(error)
        return JsonResponse(_speak_state(asset, started[0]), status=201)
    _attempt(request, work, "The avatar is speaking: the clip appears below when it is rendered.")
    return redirect("console:avatar_detail", asset_id=asset.pk)


@require_GET
@console_page("metastudio:avatar:show")
def speak_state(request, asset_id, job_id):
    asset = _account_model(request, asset_id)
    job = _speak_jobs(request.user.account, asset).filter(pk=job_id).first()
    if job is None:
        raise Http404
    return JsonResponse(_speak_state(asset, job))


@require_GET
@console_page("metastudio:avatar:show")
def clip(request, asset_id, job_id):
    """The MP4 a speak job of this model made."""
    account = request.user.account
    asset = _account_model(request, asset_id)
    job = _speak_jobs(account, asset).filter(pk=job_id, state=jobs.Job.State.SUCCEED).first()
    video = Asset.objects.filter(account=account, type=Asset.Type.VIDEO, pk=(job.result or {}).get("asset_id")) \
        .exclude(state__in=HIDDEN_STATES).first() if job is not None else None
    stored = _stored_file(video, AssetFile.Category.MAIN) if video is not None else None
    if stored is None:
        raise Http404
    return _media_response(request, stored.stored, "video/mp4")


# --- avatar production: create a job ---------------------------------------------------------------------------

@console_page("metastudio:avatar:show")
def new_job(request):
    """The shooting guide and the form that creates a training job; also lists the tenant's training jobs."""
    can_create = user_can(request.user, "metastudio:avatar:create")
    form = {}
    if request.method == "POST":
        if not can_create:
            return _forbidden(request, "metastudio:avatar:create")
        form = request.POST
        account = request.user.account
        created = []

        def create():
            tags = [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()]
            created.append(actions.create_training_job(
                _actor(request), account, name=form.get("name", ""), contact=form.get("contact", ""),
                tags=tags, is_background_replacement=form.get("is_background_replacement") == "on",
                action_segments=_segments(form.get("action_segments", "")), project=_project(account)))

        if _attempt(request, create, "Avatar training job created: upload the training video and the letter."):
            return redirect("console:avatar_job", job_id=created[0].pk)
    return render(request, "console/avatars/new.html", {
        "form": form, "can_create": can_create, "guide": SHOOTING_GUIDE, "rows": _job_rows(request.user.account),
        "progress_states": PROGRESS_STATES, "live": user_can(request.user, "metastudio:job:show"),
    })


# --- avatar production: one job ----------------------------------------------------------------------------------

@console_page("metastudio:avatar:show")
def job_detail(request, job_id):
    """Uploads, consent and submit while the job is editable; then the check report, the review and training
    progress, followed live; the model when it is ready."""
    job = _account_job(request, job_id)
    state = _job_state(job)
    user = request.user
    editable = job.editable
    report = job.verify_report or {}
    return render(request, "console/avatars/job.html", {
        "job": job,
        "state": state,
        "steps": _steps(job),
        "help": STATE_HELP.get(job.state, ""),
        "files": _files(job),
        "missing": state["job"]["missing"],
        "editable": editable,
        "can_upload": editable and user_can(user, "metastudio:avatar:update"),
        "can_submit": editable and user_can(user, "metastudio:avatar:command"),
        "can_delete": job.deletable and user_can(user, "metastudio:avatar:delete"),
        "live": job.state in LIVE_STATES,
        "show_progress": job.state in PROGRESS_STATES,
        "ws_live": user_can(user, "metastudio:job:show"),
        "report": report,
        "rules": _check_rules(report),
        "failed": job.state in AvatarTrainingJob.FAILED_STATES,
        "review": job.admin_audit or {},
        "review_time": _when((job.admin_audit or {}).get("audit_time")),
        "segments_text": _segments_text(job.action_segments),
        "guide": SHOOTING_GUIDE,
        "consent_text": CONSENT_TEXT,
        "resumable": not uploads.is_s3(),
        "cover_url": reverse("console:avatar_cover", args=[job.model_asset_id])
        if job.model_asset_id and job.state == State.JOB_SUCCESS else "",
    })


@require_GET
@console_page("metastudio:avatar:show")
def job_state(request, job_id):
    job = _account_job(request, job_id)
    actions.collect_arrivals(job)
    return JsonResponse(_job_state(_account_job(request, job_id)))


@require_POST
@json_action("metastudio:avatar:show", "metastudio:avatar:update")
def upload_urls(request, job_id):
    """Signed upload URLs for the page's script (the training video is PUT there in resumable pieces);
    replace_video=1 drops the accepted video first (a new one after a failed check)."""
    job = _account_job(request, job_id)
    try:
        if request.POST.get("replace_video") == "1" and job.training_video:
            job = actions.update_training_job(_actor(request), job, command_message="UPDATE_VIDEO")
        urls = actions.issue_upload_urls(job, request.build_absolute_uri("/"))
    except ServiceError as error:
        return _json_error(error)
    return JsonResponse(urls)


@require_POST
@console_page("metastudio:avatar:show")
def upload_file(request, job_id, field):
    """A whole file posted by the form (the letter, an ID image, the cover; the video when the script is off)."""
    if not user_can(request.user, "metastudio:avatar:update"):
        return refuse(request, "metastudio:avatar:update")
    job = _account_job(request, job_id)
    slot = SLOTS.get(field)
    if slot is None:
        raise Http404

    def work():
        with _uploaded_path(request, field) as (path, name, _folder):
            actions.upload_file(_actor(request), job, slot, path, name)

    label = FILE_NAMES[field]
    if wants_json(request):
        try:
            work()
        except ServiceError as error:
            return _json_error(error)
        return JsonResponse({**_job_state(_account_job(request, job.pk)), "message": f"{label} uploaded."})
    _attempt(request, work, f"{label} uploaded.")
    return redirect("console:avatar_job", job_id=job.pk)


@require_POST
@console_page("metastudio:avatar:update")
def update_segments(request, job_id):
    """The marked action segments of the training video (optional), while the job can change."""
    job = _account_job(request, job_id)

    def work():
        actions.update_training_job(_actor(request), job,
                                    action_segments=_segments(request.POST.get("action_segments", "")))

    _attempt(request, work, "Action segments saved.")
    return redirect("console:avatar_job", job_id=job.pk)


@require_POST
@console_page("metastudio:avatar:command")
def submit_job(request, job_id):
    """SUBMITVERIFYING: the consent ticked, the video check starts."""
    job = _account_job(request, job_id)

    def work():
        if request.POST.get("consent") != "on":
            raise InvalidParameter("confirm that the person has authorized the use of their likeness", field="consent")
        actions.execute_command(_actor(request), job, "SUBMITVERIFYING")

    _attempt(request, work, "Submitted: the training video is checked, then a reviewer looks at it.")
    return redirect("console:avatar_job", job_id=job.pk)


@require_POST
@console_page("metastudio:avatar:delete")
def delete_job(request, job_id):
    job = _account_job(request, job_id)
    if _attempt(request, lambda: actions.delete_job(_actor(request), job), "Avatar training job deleted."):
        return redirect("console:avatar_new")
    return redirect("console:avatar_job", job_id=job.pk)
