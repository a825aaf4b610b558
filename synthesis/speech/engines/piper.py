"""Piper neural voices (`.onnx` + `.onnx.json`), loaded once per model path and cached in-process.

Timings: when the model has an alignment output (a voice patched with `piper.patch_voice_with_alignment`),
phoneme times come from the model's own per-phoneme sample counts. The bundled joe voice has no such
output (and patching at load time needs the `onnx` package, which is not installed), so phoneme times
are *estimated*: the audible part of each Piper sentence is shared among its phonemes by a fixed weight
per phoneme class (vowels longer, stress marks none, commas a pause). Words are then timed from their
phonemes; the phonemes of each word are found by phonemizing the word alone and aligning that against
the sentence phonemes (espeak merges words such as "on the" -> "ɔnðə", so splitting on spaces is wrong).

Speed is `length_scale / rate`; gain is applied by the caller. Pitch is not supported by Piper models
and is ignored (documented gap; a duration-preserving pitch shift could be added as a post-process).
Explicit IPA (`Segment.phonemes`, alphabet "ipa") is passed through as Piper `[[ ... ]]` raw phonemes.
"""

from __future__ import annotations

import difflib
import threading
import unicodedata
from pathlib import Path

import numpy as np

from ..types import PhonemeTiming, Prosody, Segment, SpeechError, VoiceInfo
from . import EngineResult, WordEvent, default_word_spans, map_word_timings

_VOICES: dict[str, object] = {}
_LOAD_LOCK = threading.Lock()

_PAUSE_WEIGHTS = {",": 2.5, ";": 2.5, ":": 2.5, "—": 2.5, ".": 2.0, "!": 2.0, "?": 2.0, " ": 0.15}
_VOWELS = set("aeiouyæɑɒɔəɚɛɜɝɪʊʌɐɵøœɨʉɯɤᵻ")
_MODIFIERS = {"ː": 0.6, "ˑ": 0.3}
_STRESS = set("ˈˌ")


def load_piper_voice(model_path: str | Path):
    """The PiperVoice for `model_path` (config at model_path + ".json"), loaded on first use."""
    key = str(Path(model_path).resolve())
    with _LOAD_LOCK:
        voice = _VOICES.get(key)
        if voice is None:
            config_path = Path(key + ".json")
            if not Path(key).is_file() or not config_path.is_file():
                raise SpeechError(f"piper voice files missing: {key}", field="voice_id", code="unknown_voice")
            from piper import PiperVoice

            voice = _VOICES[key] = PiperVoice.load(key, config_path=config_path)
        return voice


def has_alignment_output(piper_voice) -> bool:
    return len(piper_voice.session.get_outputs()) > 1


class PiperEngine:
    name = "piper"

    def synthesize(self, segment: Segment, voice: VoiceInfo, prosody: Prosody) -> EngineResult:
        from piper.config import SynthesisConfig

        piper_voice = load_piper_voice(voice.engine_voice)
        length_scale = piper_voice.config.length_scale / max(prosody.rate, 0.1)
        config = SynthesisConfig(length_scale=length_scale, normalize_audio=True, volume=1.0)
        aligned = has_alignment_output(piper_voice)
        text = _engine_text(segment)
        blocks: list[np.ndarray] = []
        phonemes: list[PhonemeTiming] = []
        offset = 0.0
        rate = piper_voice.config.sample_rate
        for chunk in piper_voice.synthesize(text, syn_config=config, include_alignments=aligned):
            audio = chunk.audio_float_array.astype(np.float32)
            rate = chunk.sample_rate
            timed = _aligned_phonemes(chunk, rate) if chunk.phoneme_alignments else None
            timed = timed or _estimated_phonemes(chunk.phonemes, audio, rate)
            phonemes.extend(PhonemeTiming(p.phoneme, p.start + offset, p.end + offset) for p in timed)
            blocks.append(audio)
            offset += len(audio) / rate
        audio = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        duration = len(audio) / rate
        events = [] if text != segment.text else _word_events(segment, phonemes, piper_voice)
        words = map_word_timings(segment, events, duration, (0.0, duration))
        sounding = [p for p in phonemes if p.phoneme not in _PAUSE_WEIGHTS]
        return EngineResult(audio=audio, sample_rate=rate, words=words, phonemes=sounding)


def _engine_text(segment: Segment) -> str:
    if segment.phonemes and (segment.alphabet or "").lower() == "ipa":
        return f"[[ {segment.phonemes} ]]"
    return segment.text


def _tokens(phonemes: list[str]) -> list[str]:
    """Piper's code points -> phoneme tokens: stress marks join the next phoneme, diacritics the previous."""
    tokens: list[str] = []
    pending = ""
    for char in phonemes:
        if char in _STRESS:
            pending += char
        elif tokens and (unicodedata.combining(char) or char in _MODIFIERS) and not pending:
            tokens[-1] += char
        else:
            tokens.append(pending + char)
            pending = ""
    return tokens


def _weight(token: str, is_last: bool) -> float:
    if token in _PAUSE_WEIGHTS:
        return 0.0 if is_last else _PAUSE_WEIGHTS[token]
    base = token.lstrip("ˈˌ")
    weight = 1.3 if base[:1] in _VOWELS else 1.0
    return weight + sum(_MODIFIERS.get(char, 0.0) for char in base[1:])


def _estimated_phonemes(phonemes: list[str], audio: np.ndarray, rate: int) -> list[PhonemeTiming]:
    tokens = _tokens(phonemes)
    if not tokens:
        return []
    begin, end = _audible(audio, rate)
    weights = [_weight(token, index == len(tokens) - 1) for index, token in enumerate(tokens)]
    scale = (end - begin) / (sum(weights) or 1.0)
    timings, cursor = [], begin
    for token, weight in zip(tokens, weights, strict=True):
        timings.append(PhonemeTiming(token, round(cursor, 4), round(cursor + weight * scale, 4)))
        cursor += weight * scale
    return timings


def _aligned_phonemes(chunk, rate: int) -> list[PhonemeTiming]:
    timings, cursor = [], 0
    for alignment in chunk.phoneme_alignments:
        start = cursor
        cursor += int(alignment.num_samples)
        if alignment.phoneme in ("^", "$", "_"):
            continue
        timings.append(PhonemeTiming(alignment.phoneme, round(start / rate, 4), round(cursor / rate, 4)))
    return _merge_marks(timings)


def _merge_marks(timings: list[PhonemeTiming]) -> list[PhonemeTiming]:
    """Per-code-point alignments -> tokens as in `_tokens`, each spanning its code points."""
    tokens = _tokens([t.phoneme for t in timings])
    merged, index = [], 0
    for token in tokens:
        count = len(token)
        part = timings[index:index + count]
        merged.append(PhonemeTiming(token, part[0].start, part[-1].end))
        index += count
    return merged


def _audible(audio: np.ndarray, rate: int) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    if not len(loud):
        return 0.0, len(audio) / rate
    return loud[0] / rate, (loud[-1] + 1) / rate


def _word_events(segment: Segment, phonemes: list[PhonemeTiming], piper_voice) -> list[WordEvent]:
    """Time each word by aligning its own phonemes against the sentence's timed phonemes."""
    spans = segment.word_spans or default_word_spans(segment)
    sounding = [p for p in phonemes if p.phoneme not in _PAUSE_WEIGHTS]
    if not spans or not sounding:
        return []
    word_tokens = [_word_tokens(piper_voice, segment.text[start:end]) for start, end, *_ in spans]
    owners = [index for index, tokens in enumerate(word_tokens) for _ in tokens]
    flat = [token for tokens in word_tokens for token in tokens]
    owner_of = _align(_plain([p.phoneme for p in sounding]), _plain(flat), owners)
    events = []
    for index, (text_start, text_end, *_rest) in enumerate(spans):
        mine = [sounding[i] for i, owner in enumerate(owner_of) if owner == index]
        if mine:
            events.append(WordEvent(text_start, text_end, mine[0].start, mine[-1].end))
    return events


def _word_tokens(piper_voice, word: str) -> list[str]:
    sentences = piper_voice.phonemize(word)
    tokens = _tokens([char for sentence in sentences for char in sentence])
    return [token for token in tokens if token not in _PAUSE_WEIGHTS]


def _plain(tokens: list[str]) -> list[str]:
    return [token.lstrip("ˈˌ") for token in tokens]


def _align(sentence: list[str], words: list[str], owners: list[int]) -> list[int]:
    """Owner (word index) of each sentence phoneme; unmatched phonemes take the previous owner."""
    owner_of: list[int | None] = [None] * len(sentence)
    matcher = difflib.SequenceMatcher(None, sentence, words, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            owner_of[block.a + k] = owners[block.b + k]
    first_known = next((owner for owner in owner_of if owner is not None), 0)
    previous = first_known
    resolved = []
    for owner in owner_of:
        previous = owner if owner is not None else previous
        resolved.append(previous)
    return resolved
