"""Photo digital human: photo-detection jobs and photo video jobs (one face photo + text or audio -> a talking
video). Every input is checked here, before a job exists; the jobs (videos.tasks) only do the work.

The photo comes as base64 (MetaStudio's `human_image`), as an uploaded file (the console), or as a preset id.
A photo video job checks the photo again with every rule before it renders, so a photo that was never sent to
photo detection cannot slip through.
"""

import base64
import binascii
import tempfile
import uuid
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction

from assets import moderation
from metastudio import jobs
from metastudio.errors import InvalidParameter, StateConflict
from tenancy.audit import Actor, record_audit
from videos import presets

MAX_TEXT = 2000  # characters of a photo video's text
MAX_SPEECH_SECONDS = 300  # of synthesized or uploaded speech
FRAME_RATES = (25, 30)
ASPECTS = {"ORIGINAL": None, "9:16": "9:16", "16:9": "16:9"}
SCRIPT_TYPES = ("TEXT", "AUDIO")
VIDEO_RESOURCE = "PHOTO_VIDEO"  # metered in seconds, charged in minutes (2 decimals)


def billable_minutes(seconds) -> Decimal:
    """Video seconds as the minutes they are charged: rounded half up to 2 decimals."""
    return (Decimal(str(seconds)) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- the photo ----------------------------------------------------------------------------------------------

def decode_image(value, field: str = "human_image") -> bytes:
    """The bytes of a base64 picture (a `data:image/...;base64,` prefix is accepted)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter("a base64-encoded photo (PNG, JPG or WEBP) is required", field=field)
    text = value.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameter("is not valid base64", field=field) from None
    if not data:
        raise InvalidParameter("the photo is empty", field=field)
    return data


def image_suffix(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "bin"


def store_photo(account, data: bytes) -> str:
    """Keep the photo in the storage; returns its name."""
    return default_storage.save(f"videos/photos/{account.pk}/{uuid.uuid4().hex}.{image_suffix(data)}",
                                ContentFile(data))


def check_photo_file(data: bytes, field: str = "human_image") -> None:
    """Refuse a photo that breaks a file rule (readable, format, file size, resolution): cheap, no face models."""
    from synthesis.photo.detect import check_photo_file as check

    with tempfile.NamedTemporaryFile(suffix=f".{image_suffix(data)}") as handle:
        handle.write(data)
        handle.flush()
        report = check(Path(handle.name))
    broken = [rule for rule in report.rules if rule.status == "fail"]
    if broken:
        raise InvalidParameter(f"the photo breaks the {broken[0].rule} rule: {broken[0].message}", field=field)


def _photo_for_video(account, *, image_b64=None, photo_path=None, preset_id=None) -> tuple[str, dict]:
    """(stored photo name, params naming where it came from) from exactly one of the three sources."""
    given = [name for name, value in (("human_image", image_b64), ("photo", photo_path), ("preset_id", preset_id))
             if value]
    if len(given) != 1:
        raise InvalidParameter("give exactly one photo: human_image (base64), an uploaded photo or a preset_id",
                               field="human_image")
    if preset_id:
        preset = presets.get_preset(preset_id)
        return "", {"preset_id": preset.preset_id}
    data = decode_image(image_b64) if image_b64 else Path(photo_path).read_bytes()
    check_photo_file(data)
    return store_photo(account, data), {}


# --- photo detection ----------------------------------------------------------------------------------------

def create_photo_detection(actor: Actor, account, data: bytes, *, project=None) -> jobs.Job:
    """Queue a `videos.photo_detection` job for the photo bytes; the job reports every rule."""
    from videos.tasks import DETECTION

    stored = store_photo(account, data)
    try:
        with transaction.atomic():
            job = jobs.submit(actor, account, DETECTION.name, {"photo_name": stored, "size_bytes": len(data)},
                              project=project)
            record_audit(actor, "photo.detect", job, account=account, detail={"size_bytes": len(data)})
    except BaseException:
        default_storage.delete(stored)
        raise
    return job


# --- photo videos -------------------------------------------------------------------------------------------

def _video_config(config) -> dict:
    config = config or {}
    if not isinstance(config, dict):
        raise InvalidParameter("must be an object", field="video_config")
    codec = str(config.get("codec") or "H264").upper()
    if codec != "H264":
        raise InvalidParameter("must be H264 (an MP4 file)", field="video_config.codec")
    if config.get("bitrate") is not None:
        raise InvalidParameter("is not supported: videos are encoded at constant quality", field="video_config.bitrate")
    try:
        fps = int(str(config.get("frame_rate") or 25))
    except ValueError:
        fps = 0
    if fps not in FRAME_RATES:
        raise InvalidParameter(f"must be one of {', '.join(map(str, FRAME_RATES))}", field="video_config.frame_rate")
    aspect = str(config.get("aspect_ratio") or "ORIGINAL").upper()
    if aspect not in ASPECTS:
        raise InvalidParameter(f"must be one of {', '.join(ASPECTS)}", field="video_config.aspect_ratio")
    return {"fps": fps, "aspect": ASPECTS[aspect], "aspect_ratio": aspect}


def _script(shoot_scripts) -> dict:
    if not isinstance(shoot_scripts, list) or len(shoot_scripts) != 1 or not isinstance(shoot_scripts[0], dict):
        raise InvalidParameter("must be a list of exactly one script", field="shoot_scripts")
    script = shoot_scripts[0]
    script_type = str(script.get("script_type") or "TEXT").upper()
    if script_type not in SCRIPT_TYPES:
        raise InvalidParameter("must be TEXT or AUDIO", field="shoot_scripts[0].script_type")
    return {"script_type": script_type, "text": (script.get("text_config") or {}).get("text"),
            "audio_asset_id": script.get("audio_asset_id")}


def _text_tts(account, text, voice_config: dict) -> dict:
    from voices import speech

    if not isinstance(text, str) or not text.strip():
        raise InvalidParameter("must not be empty", field="shoot_scripts[0].text_config.text")
    if len(text) > MAX_TEXT:
        raise InvalidParameter(f"at most {MAX_TEXT} characters; this text has {len(text)}",
                               field="shoot_scripts[0].text_config.text")
    voice_id = voice_config.get("voice_asset_id")
    speech.resolve_voice(account, voice_id, field="voice_config.voice_asset_id")
    body = {"text": text, "voice_asset_id": voice_id, "sample_rate": 24000}
    for key in ("speed", "pitch", "volume"):
        if voice_config.get(key) is not None:
            body[key] = voice_config[key]
    try:
        return speech.clean_tts_request(account, body, max_chars=MAX_TEXT)
    except InvalidParameter as error:
        raise InvalidParameter(error.detail, field=_TTS_FIELDS.get(error.field, error.field)) from None


_TTS_FIELDS = {"text": "shoot_scripts[0].text_config.text", "voice_asset_id": "voice_config.voice_asset_id",
               "speed": "voice_config.speed", "pitch": "voice_config.pitch", "volume": "voice_config.volume"}


def audio_asset_copy(account, asset_id, *, field: str = "shoot_scripts[0].audio_asset_id"):
    """A local copy context of the tenant's usable audio asset (MUSIC) that drives a video."""
    from assets.actions import ensure_usable
    from assets.models import Asset, AssetFile
    from assets.tasks import local_copy
    from metastudio.errors import NotFound, is_uuid

    asset = Asset.objects.filter(account=account, pk=asset_id).first() if is_uuid(asset_id) else None
    if asset is None:
        raise NotFound(f"audio asset {asset_id} does not exist", field=field)
    if asset.type != Asset.Type.MUSIC:
        raise InvalidParameter("must be an audio asset (MUSIC)", field=field)
    ensure_usable(asset)
    main = asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
    if main is None:
        raise StateConflict("the audio asset has no uploaded file", field=field)
    return local_copy(main.stored.name)


def create_photo_video(actor: Actor, account, *, human_image=None, photo_path=None, preset_id=None,
                       shoot_scripts=None, voice_config=None, video_config=None, asset_name=None,
                       audio_path=None, project=None) -> jobs.Job:
    """Queue a `videos.photo_video` job: the photo speaks the script's text with the voice, or lip-syncs the
    audio (an audio asset of the tenant, or an uploaded file at `audio_path`). The result is a VIDEO asset."""
    from avatars.actions import store_driving_audio
    from videos.tasks import PHOTO_VIDEO

    voice_config = voice_config or {}
    if not isinstance(voice_config, dict):
        raise InvalidParameter("must be an object", field="voice_config")
    script = _script(shoot_scripts)
    params = {**_video_config(video_config), "script_type": script["script_type"]}
    name = asset_name if isinstance(asset_name, str) and asset_name.strip() else ""
    if len(name) > 256:
        raise InvalidParameter("at most 256 characters", field="output_asset_config.asset_name")
    params["asset_name"] = name.strip()
    _machine_review(account, params["asset_name"], field="output_asset_config.asset_name")
    stored_audio = ""
    if script["script_type"] == "TEXT":
        params["tts"] = _text_tts(account, script["text"], voice_config)
        _machine_review(account, params["tts"]["text"], field="shoot_scripts[0].text_config.text")
    else:
        field = "shoot_scripts[0].audio_asset_id"
        if audio_path is not None:
            stored_audio, params["audio_seconds"] = store_driving_audio(
                account, Path(audio_path), folder="videos/audio", field="audio", mono=True)
        elif script["audio_asset_id"]:
            with audio_asset_copy(account, script["audio_asset_id"]) as local:
                stored_audio, params["audio_seconds"] = store_driving_audio(account, Path(local), field=field,
                                                                            folder="videos/audio", mono=True)
            params["audio_asset_id"] = str(script["audio_asset_id"])
        else:
            raise InvalidParameter("an AUDIO script needs audio_asset_id (an audio asset)", field=field)
        params["audio_name"] = stored_audio
    photo_name = ""
    try:
        photo_name, source = _photo_for_video(account, image_b64=human_image, photo_path=photo_path,
                                              preset_id=preset_id)
        params.update(source, photo_name=photo_name)
        with transaction.atomic():
            job = jobs.submit(actor, account, PHOTO_VIDEO.name, params, project=project)
            record_audit(actor, "photo.video.create", job, account=account,
                         detail={"script_type": params["script_type"], "preset_id": params.get("preset_id"),
                                 "characters": (params.get("tts") or {}).get("characters", 0)})
    except BaseException:
        for stored in (stored_audio, photo_name):
            if stored:
                default_storage.delete(stored)
        raise
    return job


def _machine_review(account, text: str, *, field: str) -> None:
    if text and not account.review_exempt and moderation.findings(text):
        raise InvalidParameter("did not pass machine review", field=field)


def photo_file(job: jobs.Job):
    """A readable File of the job's photo (stored upload or preset picture), or None."""
    params = job.params or {}
    return open_photo(params.get("photo_name"), params.get("preset_id"))


def open_photo(name: str | None, preset_id: str | None):
    """A readable File of a stored photo, else of the preset's picture; None when there is neither."""
    if name and default_storage.exists(name):
        return default_storage.open(name, "rb")
    if preset_id in presets.PRESETS:
        return File(open(presets.preset_photo_path(presets.PRESETS[preset_id]), "rb"))
    return None
