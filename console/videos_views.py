"""The console's video production (视频制作): the tenant's scripts with their recent renders (the task center of
video jobs: state, live progress and stage, player, download, the failed stage and reason), and the script editor
mirroring MetaStudio's: materials on the left (avatars, backgrounds, images, videos, text, music, PPT), the canvas
in the middle (layers placed, resized and ordered over the scene's background, safe-area guides) with the scene's
script text (SSML helpers, audition) and the scenes strip below, settings on the right (voice, video, subtitles,
music, duration estimate, save and render).

The editor keeps the whole script (the cleaned body of videos.scripts) in the browser and saves it with one JSON
POST; errors come back with the field path the checks name (`shoot_scripts[2].text_config.text`), which the page
shows at that scene and input. Views parse input, call videos.scripts / videos.rendering / videos.ppt_import
and render."""

import json

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from assets.models import Asset
from console.avatars_views import HIDDEN_STATES, SPEAK_VOICE, _media_response, _project, _stored_file
from console.job_videos import VIDEO_TYPES, account_job, job_video, job_video_response
from console.views import _actor, console_page, refuse, wants_json
from console.voices_views import _preset_groups, _project_id, _voice_assets
from metastudio import jobs
from metastudio.errors import InvalidParameter, ServiceError, is_uuid
from tenancy.permissions import user_can
from videos import presets, scripts
from videos.models import VideoScript
from videos.rendering import RENDER

Job = jobs.Job
# The IAM actions of the video API (videos/api/video_views.py): scripts and their render jobs are one resource.
SHOW, CREATE, UPDATE, DELETE, COPY = (f"metastudio:video:{verb}" for verb in ("show", "create", "update", "delete",
                                                                             "copy"))
RENDER_CREATE, RENDER_CANCEL = "metastudio:video:create", "metastudio:video:cancel"
TTS = "metastudio:tts:create"  # the audition of a sentence (the TTS WebSocket)
ASSET_SHOW = "metastudio:asset:show"  # the material panel lists the asset library
RECENT_RENDERS = 20  # render jobs listed on the scripts page
MATERIALS_PER_TYPE = 200
MAX_BODY_BYTES = 4 * 2**20  # a script body (100 scenes of 10,000 characters fit well below)
MATERIAL_TYPES = (Asset.Type.IMAGE, Asset.Type.VIDEO, Asset.Type.MUSIC, Asset.Type.PPT, Asset.Type.HUMAN_MODEL_2D)
PICTURE_CATEGORIES = {  # the picture shown for an asset on the canvas and in the material panel, best first
    Asset.Type.IMAGE: ("THUMBNAIL", "MAIN"),
    Asset.Type.VIDEO: ("THUMBNAIL", "COVER"),
    Asset.Type.HUMAN_MODEL_2D: ("COVER", "THUMBNAIL"),
    Asset.Type.PPT: ("THUMBNAIL", "PAGE"),
}
NEW_SCRIPT_NAME = "Untitled video"


# --- helpers --------------------------------------------------------------------------------------------------

def _scripts(account):
    return VideoScript.objects.filter(account=account)


def _account_script(request, script_id) -> VideoScript:
    script = _scripts(request.user.account).filter(pk=script_id).first()
    if script is None:
        raise Http404
    return script


def _error_json(error: ServiceError) -> JsonResponse:
    """The API's error body plus the field path it names, for the editor to show at that scene and input."""
    return JsonResponse({**error.body(), "field": error.field or "", "message": error.detail}, status=error.status)


def _json_body(request) -> dict:
    if len(request.body) > MAX_BODY_BYTES:
        raise InvalidParameter(f"the script is at most {MAX_BODY_BYTES // 2**20} MB of JSON")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("the body must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object")
    return body


def _can_edit(user, script: VideoScript | None) -> bool:
    return user_can(user, CREATE if script is None else UPDATE)


# --- render jobs (the task center part) ------------------------------------------------------------------------

def _render_state(job: Job, scripts_by_id: dict | None = None) -> dict:
    """A render's live view: the job (state, percent, stage, error naming its stage), the script it made and,
    once done, the player and download addresses of the VIDEO asset."""
    payload = jobs.job_payload(job)
    params, result = job.params or {}, job.result or {}
    snapshot = params.get("snapshot") or {}
    video = job_video(job)
    url = reverse("console:video_render_file", args=[job.pk]) if video is not None else None
    script_id = params.get("script_id") or ""
    if scripts_by_id is not None:
        live = scripts_by_id.get(script_id)
    else:
        live = VideoScript.objects.filter(account=job.account, pk=script_id).first() if is_uuid(script_id) else None
    codec = (snapshot.get("video_config") or {}).get("format") or "MP4"
    payload.update({
        "state_url": reverse("console:video_render_state", args=[job.pk]),
        "cancel_url": reverse("console:video_render_cancel", args=[job.pk]) if job.state == Job.State.WAITING
        else None,
        "video_url": url,
        "download_url": f"{url}?download=1" if url else None,
        "video_type": VIDEO_TYPES.get(codec.lower(), "video/mp4"),
        "asset_id": str(video.pk) if video is not None else None,
        "asset_name": result.get("asset_name") or "",
        "duration": result.get("duration"),
        "charged_minutes": result.get("charged_minutes"),
        "script_id": script_id,
        "script_name": live.name if live is not None else snapshot.get("script_name", ""),
        "script_url": reverse("console:video_edit", args=[live.pk]) if live is not None else None,
        "scenes": len(snapshot.get("shoot_scripts") or []),
        "failure": _failure(job),
    })
    return payload


def _failure(job: Job) -> str:
    """A failed render's reason: the handler names the stage first ("speech: ..."); the engine's own failures
    (a lost worker, attempts used up) are shown as they are."""
    if job.state != Job.State.FAILED:
        return ""
    return job.error_msg or "the render failed"


def _renders(account, script: VideoScript | None = None, limit: int = RECENT_RENDERS) -> list[dict]:
    found = Job.objects.filter(account=account, kind=RENDER.name).in_history()
    if script is not None:
        found = found.filter(params__script_id=str(script.pk))
    found = list(found.order_by("-created_at")[:limit])
    ids = {(job.params or {}).get("script_id") for job in found}
    by_id = {str(item.pk): item for item in _scripts(account).filter(pk__in=[i for i in ids if is_uuid(i)])}
    return [{**_render_state(job, by_id), "created": job.created_at} for job in found]


# --- the scripts page ------------------------------------------------------------------------------------------

@require_GET
@console_page(SHOW)
def library(request):
    """The tenant's scripts (open, duplicate, delete, new) and their recent renders followed live."""
    user = request.user
    account = user.account
    renders = _renders(account)
    last = {}
    for item in renders:
        last.setdefault(item["script_id"], item)
    rows = [{"script": script, "scenes": len(script.shoot_scripts), "last": last.get(str(script.pk)),
             "resolution": f"{script.video_config.get('width')}x{script.video_config.get('height')}"}
            for script in _scripts(account).order_by("-updated_at")]
    return render(request, "console/videos/library.html", {
        "rows": rows,
        "renders": renders,
        "can_create": user_can(user, CREATE),
        "can_copy": user_can(user, COPY),
        "can_delete": user_can(user, DELETE),
        "can_cancel": user_can(user, RENDER_CANCEL),
        "ws_live": user_can(user, "metastudio:job:show"),
    })


@require_POST
@console_page(SHOW)
def copy(request, script_id):
    """Duplicate a script ("<name> (copy)") and open the copy."""
    if not user_can(request.user, COPY):
        return refuse(request, COPY)
    script = _account_script(request, script_id)
    try:
        made = scripts.copy_script(_actor(request), script)
    except ServiceError as error:
        if wants_json(request):
            return _error_json(error)
        messages.error(request, error.message)
        return redirect("console:videos")
    url = reverse("console:video_edit", args=[made.pk])
    if wants_json(request):
        return JsonResponse({"script_id": str(made.pk), "url": url}, status=201)
    messages.success(request, f"Script copied as {made.name}.")
    return redirect(url)


@require_POST
@console_page(SHOW)
def delete(request, script_id):
    if not user_can(request.user, DELETE):
        return refuse(request, DELETE)
    script = _account_script(request, script_id)
    name = script.name
    scripts.delete_script(_actor(request), script)
    if wants_json(request):
        return JsonResponse({"deleted": str(script_id)})
    messages.success(request, f"Script {name} deleted; its videos stay in the asset library.")
    return redirect("console:videos")


# --- the editor ---------------------------------------------------------------------------------------------------

def _picture_url(asset: Asset) -> str:
    return reverse("console:video_media", args=[asset.pk, "picture"])


def _material(asset: Asset) -> dict:
    info = asset.media_info or {}
    return {
        "id": str(asset.pk), "name": asset.name, "type": asset.type,
        "picture": _picture_url(asset) if asset.type in PICTURE_CATEGORIES else "",
        "file": reverse("console:video_media", args=[asset.pk, "file"]),
        "width": info.get("width"), "height": info.get("height"),
        "duration": info.get("duration_s"), "pages": info.get("pages"),
        "background": asset.has_property("BACKGROUND_IMG"),  # e.g. the pages of an imported PPT
    }


def _materials(user) -> dict:
    """The tenant's usable assets by type, as the material panel lists them (newest first), for a user who may
    look at the asset library; the preset photo avatars for everyone."""
    found = {kind: [] for kind in MATERIAL_TYPES}
    if user_can(user, ASSET_SHOW):
        usable = Asset.objects.filter(account=user.account, state=Asset.State.ACTIVED).order_by("-created_at")
        found = {kind: [_material(asset) for asset in usable.filter(type=kind)[:MATERIALS_PER_TYPE]]
                 for kind in MATERIAL_TYPES}
    return {
        "images": found[Asset.Type.IMAGE], "videos": found[Asset.Type.VIDEO], "music": found[Asset.Type.MUSIC],
        "ppts": found[Asset.Type.PPT],
        "models": found[Asset.Type.HUMAN_MODEL_2D],
        "presets": [{"id": preset.preset_id, "name": preset.name, "description": preset.description,
                     "picture": reverse("console:photo_preset", args=[preset.preset_id]), **_preset_size(preset)}
                    for preset in presets.preset_photos()],
    }


def _preset_size(preset) -> dict:
    """The preset picture's size: the editor fits the avatar's box to it (the renderer fits the photo inside)."""
    from PIL import Image

    with Image.open(presets.preset_photo_path(preset)) as picture:
        return {"width": picture.width, "height": picture.height}


def _default_voice(groups) -> str:
    every = [voice.voice_id for _, _, group in groups for voice in group]
    if SPEAK_VOICE in every:
        return SPEAK_VOICE
    return next((v.voice_id for code, _, group in groups if code == "en" for v in group), every[0] if every else "")


def _new_body(groups) -> dict:
    """A new script before its first save: the first preset avatar, a default voice, 1080p 16:9 at 25 fps. The
    page adds the first scene (one place makes scenes: the editor's script)."""
    from synthesis.speech import types as speech_types

    return {
        "script_name": NEW_SCRIPT_NAME, "script_description": "", "view_mode": "LANDSCAPE", "priv_data": "",
        "model_asset_id": presets.preset_photos()[0].preset_id, "model_asset_type": "PRESET_PHOTO",
        "voice_config": {"voice_asset_id": _default_voice(groups), "speed": speech_types.DEFAULT_SPEED,
                         "pitch": speech_types.DEFAULT_PITCH, "volume": speech_types.DEFAULT_VOLUME},
        "video_config": scripts.clean_video_config({"video_config": {"width": 1920, "height": 1080}}),
        "background_music_config": {},
        "shoot_scripts": [],
    }


def _urls(script: VideoScript | None) -> dict:
    if script is None:
        return {"save": reverse("console:video_create"), "render": "", "renders": "", "page": ""}
    return {"save": reverse("console:video_save", args=[script.pk]),
            "render": reverse("console:video_render", args=[script.pk]),
            "renders": reverse("console:video_renders", args=[script.pk]),
            "page": reverse("console:video_edit", args=[script.pk])}


def _editor(request, script: VideoScript | None):
    user = request.user
    account = user.account
    groups = _preset_groups()
    body = scripts.script_body(script) if script is not None else _new_body(groups)
    editable = _can_edit(user, script)
    latest = _renders(account, script, limit=1) if script is not None else []
    config = {
        "script_id": str(script.pk) if script is not None else "",
        "body": body,
        "readonly": not editable,
        "can_render": editable and user_can(user, RENDER_CREATE) and script is not None,
        "can_render_new": user_can(user, RENDER_CREATE),
        "can_tts": user_can(user, TTS),
        "project_id": _project_id(account),
        "urls": {**_urls(script), "media": reverse("console:videos") + "media/",  # + "<asset id>/picture|file"
                 "ppt_import": reverse("console:video_ppt_import"), "library": reverse("console:videos")},
        "materials": _materials(user),
        "can_list_assets": user_can(user, ASSET_SHOW),
        "latest_render": {key: value for key, value in latest[0].items() if key != "created"} if latest else None,
        "limits": {"scenes": scripts.MAX_SCENES, "scene_chars": scripts.MAX_SCENE_CHARS,
                   "total_chars": scripts.MAX_TOTAL_CHARS, "video_layers": scripts.MAX_VIDEO_LAYERS,
                   "layers": scripts.MAX_LAYERS, "text_layer_chars": scripts.MAX_TEXT_LAYER_CHARS,
                   "canvas": {mode: list(size) for mode, size in scripts.CANVAS.items()}},
        "ws": user_can(user, "metastudio:job:show"),
    }
    voices = list(_voice_assets(account).filter(state=Asset.State.ACTIVED).order_by("name"))
    voice_id = (body.get("voice_config") or {}).get("voice_asset_id") or ""
    listed = {voice.voice_id for _, _, group in groups for voice in group} | {str(voice.pk) for voice in voices}
    return render(request, "console/videos/editor.html", {
        "script": script,
        "config": config,
        "preset_groups": groups,
        "voices": voices,
        "voice_id": voice_id,
        "voice_unlisted": voice_id if voice_id and voice_id not in listed else "",
        "editable": editable,
        "can_delete": script is not None and user_can(user, DELETE),
        "can_copy": script is not None and user_can(user, COPY),
    })


@require_GET
@console_page(SHOW)
def new(request):
    """The editor of a script not stored yet: the first save creates it."""
    if not user_can(request.user, CREATE):
        return refuse(request, CREATE)
    return _editor(request, None)


@require_GET
@console_page(SHOW)
def edit(request, script_id):
    """The editor; a user who may not change scripts sees everything, read-only."""
    return _editor(request, _account_script(request, script_id))


def _saved(script: VideoScript, status: int) -> JsonResponse:
    return JsonResponse({"script_id": str(script.pk), "url": reverse("console:video_edit", args=[script.pk]),
                         "urls": _urls(script), "body": scripts.script_body(script),
                         "updated_at": script.updated_at.isoformat()}, status=status)


@require_POST
@console_page(SHOW)
def create(request):
    """The first save of a new script (the whole body, JSON)."""
    if not user_can(request.user, CREATE):
        return refuse(request, CREATE)
    account = request.user.account
    try:
        script = scripts.create_script(_actor(request), account, _json_body(request), project=_project(account))
    except ServiceError as error:
        return _error_json(error)
    return _saved(script, 201)


@require_POST
@console_page(SHOW)
def save(request, script_id):
    """Save the whole script (JSON): checked in full; the errors name their field path."""
    if not user_can(request.user, UPDATE):
        return refuse(request, UPDATE)
    script = _account_script(request, script_id)
    try:
        script = scripts.update_script(_actor(request), script, _json_body(request))
    except ServiceError as error:
        return _error_json(error)
    return _saved(script, 200)


# --- rendering -------------------------------------------------------------------------------------------------

@require_POST
@console_page(SHOW)
def render_script(request, script_id):
    """Render the stored script (the editor saves first): a videos.render job, followed live by the page."""
    if not user_can(request.user, RENDER_CREATE):
        return refuse(request, RENDER_CREATE)
    script = _account_script(request, script_id)
    try:
        job = _submit_render(request, script)
    except ServiceError as error:
        return _error_json(error)
    return JsonResponse(_render_state(job), status=201)


def _submit_render(request, script: VideoScript) -> Job:
    from videos import rendering

    return rendering.submit_render(_actor(request), script, project=_project(request.user.account))


@require_GET
@console_page(SHOW)
def renders(request, script_id):
    """The script's recent renders (JSON)."""
    script = _account_script(request, script_id)
    return JsonResponse({"renders": [{key: value for key, value in item.items() if key != "created"}
                                     for item in _renders(request.user.account, script, limit=5)]})


@require_GET
@console_page(SHOW)
def render_state(request, job_id):
    return JsonResponse(_render_state(account_job(request, RENDER.name, job_id)))


@require_GET
@console_page(SHOW)
def render_file(request, job_id):
    """The rendered video (seekable); ?download=1 as an attachment."""
    return job_video_response(request, account_job(request, RENDER.name, job_id), "video")


@require_POST
@console_page(SHOW)
def cancel_render(request, job_id):
    """Cancel a render that has not started."""
    if not user_can(request.user, RENDER_CANCEL):
        return refuse(request, RENDER_CANCEL)
    job = account_job(request, RENDER.name, job_id)
    try:
        job = jobs.cancel(_actor(request), job)
    except ServiceError as error:
        if wants_json(request):
            return _error_json(error)
        messages.error(request, error.message)
        return redirect("console:videos")
    if wants_json(request):
        return JsonResponse(_render_state(job))
    messages.success(request, "Render canceled.")
    return redirect("console:videos")


# --- PPT import ---------------------------------------------------------------------------------------------------

def _ppt_kind() -> str:
    from videos import ppt_import

    return ppt_import.PPT_IMPORT.name


def _import_state(job: Job) -> dict:
    payload = jobs.job_payload(job)
    payload["state_url"] = reverse("console:video_ppt_import_state", args=[job.pk])
    if job.state == Job.State.SUCCEED:
        result = job.result or {}
        payload.update({"page_count": result.get("page_count"), "scenes": result.get("scenes") or []})
    return payload


@require_POST
@console_page(SHOW)
def ppt_import(request):
    """A PPT asset becomes scenes (one per page, the page as background, the notes as text): an import job the
    page follows; its scenes are appended to the script in the browser."""
    user = request.user
    if not (user_can(user, CREATE) or user_can(user, UPDATE)):
        return refuse(request, UPDATE)
    from videos import ppt_import as importing

    account = user.account
    try:
        body = _json_body(request)
        job = importing.submit_ppt_import(_actor(request), account, body.get("ppt_asset_id"),
                                          project=_project(account))
    except ServiceError as error:
        return _error_json(error)
    return JsonResponse(_import_state(job), status=201)


@require_GET
@console_page(SHOW)
def ppt_import_state(request, job_id):
    return JsonResponse(_import_state(account_job(request, _ppt_kind(), job_id)))


# --- the tenant's pictures and files for the editor ----------------------------------------------------------

@require_GET
@console_page(SHOW)
def media(request, asset_id, what):
    """An asset of the tenant as the editor shows it: `picture` (its thumbnail or cover; an image itself) or
    `file` (the main file: an image drawn on the canvas, a music preview)."""
    asset = (Asset.objects.filter(account=request.user.account, pk=asset_id, type__in=MATERIAL_TYPES)
             .exclude(state__in=HIDDEN_STATES).first())
    if asset is None:
        raise Http404
    if what == "picture":
        categories = PICTURE_CATEGORIES.get(asset.type, ())
    elif what == "file" and asset.type in (Asset.Type.IMAGE, Asset.Type.MUSIC):
        categories = ("MAIN",)
    else:
        raise Http404
    stored = next((found for found in (_stored_file(asset, category) for category in categories) if found), None)
    if stored is None:
        raise Http404
    return _media_response(request, stored.stored)
