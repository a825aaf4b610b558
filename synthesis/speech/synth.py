"""Streaming synthesis: text (or prepared sentences) -> AudioChunks, one per sentence.

`stream` validates everything up front (voice, options, text via `frontend.prepare`) and returns a lazy
iterator: each sentence is synthesized only when the consumer asks for it, so the first chunk is ready
after one sentence. Per segment the engine is picked by language: the requested voice when it speaks the
segment's language, else the catalog's default voice for that language with the same gender (so a Piper
English voice can read Chinese runs, and a Chinese voice reads English words with English espeak).

Levels: every segment is normalized to a -6 dBFS peak, then multiplied by the volume factor
(options.volume / 140 times the segment's prosody volume), so 140 is unity and engines match in loudness.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from . import audio, catalog
from .engines import EngineResult, get_engine
from .lead import split_lead
from .types import (
    MAX_TEXT_CHARS,
    PITCH_RANGE,
    SAMPLE_RATES,
    SPEED_RANGE,
    VOLUME_RANGE,
    AudioChunk,
    PhonemeTiming,
    Prosody,
    Segment,
    Sentence,
    SpeechError,
    SynthesisOptions,
    VoiceInfo,
    WordTiming,
)

SEGMENT_PEAK = 0.5  # -6 dBFS before gain: volume 240 (x1.71) still fits without clipping
MAX_PHONETIC_CHARS = 64


@dataclass
class SynthesisResult:
    pcm: np.ndarray  # int16 mono, the whole utterance
    sample_rate: int
    words: list[WordTiming] = field(default_factory=list)
    phonemes: list[PhonemeTiming] = field(default_factory=list)
    chunks: list[AudioChunk] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.pcm) / float(self.sample_rate)


def stream(
    text_or_sentences: str | Iterable[Sentence] | None,
    *,
    voice_id: str,
    options: SynthesisOptions | None = None,
    ssml=None,
    readings=None,
    converter=None,
) -> Iterator[AudioChunk]:
    """Validate now, then lazily yield one AudioChunk per sentence (timings relative to the utterance)."""
    voice = catalog.get_voice(voice_id)
    options = options or SynthesisOptions()
    validate_options(options)
    sentences, source = _sentences(text_or_sentences, voice, ssml, readings)
    if not sentences:
        raise SpeechError("there is nothing to read", field="text", code="empty")
    return _chunks(sentences, source, voice, _at_speakers_tempo(options, converter), converter)


def _at_speakers_tempo(options: SynthesisOptions, converter) -> SynthesisOptions:
    """A cloned voice's base reads at the speaker's own speaking rate (its model's tempo), within the speed range."""
    tempo = float(getattr(converter, "tempo", 1.0) or 1.0)
    if tempo == 1.0:
        return options
    speed = int(round(min(max(options.speed * tempo, SPEED_RANGE[0]), SPEED_RANGE[1])))
    return replace(options, speed=speed)


def synthesize(
    text_or_sentences: str | Iterable[Sentence] | None,
    *,
    voice_id: str,
    options: SynthesisOptions | None = None,
    ssml=None,
    readings=None,
    converter=None,
) -> SynthesisResult:
    """The whole utterance at once (same arguments as `stream`)."""
    options = options or SynthesisOptions()
    chunks = list(
        stream(text_or_sentences, voice_id=voice_id, options=options, ssml=ssml, readings=readings, converter=converter)
    )
    pcm = np.concatenate([chunk.pcm for chunk in chunks]) if chunks else np.zeros(0, dtype=np.int16)
    return SynthesisResult(
        pcm=pcm,
        sample_rate=options.sample_rate,
        words=[word for chunk in chunks for word in chunk.words],
        phonemes=[phoneme for chunk in chunks for phoneme in chunk.phonemes],
        chunks=chunks,
    )


def validate_options(options: SynthesisOptions) -> None:
    for name, (low, high) in (("speed", SPEED_RANGE), ("pitch", PITCH_RANGE), ("volume", VOLUME_RANGE)):
        value = getattr(options, name)
        if not isinstance(value, int | float) or not low <= value <= high:
            raise SpeechError(f"{name} must be between {low} and {high}", field=name, code="out_of_range")
    if options.sample_rate not in SAMPLE_RATES:
        raise SpeechError(
            f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}", field="sample_rate", code="invalid"
        )


def _sentences(text_or_sentences, voice: VoiceInfo, ssml, readings) -> tuple[list[Sentence], str | None]:
    """Prepared sentences and the source string their offsets index (None when the caller gave sentences)."""
    if text_or_sentences is None or isinstance(text_or_sentences, str):
        text = text_or_sentences or ""
        if len(text) > MAX_TEXT_CHARS or (isinstance(ssml, str) and len(ssml) > MAX_TEXT_CHARS):
            raise SpeechError(f"text is longer than {MAX_TEXT_CHARS} characters", field="text", code="too_long")
        from . import frontend  # lazy: the front end is a sibling module with its own dependencies

        sentences = frontend.prepare(text, ssml=ssml, default_lang=voice.language, readings=readings)
        source = ssml if isinstance(ssml, str) else text
        return split_lead(list(sentences)), source
    return list(text_or_sentences), None


def _chunks(sentences, source, voice, options, converter) -> Iterator[AudioChunk]:
    samples_done = 0
    rate = options.sample_rate
    for sentence in sentences:
        pcm, native_rate, words, phonemes = render_sentence(sentence, voice, options)
        if converter is not None and len(pcm):
            pcm, native_rate = converter.convert(pcm, native_rate)
            pcm = audio.to_int16(np.asarray(pcm))
        pcm = audio.resample(pcm, native_rate, rate)
        start = samples_done / rate
        samples_done += len(pcm)
        yield AudioChunk(
            pcm=pcm,
            sample_rate=rate,
            start=round(start, 4),
            words=[_shift_word(word, start, source) for word in words],
            phonemes=[PhonemeTiming(p.phoneme, round(p.start + start, 4), round(p.end + start, 4)) for p in phonemes],
            text=sentence.text,
        )


def render_sentence(
    sentence: Sentence, voice: VoiceInfo, options: SynthesisOptions
) -> tuple[np.ndarray, int, list[WordTiming], list[PhonemeTiming]]:
    """One sentence at its engine's native rate: (int16 pcm, rate, words, phonemes), times from its start."""
    base = options.prosody()
    parts: list[np.ndarray] = []
    words: list[WordTiming] = []
    phonemes: list[PhonemeTiming] = []
    rate: int | None = None
    offset = 0.0
    for segment in sentence.segments:
        if segment.pause_before > 0:
            pause_rate = rate or _engine_rate(voice)
            parts.append(np.zeros(int(round(segment.pause_before * pause_rate)), dtype=np.float32))
            rate = pause_rate
            offset += len(parts[-1]) / pause_rate
        if not segment.text.strip() and not segment.phonemes:
            continue
        prosody = base.combine(segment.prosody)
        result = _synthesize_segment(segment, route(segment.lang, voice), prosody)
        rate = rate or result.sample_rate
        samples = _level(audio.resample(result.audio, result.sample_rate, rate), prosody.volume)
        parts.append(samples)
        words += [_shift_word(word, offset, None) for word in result.words]
        phonemes += [PhonemeTiming(p.phoneme, p.start + offset, p.end + offset) for p in result.phonemes]
        offset += len(samples) / rate
    rate = rate or _engine_rate(voice)
    pcm = audio.to_int16(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int16)
    return pcm, rate, words, phonemes


def route(lang: str, voice: VoiceInfo) -> VoiceInfo:
    """The requested voice if it speaks `lang`, else the default voice for `lang` of the same gender."""
    wanted = catalog.normalize_lang(lang)
    if wanted in voice.languages or not wanted:
        return voice
    try:
        return catalog.default_voice(wanted, voice.gender)
    except SpeechError:
        return voice  # no voice for that language: let the requested voice try


def _synthesize_segment(segment: Segment, voice: VoiceInfo, prosody: Prosody) -> EngineResult:
    return get_engine(voice.engine).synthesize(segment, voice, prosody)


def _engine_rate(voice: VoiceInfo) -> int:
    engine = get_engine(voice.engine)
    rate_of = getattr(engine, "sample_rate", None)
    return int(rate_of()) if callable(rate_of) else 22050


def _level(samples: np.ndarray, volume: float) -> np.ndarray:
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak < 1e-4:
        return samples.astype(np.float32)
    return np.clip(samples * (SEGMENT_PEAK * volume / peak), -1.0, 1.0).astype(np.float32)


def _shift_word(word: WordTiming, offset: float, source: str | None) -> WordTiming:
    written = source[word.source_start:word.source_end] if source else ""
    return WordTiming(
        word=written or word.word,
        start=round(word.start + offset, 4),
        end=round(word.end + offset, 4),
        source_start=word.source_start,
        source_end=word.source_end,
    )


_LATIN_WORDS = re.compile(r"^[A-Za-z\u00c0-\u024f'’\- .]+$")


def phonetic_symbols(word: str, lang: str = "en") -> dict:
    """IPA of a word or short phrase from espeak: {"word", "lang", "ipa", "voice"} (+ "ipa_us"/"ipa_gb" for en)."""
    text = (word or "").strip()
    if not text:
        raise SpeechError("word is empty", field="word", code="empty")
    if len(text) > MAX_PHONETIC_CHARS:
        raise SpeechError(f"word is longer than {MAX_PHONETIC_CHARS} characters", field="word", code="too_long")
    language = catalog.normalize_lang(lang)
    if language == "en" and not _LATIN_WORDS.match(text):
        position = next((i for i, ch in enumerate(text) if not _LATIN_WORDS.match(ch)), None)
        raise SpeechError("English phonetics need Latin letters", field="word", position=position, code="invalid")
    voice = catalog.default_voice(language)
    engine_voice = voice.engine_voice.split("+")[0] if voice.engine == "espeak" else _espeak_name(language)
    result = {"word": text, "lang": language, "voice": engine_voice, "ipa": _ipa(text, engine_voice)}
    if language == "en":
        result["ipa_us"] = _ipa(text, "en-us")
        result["ipa_gb"] = _ipa(text, "en")
    return result


def _espeak_name(language: str) -> str:
    return {"zh": "cmn", "en": "en-us"}.get(language, language)


def _ipa(text: str, engine_voice: str) -> str:
    from .engines import espeak

    return re.sub(r"\([a-z\-]+\)", "", espeak.text_to_phonemes(text, engine_voice)).strip()


def first_chunk_latency(text: str, voice_id: str, options: SynthesisOptions | None = None) -> float:
    """Seconds from calling `stream` to holding its first chunk (used by the benchmark)."""
    began = time.perf_counter()
    next(iter(stream(text, voice_id=voice_id, options=options)))
    return time.perf_counter() - began
