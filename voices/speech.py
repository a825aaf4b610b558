"""The Django side of speech synthesis: which voice an id names for a tenant, its readings, request
validation, and the synthesis run shared by async jobs, auditions and the WebSocket API."""

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from assets.models import Asset, AssetFile
from metastudio.errors import InvalidParameter, NotFound, StateConflict, is_uuid

AUDIO_FORMATS = ("WAV", "MP3")
AUDITION_MAX_CHARS = 500  # an audition is a short try of a voice
PRESET_TIER = "PRESET"
_CONVERTERS: "OrderedDict[str, object]" = OrderedDict()
_CONVERTERS_LOCK = threading.Lock()
_CONVERTERS_MAX = 16


@dataclass(frozen=True)
class ResolvedVoice:
    voice_id: str  # what the caller named: a preset id or a voice asset id
    name: str
    tier: str  # PRESET, BASIC, MIDDLE or ADVANCE (metering)
    base_voice_id: str
    model_name: str = ""  # stored model file of a trained voice
    language: str = ""

    @property
    def is_preset(self) -> bool:
        return self.tier == PRESET_TIER


def preset_voices():
    from synthesis.speech import catalog

    _load_extra_voices()
    return catalog.list_voices()


_EXTRA_LOADED = False


def _load_extra_voices() -> None:
    global _EXTRA_LOADED
    if not _EXTRA_LOADED and settings.SPEECH_EXTRA_PIPER_DIR:
        from synthesis.speech import catalog

        catalog.load_voice_dir(settings.SPEECH_EXTRA_PIPER_DIR)
    _EXTRA_LOADED = True


def resolve_voice(account, voice_id, *, field: str = "voice_asset_id", usable: bool = True) -> ResolvedVoice:
    """A preset voice id or one of the tenant's VOICE_MODEL assets; other tenants' voices do not exist here."""
    from synthesis.speech import catalog
    from synthesis.speech.types import SpeechError

    if not isinstance(voice_id, str) or not voice_id.strip():
        raise InvalidParameter("a voice is required: a preset voice id or a voice model asset id", field=field)
    voice_id = voice_id.strip()
    if not is_uuid(voice_id):
        _load_extra_voices()
        try:
            info = catalog.get_voice(voice_id)
        except SpeechError:
            raise NotFound(f"voice {voice_id} does not exist", field=field) from None
        return ResolvedVoice(voice_id, info.name, PRESET_TIER, info.voice_id, language=info.language)
    asset = Asset.objects.filter(account=account, pk=voice_id, type=Asset.Type.VOICE_MODEL).first()
    if asset is None or asset.state in (Asset.State.DELETED, Asset.State.WAITING_DELETE):
        raise NotFound(f"voice {voice_id} does not exist", field=field)
    if usable:
        if asset.state == Asset.State.BLOCK:
            raise StateConflict(f"voice {voice_id} is frozen and cannot be used", field=field)
        if asset.state != Asset.State.ACTIVED:
            raise StateConflict(f"voice {voice_id} is {asset.state}, not usable", field=field)
    info = asset.media_info or {}
    model = asset.files.filter(category=AssetFile.Category.MAIN).first()
    return ResolvedVoice(voice_id, asset.name, info.get("voice_tier", "BASIC"), info.get("base_voice_id", ""),
                         model.stored.name if model else "", info.get("language", ""))


def converter_for(voice: ResolvedVoice):
    """The trained voice's converter (loaded once per process; a few MB each)."""
    if voice.is_preset or not voice.model_name:
        return None
    from synthesis.speech import clone

    with _CONVERTERS_LOCK:
        if voice.model_name in _CONVERTERS:
            _CONVERTERS.move_to_end(voice.model_name)
            return _CONVERTERS[voice.model_name]
    from assets.tasks import local_copy

    with local_copy(voice.model_name) as path:
        converter = clone.load(Path(path))
    with _CONVERTERS_LOCK:
        _CONVERTERS[voice.model_name] = converter
        while len(_CONVERTERS) > _CONVERTERS_MAX:
            _CONVERTERS.popitem(last=False)
    return converter


def readings_for(account, voice_id: str) -> dict[str, str]:
    """Tenant readings for every voice, then those of the groups this voice is attached to (they win)."""
    from voices.models import CustomReading

    readings = {}
    rows = CustomReading.objects.filter(account=account).select_related("group").order_by("group_id")
    for reading in rows:
        if reading.group is None:
            readings.setdefault(reading.source, reading.target)
    for reading in rows:
        if reading.group is not None and voice_id in reading.group.voice_ids:
            readings[reading.source] = reading.target
    return readings


def _int_in(body: dict, name: str, default: int, bounds: tuple[int, int]) -> int:
    low, high = bounds
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().lstrip("-").isdigit():
        raise InvalidParameter(f"must be an integer from {low} to {high}", field=name)
    value = int(value)
    if not low <= value <= high:
        raise InvalidParameter(f"must be from {low} to {high}", field=name)
    return value


def spoken_characters(text: str, is_ssml: bool) -> int:
    """Characters billed: the text a listener hears (SSML markup is not counted)."""
    if not is_ssml:
        return len(text)
    import re

    return len(re.sub(r"<[^>]*>", "", text))


def clean_tts_request(account, body: dict, *, max_chars: int | None = None) -> dict:
    """Validate a TTS request fully (voice, ranges, SSML) before anything is created or charged."""
    from synthesis.speech import frontend
    from synthesis.speech import types as speech_types
    from synthesis.speech.types import SAMPLE_RATES, SpeechError

    max_chars = max_chars or speech_types.MAX_TEXT_CHARS
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameter("must not be empty", field="text")
    if len(text) > max_chars:
        raise InvalidParameter(f"at most {max_chars} characters; this text has {len(text)}", field="text")
    voice = resolve_voice(account, body.get("voice_asset_id"))
    audio_format = str(body.get("audio_format") or "WAV").upper()
    if audio_format not in AUDIO_FORMATS:
        raise InvalidParameter(f"must be one of {', '.join(AUDIO_FORMATS)}", field="audio_format")
    sample_rate = body.get("sample_rate", 16000)
    if sample_rate not in SAMPLE_RATES and str(sample_rate) not in map(str, SAMPLE_RATES):
        raise InvalidParameter(f"must be one of {', '.join(map(str, SAMPLE_RATES))}", field="sample_rate")
    need_timestamp = body.get("need_timestamp", False)
    if not isinstance(need_timestamp, bool):
        raise InvalidParameter("must be true or false", field="need_timestamp")
    callback = body.get("callback_config") or {}
    callback_url = callback.get("callback_url", "") if isinstance(callback, dict) else None
    if callback_url is None or (callback_url and not str(callback_url).startswith(("http://", "https://"))):
        raise InvalidParameter("must be an http(s) URL", field="callback_config.callback_url")
    readings = readings_for(account, voice.voice_id)
    is_ssml = text.lstrip().startswith("<speak")
    try:
        frontend.prepare(text, ssml=is_ssml, default_lang=voice.language or "zh", readings=readings)
    except SpeechError as error:
        raise InvalidParameter(error.message, field="text") from None
    return {
        "text": text, "voice_asset_id": voice.voice_id, "voice_tier": voice.tier, "ssml": is_ssml,
        "speed": _int_in(body, "speed", speech_types.DEFAULT_SPEED, speech_types.SPEED_RANGE),
        "pitch": _int_in(body, "pitch", speech_types.DEFAULT_PITCH, speech_types.PITCH_RANGE),
        "volume": _int_in(body, "volume", speech_types.DEFAULT_VOLUME, speech_types.VOLUME_RANGE),
        "audio_format": audio_format,
        "sample_rate": int(sample_rate), "need_timestamp": need_timestamp, "callback_url": callback_url or "",
        "characters": spoken_characters(text, is_ssml),
    }


def stream(account, params: dict):
    """Audio chunks (sentence by sentence) for validated params."""
    from synthesis.speech import synth
    from synthesis.speech.types import SynthesisOptions

    voice = resolve_voice(account, params["voice_asset_id"])
    options = SynthesisOptions(speed=params["speed"], pitch=params["pitch"], volume=params["volume"],
                               sample_rate=params["sample_rate"])
    return synth.stream(params["text"], voice_id=voice.base_voice_id, options=options, ssml=params["ssml"],
                        readings=readings_for(account, voice.voice_id), converter=converter_for(voice))


def word_json(word) -> dict:
    return {"word": word.word, "start_time": round(word.start, 3), "end_time": round(word.end, 3),
            "text_begin": word.source_start, "text_end": word.source_end}


def tts_resource(tier: str) -> str:
    """Metering resource of TTS characters per voice tier (billed per million characters)."""
    return f"TTS_CHARACTERS_{tier}"
