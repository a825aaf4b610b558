"""Speech engines: each turns one Segment into float audio plus word/phoneme timings.

An engine is any object with
    name: str
    synthesize(segment: Segment, voice: VoiceInfo, prosody: Prosody) -> EngineResult
Timings in an EngineResult are seconds from the start of that segment's audio; `synth` offsets them.
Engines are created lazily, once per process, from the factories registered here
(`register_engine("myengine", factory)` lets an operator plug in another local-model engine).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..types import PhonemeTiming, Prosody, Segment, SpeechError, VoiceInfo, WordTiming


@dataclass
class EngineResult:
    audio: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    words: list[WordTiming] = field(default_factory=list)
    phonemes: list[PhonemeTiming] = field(default_factory=list)


@dataclass(frozen=True)
class WordEvent:
    """An engine's word: character range in the text it read, and when it is spoken (seconds)."""

    text_start: int
    text_end: int
    start: float
    end: float


class Engine(Protocol):
    name: str

    def synthesize(self, segment: Segment, voice: VoiceInfo, prosody: Prosody) -> EngineResult: ...


_FACTORIES: dict[str, Callable[[], Engine]] = {}
_INSTANCES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def register_engine(name: str, factory: Callable[[], Engine]) -> None:
    """Register (or replace) an engine factory; the factory is called once, on first use."""
    with _LOCK:
        _FACTORIES[name] = factory
        _INSTANCES.pop(name, None)


def get_engine(name: str) -> Engine:
    with _LOCK:
        engine = _INSTANCES.get(name)
        if engine is None:
            factory = _FACTORIES.get(name)
            if factory is None:
                raise SpeechError(f"no speech engine named {name!r}", field="voice_id", code="unknown_engine")
            engine = _INSTANCES[name] = factory()
        return engine


def _espeak_factory() -> Engine:
    from .espeak import EspeakEngine

    return EspeakEngine()


def _piper_factory() -> Engine:
    from .piper import PiperEngine

    return PiperEngine()


register_engine("espeak", _espeak_factory)
register_engine("piper", _piper_factory)


_WORD_PATTERN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff]|[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def default_word_spans(segment: Segment) -> list[tuple[int, int, int, int]]:
    """Word spans when the front end gave none: words (CJK: single characters) at source_start + offset."""
    spans = []
    for match in _WORD_PATTERN.finditer(segment.text):
        source_start = min(segment.source_start + match.start(), segment.source_end)
        source_end = min(segment.source_start + match.end(), segment.source_end)
        spans.append((match.start(), match.end(), source_start, source_end))
    return spans


def map_word_timings(
    segment: Segment, events: list[WordEvent], duration: float, speech: tuple[float, float] | None = None
) -> list[WordTiming]:
    """Time each word of `segment.word_spans` (default: `default_word_spans`) from the engine's word events.

    A word takes the time of the events overlapping it; consecutive words that overlap the very same
    events (an engine word covering several caller words, e.g. a CJK word of two characters) share that
    time in proportion to their length. Without events (the engine gives none, or read explicit
    phonemes), the spoken part of the audio (`speech`, default the whole) is shared the same way.
    """
    spans = segment.word_spans or default_word_spans(segment)
    if not spans:
        return []
    if not events:
        return _proportional(segment, spans, speech or (0.0, duration))
    timings: list[WordTiming] = []
    previous_end = 0.0
    for group, (start, end) in _group_by_events(spans, events):
        start = max(start, previous_end)
        group_timings = _proportional(segment, group, (start, max(start, end)))
        timings.extend(group_timings)
        previous_end = group_timings[-1].end
    return _trim_last(timings, speech)


def _group_by_events(spans, events: list[WordEvent]):
    """Consecutive spans with the same overlapping events, with those events' time range."""
    groups: list[tuple[list, tuple[float, float] | None, tuple[int, ...]]] = []
    for span in spans:
        text_start, text_end = span[0], span[1]
        keys = tuple(i for i, e in enumerate(events) if e.text_start < text_end and e.text_end > text_start)
        if groups and groups[-1][2] == keys:
            groups[-1][0].append(span)
            continue
        time_range = (min(events[i].start for i in keys), max(events[i].end for i in keys)) if keys else None
        groups.append(([span], time_range, keys))
    resolved = []
    for group, time_range, _keys in groups:
        if time_range is None:  # no event: squeeze in at the end of the previous group
            previous = resolved[-1][1][1] if resolved else 0.0
            time_range = (previous, previous)
        resolved.append((group, time_range))
    return resolved


def _proportional(segment: Segment, spans, speech: tuple[float, float]) -> list[WordTiming]:
    weights = [max(1, text_end - text_start) for text_start, text_end, _, _ in spans]
    total = float(sum(weights))
    begin, finish = speech
    timings = []
    cursor = begin
    for (text_start, text_end, source_start, source_end), weight in zip(spans, weights, strict=True):
        end = cursor + (finish - begin) * weight / total
        timings.append(_timing(segment, text_start, text_end, source_start, source_end, cursor, end))
        cursor = end
    return timings


def proportional_events(weights: list[float], speech: tuple[float, float], spans) -> list[WordEvent]:
    """Events for `spans` (text_start, text_end, ...) sharing the `speech` interval by `weights`."""
    total = float(sum(weights)) or 1.0
    begin, finish = speech
    cursor = begin
    events = []
    for (text_start, text_end, *_rest), weight in zip(spans, weights, strict=True):
        end = cursor + (finish - begin) * weight / total
        events.append(WordEvent(text_start, text_end, cursor, end))
        cursor = end
    return events


def _timing(segment: Segment, text_start, text_end, source_start, source_end, start, end) -> WordTiming:
    return WordTiming(
        word=segment.text[text_start:text_end],
        start=round(float(start), 4),
        end=round(float(end), 4),
        source_start=source_start,
        source_end=source_end,
    )


def _trim_last(timings: list[WordTiming], speech: tuple[float, float] | None) -> list[WordTiming]:
    """The last word event runs to the end of the audio; stop it where the sound stops."""
    if not timings or speech is None:
        return timings
    last = timings[-1]
    end = max(last.start, min(last.end, round(speech[1] + 0.02, 4)))
    timings[-1] = WordTiming(last.word, last.start, end, last.source_start, last.source_end)
    return timings
