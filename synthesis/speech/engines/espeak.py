"""eSpeak NG 1.52 (the library bundled by `espeakng-loader`) through ctypes.

libespeak-ng keeps one global synthesizer per process, so every call into it goes through `_LOCK`
(re-entrant: a synthesis sets the voice, the parameters and runs, all as one critical section).
Synthesis runs in AUDIO_OUTPUT_SYNCHRONOUS mode: `espeak_Synth` returns only after the callback has
received all audio and events, on the calling thread.

Event positions: `text_position` is the 1-based index of the word's first *character* (code point, not
byte) in the UTF-8 input, and `length` is its length in characters (checked by the tests with CJK text).
`audio_position` is in milliseconds from the start of the `espeak_Synth` call.

Explicit pronunciations (`Segment.phonemes`): espeak reads `[[...]]` in its own phoneme mnemonics.
IPA is translated to those mnemonics by `ipa_to_espeak` (a table covering English and the common
European vowels/consonants; unknown symbols are passed through, which espeak mostly ignores);
`x-pinyin` / `pinyin` (tone digits, e.g. "ni3 hao3") is read by the Mandarin voice as text, which
the cmn dictionary pronounces as pinyin syllables. Anything else falls back to reading the text.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

from ..types import PhonemeTiming, Prosody, Segment, SpeechError, VoiceInfo
from . import EngineResult, WordEvent, map_word_timings

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_PHONEME_IPA = 0x0002
INITIALIZE_DONT_EXIT = 0x8000
CHARS_UTF8 = 1
PHONEMES_FLAG = 0x100  # espeakPHONEMES: honour [[...]] phoneme input
POS_CHARACTER = 1
PHONEMES_IPA = 0x02

EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7

PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_RANGE = 4

NORMAL_RATE_WPM = 175
RATE_LIMITS = (80, 450)
NORMAL_PITCH = 50
PEAK_FULL_SCALE = 32768.0


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # (priority byte, NUL-terminated name) pairs, ended by a 0 byte
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class EspeakVoiceEntry:
    name: str
    identifier: str
    languages: tuple[str, ...]
    gender: str


class _Collector:
    """Receives the callback's audio blocks and events for one espeak_Synth call."""

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []
        self.words: list[tuple[int, int, int]] = []  # (text_position 1-based, length, ms)
        self.phonemes: list[tuple[str, int]] = []  # (phoneme, ms)
        self.end_ms: int | None = None


_LOCK = threading.RLock()
_lib: ctypes.CDLL | None = None
_sample_rate = 22050
_collector: _Collector | None = None
_current_voice: str | None = None
_voice_changes = 0  # since the last synthesis; see _flush_events


def _on_synth(wav, num_samples, events) -> int:
    collector = _collector
    if collector is None:
        return 0
    if num_samples > 0 and wav:
        collector.blocks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
    index = 0
    while events[index].type != EVENT_LIST_TERMINATED:
        event = events[index]
        if event.type == EVENT_WORD:
            collector.words.append((event.text_position, event.length, event.audio_position))
        elif event.type == EVENT_PHONEME:
            name = event.id.string.decode("utf-8", "replace")
            collector.phonemes.append((name, event.audio_position))
        elif event.type in (EVENT_END, EVENT_MSG_TERMINATED):
            collector.end_ms = event.audio_position
        index += 1
    return 0


_callback = _SYNTH_CALLBACK(_on_synth)  # module-level: ctypes must keep it alive


def _load() -> ctypes.CDLL:
    """Load and initialize the library once (caller holds _LOCK)."""
    global _lib, _sample_rate
    if _lib is not None:
        return _lib
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
        ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))

    data_path = espeakng_loader.get_data_path().encode()
    options = INITIALIZE_PHONEME_EVENTS | INITIALIZE_PHONEME_IPA | INITIALIZE_DONT_EXIT
    rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, data_path, options)
    if rate <= 0:
        raise RuntimeError("espeak-ng failed to initialize")
    lib.espeak_SetSynthCallback(_callback)
    _sample_rate = rate
    _lib = lib
    return lib


def sample_rate() -> int:
    with _LOCK:
        _load()
        return _sample_rate


def list_engine_voices() -> list[EspeakVoiceEntry]:
    """All language voices espeak knows (espeak_ListVoices), with their language codes."""
    with _LOCK:
        lib = _load()
        voices = lib.espeak_ListVoices(None)
        entries = []
        index = 0
        while voices[index]:
            voice = voices[index].contents
            entries.append(
                EspeakVoiceEntry(
                    name=(voice.name or b"").decode(),
                    identifier=(voice.identifier or b"").decode(),
                    languages=_parse_languages(voice.languages),
                    gender={1: "male", 2: "female"}.get(voice.gender, ""),
                )
            )
            index += 1
        return entries


def _parse_languages(address: int | None) -> tuple[str, ...]:
    languages = []
    while address and ctypes.string_at(address, 1) != b"\0":
        name = ctypes.string_at(address + 1)
        languages.append(name.decode("utf-8", "replace"))
        address += len(name) + 2
    return tuple(languages)


def _set_voice(lib: ctypes.CDLL, engine_voice: str) -> None:
    """Select a voice by file name ("en-us+f3"); else by language code through espeak_ListVoices."""
    global _current_voice, _voice_changes
    if engine_voice == _current_voice:
        return
    _current_voice = None
    _voice_changes += 1
    if lib.espeak_SetVoiceByName(engine_voice.encode()) != 0 and not _set_voice_by_language(lib, engine_voice):
        raise SpeechError(f"espeak has no voice {engine_voice!r}", field="voice_id", code="unknown_voice")
    _current_voice = engine_voice


def _set_voice_by_language(lib: ctypes.CDLL, engine_voice: str) -> bool:
    language, plus, variant = engine_voice.partition("+")
    for entry in list_engine_voices():
        if language.lower() in entry.languages:
            file_name = entry.identifier.rsplit("/", 1)[-1]
            if lib.espeak_SetVoiceByName((file_name + plus + variant).encode()) == 0:
                return True
    return False


def _flush_events(lib: ctypes.CDLL) -> None:
    """Each voice change queues a SAMPLERATE event that is only delivered with the next synthesis, and the
    callback's event list has a fixed size: after many changes without synthesis (phonetic lookups), the
    real first WORD/PHONEME events would be dropped. A silent synthesis delivers and discards them."""
    global _voice_changes
    if _voice_changes > 4:
        lib.espeak_Synth(b" \0", 2, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
    _voice_changes = 0


def _set_prosody(lib: ctypes.CDLL, prosody: Prosody) -> None:
    rate = int(round(NORMAL_RATE_WPM * prosody.rate))
    lib.espeak_SetParameter(PARAM_RATE, min(max(rate, RATE_LIMITS[0]), RATE_LIMITS[1]), 0)
    pitch = int(round(NORMAL_PITCH * prosody.pitch))
    lib.espeak_SetParameter(PARAM_PITCH, min(max(pitch, 0), 100), 0)
    lib.espeak_SetParameter(PARAM_RANGE, 50, 0)
    lib.espeak_SetParameter(PARAM_VOLUME, 100, 0)  # gain is applied in numpy by the caller


def _run(lib: ctypes.CDLL, text: str, flags: int) -> _Collector:
    global _collector
    data = text.encode("utf-8") + b"\0"
    buffer = ctypes.create_string_buffer(data, len(data))
    _flush_events(lib)
    collector = _Collector()
    _collector = collector
    try:
        status = lib.espeak_Synth(buffer, len(data), 0, POS_CHARACTER, 0, flags, None, None)
    finally:
        _collector = None
    if status != 0:
        raise RuntimeError(f"espeak_Synth failed with status {status}")
    return collector


def synthesize_raw(text: str, engine_voice: str, prosody: Prosody | None = None, *, phoneme_input: bool = False):
    """Synthesize `text`; returns (int16 pcm, sample rate, word events, phoneme events) straight from espeak."""
    flags = CHARS_UTF8 | (PHONEMES_FLAG if phoneme_input else 0)
    with _LOCK:
        lib = _load()
        _set_voice(lib, engine_voice)
        _set_prosody(lib, prosody or Prosody())
        collector = _run(lib, text, flags)
        rate = _sample_rate
    pcm = np.concatenate(collector.blocks) if collector.blocks else np.zeros(0, dtype=np.int16)
    return pcm.astype(np.int16, copy=False), rate, collector.words, collector.phonemes


def text_to_phonemes(text: str, engine_voice: str, *, ipa: bool = True) -> str:
    """espeak_TextToPhonemes over the whole text (it returns one clause per call); clauses joined by spaces."""
    data = text.encode("utf-8") + b"\0"
    buffer = ctypes.create_string_buffer(data, len(data))
    pointer = ctypes.c_void_p(ctypes.addressof(buffer))
    clauses = []
    with _LOCK:
        lib = _load()
        _set_voice(lib, engine_voice)
        while pointer.value:
            result = lib.espeak_TextToPhonemes(ctypes.byref(pointer), CHARS_UTF8, PHONEMES_IPA if ipa else 0)
            if result:
                clauses.append(result.decode("utf-8", "replace").strip())
    return " ".join(clause for clause in clauses if clause)


class EspeakEngine:
    """The `espeak` engine: reads one Segment with one espeak voice (e.g. "cmn+f3")."""

    name = "espeak"

    def sample_rate(self) -> int:
        return sample_rate()

    def synthesize(self, segment: Segment, voice: VoiceInfo, prosody: Prosody) -> EngineResult:
        text, phoneme_input = _engine_text(segment)
        pcm, rate, word_events, phoneme_events = synthesize_raw(
            text, voice.engine_voice, prosody, phoneme_input=phoneme_input
        )
        audio = pcm.astype(np.float32) / PEAK_FULL_SCALE
        duration = len(audio) / rate
        events = []
        if not phoneme_input and text == segment.text:
            events = _word_events(word_events, phoneme_events, duration, len(text))
        words = map_word_timings(segment, events, duration, _speech_bounds(audio, rate))
        phonemes = _phoneme_timings(phoneme_events, duration)
        return EngineResult(audio=audio, sample_rate=rate, words=words, phonemes=phonemes)


def _engine_text(segment: Segment) -> tuple[str, bool]:
    """What espeak reads, and whether it is phoneme input."""
    if segment.phonemes:
        alphabet = (segment.alphabet or "").lower()
        if alphabet == "ipa":
            return f"[[{ipa_to_espeak(segment.phonemes)}]]", True
        if alphabet in ("x-pinyin", "pinyin") and segment.lang == "zh":
            return segment.phonemes, False
    return segment.text, False


def _word_events(
    raw: list[tuple[int, int, int]], phonemes: list[tuple[str, int]], duration: float, text_length: int
) -> list[WordEvent]:
    """espeak word events -> (text start, text end, start s, end s).

    A word ends where its last phoneme ends (so the pause after a comma is not part of the word), or
    where the next word begins when no phoneme events came.
    """
    events = []
    for index, (position, length, ms) in enumerate(raw):
        start = ms / 1000.0
        text_end = position - 1 + length
        if index + 1 < len(raw):
            end = raw[index + 1][2] / 1000.0
            # CJK words are reported with length 1 at their first character: extend to the next word.
            text_end = max(text_end, raw[index + 1][0] - 1)
        else:
            end = duration
            text_end = max(text_end, text_length)
        end = _last_phoneme_end(phonemes, start, end)
        events.append(WordEvent(position - 1, text_end, min(start, duration), min(max(end, start), duration)))
    return events


def _last_phoneme_end(phonemes: list[tuple[str, int]], start: float, end: float) -> float:
    last_end = None
    for index, (name, ms) in enumerate(phonemes):
        at = ms / 1000.0
        if at < start or at >= end:
            continue
        if name.strip() and not name.startswith("("):
            last_end = phonemes[index + 1][1] / 1000.0 if index + 1 < len(phonemes) else end
    return min(end, last_end) if last_end is not None else end


def _phoneme_timings(raw: list[tuple[str, int]], duration: float) -> list[PhonemeTiming]:
    timings = []
    for index, (name, ms) in enumerate(raw):
        if not name.strip() or name.startswith("("):  # "(en)": espeak's own language-switch marker
            continue
        start = min(ms / 1000.0, duration)
        end = min(raw[index + 1][1] / 1000.0, duration) if index + 1 < len(raw) else duration
        timings.append(PhonemeTiming(phoneme=name, start=start, end=max(start, end)))
    return timings


def _speech_bounds(audio: np.ndarray, rate: int) -> tuple[float, float]:
    """First and last moment the signal is audible (used to tighten the last word's end)."""
    loud = np.flatnonzero(np.abs(audio) > 0.03)
    if not len(loud):
        return 0.0, len(audio) / rate
    return loud[0] / rate, (loud[-1] + 1) / rate


# IPA -> espeak mnemonics (longest match first). Covers English and common European phonemes.
_IPA_TO_ESPEAK = {
    "tʃ": "tS", "dʒ": "dZ", "eɪ": "eI", "aɪ": "aI", "ɔɪ": "OI", "aʊ": "aU", "oʊ": "oU", "əʊ": "@U",
    "ɪə": "i@", "eə": "e@", "ʊə": "U@", "ɑː": "A:", "ɔː": "O:", "iː": "i:", "uː": "u:", "ɜː": "3:",
    "ə": "@", "ɚ": "3", "ɪ": "I", "ʊ": "U", "æ": "a", "ɑ": "A", "ɒ": "0", "ɔ": "O", "ʌ": "V", "ɛ": "E",
    "ɜ": "3", "e": "e", "i": "i", "u": "u", "o": "o", "a": "a", "y": "y", "ø": "Y", "œ": "W", "ɐ": "a#",
    "θ": "T", "ð": "D", "ʃ": "S", "ʒ": "Z", "ŋ": "N", "ɲ": "n^", "ɹ": "r", "ɾ": "*", "ʁ": "R", "ʀ": "R",
    "x": "x", "ç": "C", "ɡ": "g", "ʔ": "?", "j": "j", "ɫ": "l", "ʎ": "l^", "β": "B", "ɣ": "Q",
    "ˈ": "'", "ˌ": ",", "ː": ":", "ᵻ": "I2", "ɬ": "l#", "̃": "~",
}
_IPA_KEYS = sorted(_IPA_TO_ESPEAK, key=len, reverse=True)


def ipa_to_espeak(ipa: str) -> str:
    """Best-effort IPA -> espeak phoneme mnemonics for `[[...]]` input."""
    out = []
    index = 0
    while index < len(ipa):
        for key in _IPA_KEYS:
            if ipa.startswith(key, index):
                out.append(_IPA_TO_ESPEAK[key])
                index += len(key)
                break
        else:
            char = ipa[index]
            out.append(char if char.isascii() and (char.isalnum() or char == " ") else "")
            index += 1
    return "".join(out)
