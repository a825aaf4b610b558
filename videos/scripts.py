"""Video production scripts (MetaStudio's 剧本, `CreateVideoScripts`): checking a script body against every limit
of the product, and the actions that store, change, copy and delete scripts.

`clean_script(account, body)` checks everything before anything is stored and returns the cleaned script: the
MetaStudio keys, normalised, with every default filled in. The cleaned form is itself a valid body
(`clean_script(account, cleaned) == cleaned`), so an update merges the changes into the stored script and checks
the whole again. Errors name the exact field, e.g. `shoot_scripts[3].text_config.text`; assets of other tenants
do not exist here (NotFound); frozen or unusable assets are refused (StateConflict).

Scenes may come flat (`shoot_scripts[i].text_config`) or as MetaStudio's `ShootScriptItem`
(`shoot_scripts[i].shoot_script.text_config`); errors name the path that was sent.

Shape of the cleaned script (what the renderer reads)::

    {"script_name", "script_description", "view_mode": LANDSCAPE|VERTICAL, "priv_data",
     "model_asset_id", "model_asset_type": HUMAN_MODEL_2D|PRESET_PHOTO|PHOTO,
     "voice_config": {"voice_asset_id", "speed", "pitch", "volume"} or {} (only AUDIO scenes, no voice),
     "video_config": {"codec": H264|VP8|QTRLE, "format": MP4|WEBM|MOV, "clip_mode": RESIZE, "width", "height",
                      "canvas": {"width", "height"}, "frame_rate": 25|30, "bitrate": kbps or None,
                      "is_subtitle_enable", "subtitle_config": {...} or None, "is_transparent_background",
                      "is_end_at_first_frame", "is_enable_super_resolution", "is_vocabulary_config_enable"},
     "background_music_config": {"music_asset_id", "volume": 0-100, "ducking": bool} or {},
     "characters": spoken characters of all scenes,
     "shoot_scripts": [{"sequence_no": 1.., "script_type": TEXT|AUDIO,
                        "text_config": {"text", "ssml", "characters"} (TEXT) or None,
                        "audio_asset_id" (AUDIO) or None,
                        "background_config": [{"background_type": COLOR, "background_color_config": "#RRGGBB"}
                                              | {"background_type": IMAGE|VIDEO|AUDIO, "background_asset_id"}],
                        "layer_config": [{"layer_type": HUMAN|IMAGE|VIDEO|TEXT, "asset_id" or None,
                                          "position": {"dx", "dy", "layer_index"}, "size": {"width", "height"},
                                          + "video_config": {"loop_count", "video_sound",
                                                             "is_play_the_entire_video"} (VIDEO)
                                          + "text_config": {"text", "font_name", "font_size", "font_color"} (TEXT)}],
                        "action_config": [{"action_name", "text_position"}] (TEXT scenes),
                        "audio_drive_action_config": [{"action_name", "action_tag", "action_start_time"}]
                                                     (AUDIO scenes)}]}

Positions and sizes are pixels of the layout canvas (1920x1080 landscape, 1080x1920 vertical, as MetaStudio),
whatever the output resolution.
"""

import base64
import binascii
import re
from pathlib import PurePosixPath

from django.db import transaction

from assets import moderation
from assets.models import Asset, AssetFile
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid
from tenancy.audit import Actor, record_audit
from videos import presets
from videos.models import VideoScript

MAX_SCENES = 100
MAX_SCENE_CHARS = 10_000  # spoken characters (SSML tags not counted) per scene
MAX_TOTAL_CHARS = 100_000  # spoken characters of all scenes
MAX_SSML_CHARS = 128 * 1024  # the text of a scene, SSML tags included, must be shorter than this
MAX_SCENE_AUDIO_BYTES = 100 * 2**20
MAX_TOTAL_AUDIO_BYTES = 500 * 2**20  # SPEC 2: audio < 500 MB, images < 500 MB, videos < 1 GB in all
MAX_TOTAL_IMAGE_BYTES = 500 * 2**20
MAX_TOTAL_VIDEO_BYTES = 2**30
AUDIO_FORMATS = ("MP3", "M4A", "WAV")
MAX_VIDEO_LAYERS = 2  # SPEC 2: at most 2 inserted videos overlaid at once
MAX_LAYERS = 50
MAX_BACKGROUNDS = 4
MAX_TEXT_LAYER_CHARS = 1024
MAX_ACTIONS = 100
MAX_CANVAS_SIDE = 4096
SCRIPT_TYPES = ("TEXT", "AUDIO")
BACKGROUND_TYPES = ("IMAGE", "COLOR", "VIDEO", "AUDIO")
PICTURE_BACKGROUNDS = ("IMAGE", "COLOR", "VIDEO")
LAYER_TYPES = ("HUMAN", "IMAGE", "VIDEO", "TEXT")
CODECS = {"H264": "MP4", "VP8": "WEBM", "QTRLE": "MOV"}
ALPHA_CODECS = ("VP8", "QTRLE")
FRAME_RATES = (25, 30)
BITRATE_RANGE = (1000, 8000)  # kbps
CANVAS = {"LANDSCAPE": (1920, 1080), "VERTICAL": (1080, 1920)}
RESOLUTIONS = {(1920, 1080): "LANDSCAPE", (1280, 720): "LANDSCAPE", (1080, 1920): "VERTICAL", (720, 1280): "VERTICAL"}
ASPECTS = {"16:9": "LANDSCAPE", "9:16": "VERTICAL"}
_REQUIRED = object()
_COLOR = re.compile(r"^#?([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
_INTEGER = re.compile(r"^-?\d+$")


# --- small checkers ----------------------------------------------------------------------------------------

def _obj(value, field: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter("must be an object", field=field)
    return value


def _list(value, field: str, most: int) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidParameter("must be a list", field=field)
    if len(value) > most:
        raise InvalidParameter(f"at most {most} items; this list has {len(value)}", field=field)
    return value


def _int(value, field: str, low: int, high: int, default=_REQUIRED) -> int:
    if value is None or value == "":
        if default is _REQUIRED:
            raise InvalidParameter("is required", field=field)
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _INTEGER.match(str(value).strip()):
        raise InvalidParameter(f"must be an integer from {low} to {high}", field=field)
    number = int(str(value).strip())
    if not low <= number <= high:
        raise InvalidParameter(f"must be from {low} to {high}", field=field)
    return number


def _number(value, field: str, low: float, high: float, default: float) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(f"must be a number from {low} to {high}", field=field)
    if not low <= value <= high:
        raise InvalidParameter(f"must be from {low} to {high}", field=field)
    return float(value)


def _bool(value, field: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidParameter("must be true or false", field=field)
    return value


def _text(value, field: str, most: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidParameter("must be a string", field=field)
    value = value.strip()
    if required and not value:
        raise InvalidParameter("must not be empty", field=field)
    if len(value) > most:
        raise InvalidParameter(f"at most {most} characters", field=field)
    return value


def _color(value, field: str, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    if not isinstance(value, str) or not _COLOR.match(value.strip()):
        raise InvalidParameter("must be an RGB colour such as #FFFFFF (or #RRGGBBAA)", field=field)
    return "#" + value.strip().lstrip("#").upper()


def _choice(value, field: str, choices, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    choice = str(value or "").strip().upper()
    if choice not in choices:
        raise InvalidParameter(f"must be one of {', '.join(choices)}", field=field)
    return choice


def _review(account, field: str, *texts: str) -> None:
    if not account.review_exempt and moderation.findings(*texts):
        raise InvalidParameter("did not pass machine review", field=field)


# --- the cleaner -------------------------------------------------------------------------------------------

class _Cleaner:
    """One pass over a script body; remembers the assets it looked up and the bytes of media it uses."""

    def __init__(self, account):
        self.account = account
        self.assets: dict[str, Asset] = {}
        self.counted: set[str] = set()
        self.totals = {"audio": 0, "image": 0, "video": 0}
        self.model: Asset | None = None

    # assets

    def asset(self, asset_id, field: str, types: tuple[str, ...], what: str) -> Asset:
        """The tenant's usable asset of one of `types`; another tenant's (or a deleted) asset does not exist."""
        if not isinstance(asset_id, str) or not asset_id.strip():
            raise InvalidParameter(f"{what} asset id is required", field=field)
        asset_id = asset_id.strip()
        asset = self.assets.get(asset_id)
        if asset is None:
            asset = Asset.objects.filter(account=self.account, pk=asset_id).first() if is_uuid(asset_id) else None
            if asset is None or asset.state in (Asset.State.DELETED, Asset.State.WAITING_DELETE):
                raise NotFound(f"asset {asset_id} does not exist", field=field)
            self.assets[asset_id] = asset
        if asset.type not in types:
            raise InvalidParameter(f"must be {what} asset ({' or '.join(types)}); asset {asset_id} is {asset.type}",
                                   field=field)
        if asset.state == Asset.State.BLOCK:
            raise StateConflict(f"asset {asset_id} is frozen and cannot be used", field=field, code="MSS.00000014")
        if asset.state != Asset.State.ACTIVED:
            raise StateConflict(f"asset {asset_id} is {asset.state}, not ACTIVED", field=field)
        return asset

    def main_file(self, asset: Asset, field: str) -> AssetFile:
        main = asset.files.filter(category=AssetFile.Category.MAIN, state=AssetFile.State.CREATED).first()
        if main is None:
            raise StateConflict(f"asset {asset.pk} has no uploaded file", field=field)
        return main

    def count(self, asset: Asset, kind: str, size: int) -> None:
        if str(asset.pk) not in self.counted:
            self.counted.add(str(asset.pk))
            self.totals[kind] += size

    def audio(self, asset_id, field: str, *, per_file_limit: int | None = None) -> str:
        """An audio asset (MUSIC) of the tenant: MP3, M4A or WAV, within the size limit."""
        asset = self.asset(asset_id, field, (Asset.Type.MUSIC,), "an audio")
        main = self.main_file(asset, field)
        suffix = PurePosixPath(main.name).suffix.lstrip(".").upper() or str(main.file_type).upper()
        if suffix not in AUDIO_FORMATS:
            raise InvalidParameter(f"the audio must be {', '.join(AUDIO_FORMATS)}; this file is {suffix or 'unknown'}",
                                   field=field)
        if per_file_limit and main.declared_size > per_file_limit:
            raise InvalidParameter(f"the audio of a scene is at most {per_file_limit // 2**20} MB; this file has "
                                   f"{main.declared_size / 2**20:.1f} MB", field=field)
        self.count(asset, "audio", main.declared_size)
        return str(asset.pk)

    def media(self, asset_id, field: str, asset_type: str) -> str:
        """An IMAGE or VIDEO asset of the tenant (its format, resolution and length were checked on upload)."""
        what = "an image" if asset_type == Asset.Type.IMAGE else "a video"
        asset = self.asset(asset_id, field, (asset_type,), what)
        main = self.main_file(asset, field)
        self.count(asset, "image" if asset_type == Asset.Type.IMAGE else "video", main.declared_size)
        return str(asset.pk)

    # the script's avatar and voice

    def avatar(self, body: dict) -> tuple[str, str]:
        field = "model_asset_id"
        value = body.get("model_asset_id")
        if not isinstance(value, str) or not value.strip():
            raise InvalidParameter("a script needs one avatar: a HUMAN_MODEL_2D asset id, a photo (IMAGE asset id) or "
                                   f"a preset photo avatar ({', '.join(presets.PRESETS)})", field=field)
        value = value.strip()
        if value in presets.PRESETS:
            kind = VideoScript.ModelKind.PRESET_PHOTO
        elif not is_uuid(value):
            raise NotFound(f"avatar {value} does not exist; use an asset id or one of the preset photo avatars "
                           f"{', '.join(presets.PRESETS)}", field=field)
        else:
            self.model = self.asset(value, field, (Asset.Type.HUMAN_MODEL_2D, Asset.Type.IMAGE),
                                    "an avatar model or a photo")
            self.main_file(self.model, field)
            kind = (VideoScript.ModelKind.HUMAN_MODEL_2D if self.model.type == Asset.Type.HUMAN_MODEL_2D
                    else VideoScript.ModelKind.PHOTO)
        given = body.get("model_asset_type")
        if given not in (None, "") and str(given).upper() != kind:
            raise InvalidParameter(f"must be {kind} for model_asset_id {value}", field="model_asset_type")
        return value, str(kind)

    def voice(self, config: dict, needed: bool) -> dict:
        from synthesis.speech import types as speech_types
        from voices import speech

        if not config.get("voice_asset_id") and not needed:
            return {}
        voice = speech.resolve_voice(self.account, config.get("voice_asset_id"), field="voice_config.voice_asset_id")
        return {
            "voice_asset_id": voice.voice_id,
            "speed": _int(config.get("speed"), "voice_config.speed", *speech_types.SPEED_RANGE,
                          default=speech_types.DEFAULT_SPEED),
            "pitch": _int(config.get("pitch"), "voice_config.pitch", *speech_types.PITCH_RANGE,
                          default=speech_types.DEFAULT_PITCH),
            "volume": _int(config.get("volume"), "voice_config.volume", *speech_types.VOLUME_RANGE,
                           default=speech_types.DEFAULT_VOLUME),
        }

    @property
    def actions(self) -> list[str]:
        if self.model is None or not (self.model.media_info or {}).get("supports_actions"):
            return []
        return [str(name) for name in (self.model.media_info or {}).get("actions") or []]


# --- video settings ----------------------------------------------------------------------------------------

def _view_mode(body: dict, config: dict) -> str | None:
    if body.get("view_mode") not in (None, ""):
        return _choice(body["view_mode"], "view_mode", tuple(CANVAS))
    if config.get("aspect_ratio") not in (None, ""):
        aspect = str(config["aspect_ratio"]).strip()
        if aspect not in ASPECTS:
            raise InvalidParameter(f"must be {' or '.join(ASPECTS)}", field="video_config.aspect_ratio")
        return ASPECTS[aspect]
    return None


def _resolution(config: dict, view_mode: str | None) -> tuple[int, int, str]:
    width, height = config.get("width"), config.get("height")
    if width in (None, "") and height in (None, ""):
        mode = view_mode or "LANDSCAPE"
        return (*CANVAS[mode], mode)
    width = _int(width, "video_config.width", 1, MAX_CANVAS_SIDE)
    height = _int(height, "video_config.height", 1, MAX_CANVAS_SIDE)
    allowed = ", ".join(f"{w}x{h}" for w, h in RESOLUTIONS)
    if max(width, height) > 1920 or min(width, height) > 1080:
        raise InvalidParameter(f"videos are at most 1080p; use one of {allowed}",
                               field="video_config.width" if width > 1080 else "video_config.height")
    if (width, height) not in RESOLUTIONS:
        raise InvalidParameter(f"a video is 16:9 or 9:16: one of {allowed}", field="video_config.height")
    mode = RESOLUTIONS[(width, height)]
    if view_mode and view_mode != mode:
        raise InvalidParameter(f"is {view_mode} but video_config is {width}x{height} ({mode})", field="view_mode")
    return width, height, mode


PLATFORM_FONT = "Noto Sans CJK"  # what captions and text layers are drawn with (Latin and CJK)


def _font_name(value, field: str) -> str:
    """Empty (the platform font) or the platform font's name; other fonts are not installed, so they are refused
    rather than silently replaced."""
    name = _text(value, field, 64)
    if name and not name.lower().startswith(PLATFORM_FONT.lower()):
        raise InvalidParameter(f"only the platform font {PLATFORM_FONT} is offered (Latin and CJK); leave it empty",
                               field=field)
    return name


def _subtitle(config, canvas: tuple[int, int]) -> dict:
    field = "video_config.subtitle_config"
    config = _obj(config, field)
    width, height = canvas
    return {
        "dx": _int(config.get("dx"), f"{field}.dx", 0, width, default=width // 10),
        "dy": _int(config.get("dy"), f"{field}.dy", 0, height, default=height - height // 18),
        "w": _int(config.get("w"), f"{field}.w", 1, width, default=width - 2 * (width // 10)),
        "h": _int(config.get("h"), f"{field}.h", 1, height, default=max(height // 9, 60)),
        "font_name": _font_name(config.get("font_name"), f"{field}.font_name"),
        "font_size": _int(config.get("font_size"), f"{field}.font_size", 10, 200, default=48),
        "font_color": _color(config.get("font_color"), f"{field}.font_color", "#FFFFFF"),
        "stroke_color": _color(config.get("stroke_color"), f"{field}.stroke_color", "#000000"),
        "stroke_thickness": _number(config.get("stroke_thickness"), f"{field}.stroke_thickness", 0, 10, 2.0),
        "opacity": _number(config.get("opacity"), f"{field}.opacity", 0, 1, 1.0),
    }


def clean_video_config(body: dict) -> dict:
    config = _obj(body.get("video_config"), "video_config")
    codec = _choice(config.get("codec"), "video_config.codec", tuple(CODECS), default="H264")
    _choice(config.get("clip_mode"), "video_config.clip_mode", ("RESIZE",), default="RESIZE")
    width, height, mode = _resolution(config, _view_mode(body, config))
    frame_rate = config.get("frame_rate")
    if frame_rate in (None, ""):
        frame_rate = FRAME_RATES[0]
    elif isinstance(frame_rate, bool) or str(frame_rate).strip() not in {str(rate) for rate in FRAME_RATES}:
        raise InvalidParameter(f"must be {' or '.join(map(str, FRAME_RATES))}", field="video_config.frame_rate")
    transparent = _bool(config.get("is_transparent_background"), "video_config.is_transparent_background", False)
    if transparent and codec not in ALPHA_CODECS:
        raise InvalidParameter(f"a transparent background needs VP8 (WEBM) or QTRLE (MOV) output; {codec} makes an "
                               f"{CODECS[codec]} without alpha", field="video_config.codec")
    if config.get("output_external_url"):
        raise InvalidParameter("is not supported: results are stored in the asset library",
                               field="video_config.output_external_url")
    subtitles = _bool(config.get("is_subtitle_enable"), "video_config.is_subtitle_enable", False)
    bitrate = _int(config.get("bitrate"), "video_config.bitrate", *BITRATE_RANGE, default=None)
    if bitrate is not None and codec == "QTRLE":
        raise InvalidParameter("a MOV (ProRes 4444) has no bitrate setting; leave it out", field="video_config.bitrate")
    return {
        "codec": codec, "format": CODECS[codec], "clip_mode": "RESIZE", "width": width, "height": height,
        "view_mode": mode, "canvas": {"width": CANVAS[mode][0], "height": CANVAS[mode][1]},
        "frame_rate": int(str(frame_rate).strip()),
        "bitrate": bitrate,
        "is_subtitle_enable": subtitles,
        "subtitle_config": _subtitle(config.get("subtitle_config"), CANVAS[mode]) if subtitles else None,
        "is_transparent_background": transparent,
        **{key: _unoffered(config, key, default, why) for key, (default, why) in UNOFFERED_OPTIONS.items()},
    }


# MetaStudio options this platform does not offer: only their default is accepted, so that no request is
# silently rendered otherwise than it asked.
UNOFFERED_OPTIONS = {
    "is_end_at_first_frame": (False, "ending on the avatar's first frame is not offered"),
    "is_enable_super_resolution": (False, "super-resolution is not offered: videos are composed at their size"),
    "is_vocabulary_config_enable": (True, "the tenant's custom readings always apply"),
}


def _unoffered(config: dict, key: str, default: bool, why: str) -> bool:
    field = f"video_config.{key}"
    if _bool(config.get(key), field, default) != default:
        raise InvalidParameter(f"must be {str(default).lower()}: {why}", field=field)
    return default


# --- scenes ------------------------------------------------------------------------------------------------

def _scenes(body: dict) -> list[tuple[str, dict]]:
    """(field prefix, scene) of every scene, flat or wrapped in MetaStudio's ShootScriptItem."""
    items = body.get("shoot_scripts")
    if not isinstance(items, list) or not items:
        raise InvalidParameter("a script needs at least one scene", field="shoot_scripts")
    if len(items) > MAX_SCENES:
        raise InvalidParameter(f"at most {MAX_SCENES} scenes; this script has {len(items)}", field="shoot_scripts")
    scenes = []
    for index, item in enumerate(items):
        prefix = f"shoot_scripts[{index}]"
        if not isinstance(item, dict):
            raise InvalidParameter("must be an object", field=prefix)
        if "shoot_script" in item:
            prefix, item = f"{prefix}.shoot_script", item["shoot_script"]
            if not isinstance(item, dict):
                raise InvalidParameter("must be an object", field=prefix)
        scenes.append((prefix, item))
    return scenes


def _scene_text(prefix: str, scene: dict) -> tuple[str, str, bool, int]:
    """(script type, text, is SSML, spoken characters) with the per-scene text limits checked."""
    from voices import speech

    script_type = _choice(scene.get("script_type"), f"{prefix}.script_type", SCRIPT_TYPES, default="TEXT")
    if script_type != "TEXT":
        return script_type, "", False, 0
    field = f"{prefix}.text_config.text"
    text = _obj(scene.get("text_config"), f"{prefix}.text_config").get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameter("a TEXT scene needs the text to speak", field=field)
    ssml = text.lstrip().startswith("<speak")
    if len(text) >= MAX_SSML_CHARS:
        raise InvalidParameter(f"the text of a scene, SSML included, must be shorter than {MAX_SSML_CHARS} "
                               f"characters; this one has {len(text)}", field=field)
    characters = speech.spoken_characters(text, ssml)
    if characters > MAX_SCENE_CHARS:
        raise InvalidParameter(f"at most {MAX_SCENE_CHARS} characters per scene (SSML tags not counted); this scene "
                               f"has {characters}", field=field)
    return script_type, text, ssml, characters


def _speech(cleaner: _Cleaner, field: str, text: str, voice: dict) -> None:
    """The speech engine's own check of the text (SSML structure, tags, readings) with the script's voice."""
    from voices import speech

    try:
        speech.clean_tts_request(cleaner.account, {**voice, "text": text}, max_chars=MAX_SSML_CHARS)
    except InvalidParameter as error:
        raise InvalidParameter(error.detail, field=field if error.field == "text" else
                               f"voice_config.{error.field}") from None


def _one_per_script(prefix: str, scene: dict, model_id: str, voice: dict) -> None:
    if scene.get("model_asset_id") not in (None, "", model_id):
        raise InvalidParameter(f"a script has one avatar model ({model_id}); set it in model_asset_id",
                               field=f"{prefix}.model_asset_id")
    scene_voice = _obj(scene.get("voice_config"), f"{prefix}.voice_config").get("voice_asset_id")
    if scene_voice not in (None, "", voice.get("voice_asset_id")):
        raise InvalidParameter("a script has one voice; set it in voice_config.voice_asset_id",
                               field=f"{prefix}.voice_config.voice_asset_id")


def _backgrounds(cleaner: _Cleaner, prefix: str, scene: dict, transparent: bool) -> list[dict]:
    cleaned, pictures, sounds = [], 0, 0
    for index, item in enumerate(_list(scene.get("background_config"), f"{prefix}.background_config",
                                       MAX_BACKGROUNDS)):
        field = f"{prefix}.background_config[{index}]"
        item = _obj(item, field)
        kind = _choice(item.get("background_type"), f"{field}.background_type", BACKGROUND_TYPES)
        if kind in PICTURE_BACKGROUNDS:
            pictures += 1
            if pictures > 1:
                raise InvalidParameter("one picture background (IMAGE, COLOR or VIDEO) per scene",
                                       field=f"{field}.background_type")
            if transparent:
                raise InvalidParameter("a video with a transparent background has no picture background",
                                       field=f"{field}.background_type")
        if kind == "COLOR":
            cleaned.append({"background_type": kind, "background_color_config": _color(
                item.get("background_color_config"), f"{field}.background_color_config")})
            continue
        if not item.get("background_asset_id") and item.get("background_config"):
            raise InvalidParameter("external URLs are not supported; give background_asset_id (an asset of yours)",
                                   field=f"{field}.background_config")
        asset_field = f"{field}.background_asset_id"
        if kind == "AUDIO":
            sounds += 1
            if sounds > 1:
                raise InvalidParameter("one AUDIO background per scene", field=f"{field}.background_type")
            asset_id = cleaner.audio(item.get("background_asset_id"), asset_field)
        else:
            asset_id = cleaner.media(item.get("background_asset_id"), asset_field, kind)
        cleaned.append({"background_type": kind, "background_asset_id": asset_id})
    return cleaned


def _loop_count(config: dict, field: str) -> int:
    """1: the video plays once (then holds its last frame); 0: it loops for the whole scene. A fixed number of
    passes is not offered."""
    value = _int(config.get("loop_count"), field, 0, 100, default=1)
    if value > 1:
        raise InvalidParameter("must be 1 (play once) or 0 (loop for the whole scene)", field=field)
    return value


def _text_layer(cleaner: _Cleaner, field: str, config) -> dict:
    config = _obj(config, field)
    if config.get("text") not in (None, ""):
        text = config["text"]
        text_field = f"{field}.text"
    else:  # MetaStudio sends the layer text Base64-encoded
        text_field = f"{field}.text_context"
        encoded = config.get("text_context")
        if not isinstance(encoded, str) or not encoded.strip():
            raise InvalidParameter("a TEXT layer needs its text (text_context, Base64)", field=text_field)
        try:
            text = base64.b64decode("".join(encoded.split()), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidParameter("must be Base64 of UTF-8 text", field=text_field) from None
    text = _text(text, text_field, MAX_TEXT_LAYER_CHARS, required=True)
    _review(cleaner.account, text_field, text)
    return {"text": text, "font_name": _font_name(config.get("font_name"), f"{field}.font_name"),
            "font_size": _int(config.get("font_size"), f"{field}.font_size", 8, 400, default=48),
            "font_color": _color(config.get("font_color"), f"{field}.font_color", "#FFFFFF")}


def _layers(cleaner: _Cleaner, prefix: str, scene: dict, model_id: str, canvas: tuple[int, int]) -> list[dict]:
    width, height = canvas
    cleaned, indexes, humans, videos = [], set(), 0, 0
    for index, item in enumerate(_list(scene.get("layer_config"), f"{prefix}.layer_config", MAX_LAYERS)):
        field = f"{prefix}.layer_config[{index}]"
        item = _obj(item, field)
        kind = _choice(item.get("layer_type"), f"{field}.layer_type", LAYER_TYPES)
        position = _obj(item.get("position"), f"{field}.position")
        size = _obj(item.get("size"), f"{field}.size")
        layer_index = _int(position.get("layer_index"), f"{field}.position.layer_index", 1, MAX_LAYERS,
                           default=index + 1)
        if layer_index in indexes:
            raise InvalidParameter(f"another layer of this scene is already at layer_index {layer_index}",
                                   field=f"{field}.position.layer_index")
        indexes.add(layer_index)
        layer = {
            "layer_type": kind, "asset_id": None,
            "position": {"dx": _int(position.get("dx"), f"{field}.position.dx", -width, width, default=0),
                         "dy": _int(position.get("dy"), f"{field}.position.dy", -height, height, default=0),
                         "layer_index": layer_index},
            "size": {"width": _int(size.get("width"), f"{field}.size.width", 1, MAX_CANVAS_SIDE, default=width),
                     "height": _int(size.get("height"), f"{field}.size.height", 1, MAX_CANVAS_SIDE,
                                    default=height)},
        }
        if kind == "HUMAN":
            humans += 1
            if humans > 1:
                raise InvalidParameter("one HUMAN layer per scene", field=f"{field}.layer_type")
            if item.get("asset_id") not in (None, "", model_id):
                raise InvalidParameter(f"a script has one avatar model ({model_id}); the HUMAN layer shows it",
                                       field=f"{field}.asset_id")
            layer["asset_id"] = model_id
        elif kind == "IMAGE":
            if not item.get("asset_id") and _obj(item.get("image_config"), f"{field}.image_config").get("image_url"):
                raise InvalidParameter("external URLs are not supported; give asset_id (an image asset of yours)",
                                       field=f"{field}.image_config.image_url")
            layer["asset_id"] = cleaner.media(item.get("asset_id"), f"{field}.asset_id", Asset.Type.IMAGE)
        elif kind == "VIDEO":
            videos += 1
            config = _obj(item.get("video_config"), f"{field}.video_config")
            if videos > MAX_VIDEO_LAYERS:
                raise InvalidParameter(f"at most {MAX_VIDEO_LAYERS} videos overlaid in a scene",
                                       field=f"{field}.video_config")
            if not item.get("asset_id") and config.get("video_url"):
                raise InvalidParameter("external URLs are not supported; give asset_id (a video asset of yours)",
                                       field=f"{field}.video_config.video_url")
            layer["asset_id"] = cleaner.media(item.get("asset_id"), f"{field}.asset_id", Asset.Type.VIDEO)
            layer["video_config"] = {
                "loop_count": _loop_count(config, f"{field}.video_config.loop_count"),
                "video_sound": _int(config.get("video_sound"), f"{field}.video_config.video_sound", 0, 100,
                                    default=0),
                "is_play_the_entire_video": _bool(config.get("is_play_the_entire_video"),
                                                  f"{field}.video_config.is_play_the_entire_video", False),
            }
        else:
            layer["text_config"] = _text_layer(cleaner, f"{field}.text_config", item.get("text_config"))
        cleaned.append(layer)
    return cleaned


def _actions(cleaner: _Cleaner, prefix: str, scene: dict, script_type: str, text: str) -> dict:
    """Avatar actions at chosen words (TEXT: `action_config[].text_position`, a character offset of the text)
    or at chosen times (AUDIO: MetaStudio's `audio_drive_action_config[].action_start_time`)."""
    key = "action_config" if script_type == "TEXT" else "audio_drive_action_config"
    other = "audio_drive_action_config" if script_type == "TEXT" else "action_config"
    if scene.get(other):
        raise InvalidParameter(f"a {script_type} scene places actions with {key}", field=f"{prefix}.{other}")
    items = _list(scene.get(key), f"{prefix}.{key}", MAX_ACTIONS)
    if not items:
        return {}
    supported = cleaner.actions
    if not supported:
        raise InvalidParameter("the script's avatar model does not support actions", field=f"{prefix}.{key}")
    cleaned = []
    for index, item in enumerate(items):
        field = f"{prefix}.{key}[{index}]"
        item = _obj(item, field)
        name = item.get("action_name") or item.get("action_tag")
        if name not in supported:
            raise InvalidParameter(f"must be one of the model's actions: {', '.join(supported)}",
                                   field=f"{field}.action_name")
        if script_type == "TEXT":
            cleaned.append({"action_name": name, "text_position": _int(
                item.get("text_position"), f"{field}.text_position", 0, max(len(text) - 1, 0))})
        else:
            cleaned.append({"action_name": name, "action_tag": str(item.get("action_tag") or name)[:64],
                            "action_start_time": _number(item.get("action_start_time"),
                                                         f"{field}.action_start_time", 0, 24 * 3600, 0.0)})
    return {key: cleaned}


def _music(cleaner: _Cleaner, body: dict) -> dict:
    field = "background_music_config"
    config = _obj(body.get(field), field)
    if not config.get("music_asset_id"):
        if config.get("volume") is not None or config.get("ducking") is not None:
            raise InvalidParameter("background music needs music_asset_id (an audio asset)",
                                   field=f"{field}.music_asset_id")
        return {}
    return {"music_asset_id": cleaner.audio(config["music_asset_id"], f"{field}.music_asset_id"),
            "volume": _int(config.get("volume"), f"{field}.volume", 0, 100, default=100),
            "ducking": _bool(config.get("ducking"), f"{field}.ducking", False)}


def clean_script(account, body: dict) -> dict:
    """Check a CreateVideoScripts body against every limit; returns the cleaned script (see the module doc)."""
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object")
    name = _text(body.get("script_name"), "script_name", 256, required=True)
    description = _text(body.get("script_description"), "script_description", 1024)
    priv_data = body.get("priv_data") or ""
    if not isinstance(priv_data, str) or len(priv_data) > 8192:
        raise InvalidParameter("must be a string of at most 8192 characters", field="priv_data")
    _review(account, "script_name", name)
    _review(account, "script_description", description)
    scenes = _scenes(body)
    texts = [_scene_text(prefix, scene) for prefix, scene in scenes]
    total = sum(characters for *_, characters in texts)
    if total > MAX_TOTAL_CHARS:
        raise InvalidParameter(f"at most {MAX_TOTAL_CHARS} characters in all scenes; this script has {total}",
                               field="shoot_scripts")
    cleaner = _Cleaner(account)
    model_id, model_kind = cleaner.avatar(body)
    voice = cleaner.voice(_obj(body.get("voice_config"), "voice_config"),
                          needed=any(script_type == "TEXT" for script_type, *_ in texts))
    video = clean_video_config(body)
    canvas = (video["canvas"]["width"], video["canvas"]["height"])
    cleaned_scenes = []
    for number, ((prefix, scene), spoken) in enumerate(zip(scenes, texts, strict=True), 1):
        script_type, text, ssml, characters = spoken
        _one_per_script(prefix, scene, model_id, voice)
        if script_type == "TEXT":
            field = f"{prefix}.text_config.text"
            _review(account, field, text)
            _speech(cleaner, field, text, voice)
            audio_asset_id = None
        else:
            audio_asset_id = cleaner.audio(scene.get("audio_asset_id"), f"{prefix}.audio_asset_id",
                                           per_file_limit=MAX_SCENE_AUDIO_BYTES)
        cleaned_scenes.append({
            "sequence_no": number, "script_type": script_type,
            "text_config": {"text": text, "ssml": ssml, "characters": characters} if script_type == "TEXT" else None,
            "audio_asset_id": audio_asset_id,
            "background_config": _backgrounds(cleaner, prefix, scene, video["is_transparent_background"]),
            "layer_config": _layers(cleaner, prefix, scene, model_id, canvas),
            **_actions(cleaner, prefix, scene, script_type, text),
        })
    music = _music(cleaner, body)
    limits = {"audio": MAX_TOTAL_AUDIO_BYTES, "image": MAX_TOTAL_IMAGE_BYTES, "video": MAX_TOTAL_VIDEO_BYTES}
    for kind, limit in limits.items():
        if cleaner.totals[kind] >= limit:
            raise InvalidParameter(f"the {kind} files of a script are less than {limit // 2**20} MB in all; these "
                                   f"have {cleaner.totals[kind] / 2**20:.1f} MB", field="shoot_scripts")
    return {
        "script_name": name, "script_description": description, "view_mode": video["view_mode"],
        "priv_data": priv_data, "model_asset_id": model_id, "model_asset_type": model_kind, "voice_config": voice,
        "video_config": video, "background_music_config": music, "characters": total,
        "shoot_scripts": cleaned_scenes,
    }


# --- actions -----------------------------------------------------------------------------------------------

def script_body(script: VideoScript) -> dict:
    """The stored script as a cleaned body (what clean_script returned for it)."""
    return {
        "script_name": script.name, "script_description": script.description, "view_mode": script.view_mode,
        "priv_data": script.priv_data, "model_asset_id": script.model_asset_id,
        "model_asset_type": script.model_kind, "voice_config": script.voice_config,
        "video_config": script.video_config, "background_music_config": script.background_music_config,
        "characters": sum((scene.get("text_config") or {}).get("characters", 0) for scene in script.shoot_scripts),
        "shoot_scripts": script.shoot_scripts,
    }


def _assign(script: VideoScript, cleaned: dict) -> None:
    script.name, script.description = cleaned["script_name"], cleaned["script_description"]
    script.view_mode, script.priv_data = cleaned["view_mode"], cleaned["priv_data"]
    script.model_asset_id, script.model_kind = cleaned["model_asset_id"], cleaned["model_asset_type"]
    script.voice_config = cleaned["voice_config"]
    script.voice_asset_id = cleaned["voice_config"].get("voice_asset_id", "")
    script.video_config = cleaned["video_config"]
    script.background_music_config = cleaned["background_music_config"]
    script.shoot_scripts = cleaned["shoot_scripts"]


def create_script(actor: Actor, account, body: dict, *, project=None) -> VideoScript:
    """A new script, checked in full before it is stored."""
    cleaned = clean_script(account, body)
    script = VideoScript(account=account, project=project, created_by=actor.user)
    _assign(script, cleaned)
    with transaction.atomic():
        script.save()
        record_audit(actor, "video_script.create", script, account=account,
                     detail={"name": script.name, "scenes": len(script.shoot_scripts),
                             "characters": cleaned["characters"]})
    return script


def update_script(actor: Actor, script: VideoScript, body: dict) -> VideoScript:
    """Change a script: top-level fields given replace the stored ones (shoot_scripts as a whole); the merged
    script is checked in full again (assets must still be usable) before anything is saved."""
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be a JSON object")
    changes = {key: value for key, value in body.items() if value is not None}
    merged = {**script_body(script), **changes}
    if "video_config" in changes and "view_mode" not in changes:
        merged.pop("view_mode")  # the new resolution decides it
    elif "view_mode" in changes and "video_config" not in changes:
        video = {key: value for key, value in merged["video_config"].items() if key not in ("width", "height")}
        if video.get("subtitle_config"):  # the subtitle box of the new canvas (its style stays)
            video["subtitle_config"] = {key: value for key, value in video["subtitle_config"].items()
                                        if key not in ("dx", "dy", "w", "h")}
        merged["video_config"] = video  # the default resolution of the new mode
    cleaned = clean_script(script.account, merged)
    with transaction.atomic():
        _assign(script, cleaned)
        script.save()
        record_audit(actor, "video_script.update", script, account=script.account,
                     detail={"changed": sorted(changes), "scenes": len(script.shoot_scripts)})
    return script


def copy_script(actor: Actor, script: VideoScript, *, name=None) -> VideoScript:
    """A copy of the script under a new id (named `name`, or "<name> (copy)")."""
    if name is None:
        name = f"{script.name} (copy)"[:256]
    name = _text(name, "script_name", 256, required=True)
    _review(script.account, "script_name", name)
    copy = VideoScript(account=script.account, project=script.project, created_by=actor.user)
    _assign(copy, {**script_body(script), "script_name": name})
    with transaction.atomic():
        copy.save()
        record_audit(actor, "video_script.copy", copy, account=script.account,
                     detail={"name": name, "source_id": str(script.pk)})
    return copy


def delete_script(actor: Actor, script: VideoScript) -> None:
    with transaction.atomic():
        record_audit(actor, "video_script.delete", script, account=script.account, detail={"name": script.name})
        script.delete()
