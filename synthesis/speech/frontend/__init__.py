"""The TTS text front end: SSML, custom readings, normalization and segmentation (Django-free).

    prepare(text) -> [Sentence]      what the engines read, sentence by sentence
    split_sentences(text) -> [str]   a plain sentence splitter
    detect_language(text) -> str     the dominant language of a text, by script

Order of work: SSML (when asked, or when the text starts with <speak or <?xml) is parsed into chunks; custom
readings replace words; numbers, dates, money, units, abbreviations and acronyms are spelled out in the
language around them; the result is cut into sentences and, within a sentence, into runs of one language.
Every spoken word keeps the span of the caller's input it came from.
"""

from collections.abc import Mapping

from ..types import MAX_TEXT_CHARS, Sentence, SpeechError
from . import say_as
from .chunks import FIXED, SAY_AS, SUB, TEXT, Chunk
from .normalize import context_language, normalize
from .readings import compile_readings
from .scripts import detect_language, language_for_script, normalize_lang, script_of
from .segment import build_sentences, split_sentences
from .ssml import parse_ssml
from .text_map import MappedText

__all__ = ["prepare", "split_sentences", "detect_language"]


def prepare(
    text: str,
    *,
    ssml: bool | None = None,
    default_lang: str = "zh",
    readings: Mapping[str, str] | None = None,
) -> list[Sentence]:
    """Sentences ready for an engine. Raises SpeechError (field "text", with a position) on bad input."""
    _check_length(text)
    lang = normalize_lang(default_lang or "")
    if lang is None:
        raise SpeechError(f"unknown language '{default_lang}'", field="default_lang")
    if ssml is None:
        ssml = text.lstrip().startswith(("<speak", "<?xml"))
    if ssml:
        chunks = parse_ssml(text, lang)
    else:
        chunks = [Chunk(MappedText.verbatim(text), TEXT, lang, newline_ends_sentence=True,
                        source_start=0, source_end=len(text))]
    sentences = build_sentences(_spelled_out(chunks, compile_readings(readings)), lang)
    if not sentences:
        raise SpeechError("text has nothing to read (no words, digits or breaks)", field="text", position=0)
    return sentences


def _check_length(text: str) -> None:
    if not isinstance(text, str):
        raise SpeechError("text must be a string", field="text", position=0)
    if len(text) > MAX_TEXT_CHARS:
        raise SpeechError(f"text is too long: {len(text):,} characters, the limit is {MAX_TEXT_CHARS:,}",
                          field="text", position=MAX_TEXT_CHARS)
    if not text.strip():
        raise SpeechError("text is empty", field="text", position=0)


def _spelled_out(chunks: list[Chunk], readings) -> list[Chunk]:
    """Custom readings, then normalization of every chunk (say-as and sub read as instructed)."""
    if readings:
        chunks = [chunk.with_text(readings.apply(chunk.text)) if chunk.kind == TEXT else chunk for chunk in chunks]
    context = "".join(chunk.text.text for chunk in chunks)
    spelled, offset = [], 0
    for chunk in chunks:
        spelled.append(_spell_out(chunk, context, offset))
        offset += len(chunk.text)
    return spelled


def _spell_out(chunk: Chunk, context: str, offset: int) -> Chunk:
    if chunk.kind == TEXT:
        return chunk.with_text(normalize(chunk.text, context, offset, chunk.lang))
    if chunk.kind == SUB:
        return chunk.with_text(normalize(chunk.text, context, offset, chunk.lang), FIXED)
    if chunk.kind == SAY_AS:
        lang = _say_as_language(chunk, context, offset)
        words = say_as.interpret(chunk.text.text, chunk.interpret_as, chunk.format, lang)
        if words is None:
            return chunk.with_text(normalize(chunk.text, context, offset, chunk.lang), FIXED)
        span = chunk.text.source_span() or (chunk.source_start, chunk.source_end)
        return chunk.with_text(MappedText.spanning(words, *span), FIXED)
    return chunk


def _say_as_language(chunk: Chunk, context: str, offset: int) -> str:
    """The language of the say-as content's own letters (not Latin digits' neighbours), else of its surroundings."""
    scripts = [script for script in map(script_of, chunk.text.text) if script]
    if scripts and chunk.interpret_as not in ("characters", "spell-out", "verbatim"):
        return language_for_script(max(set(scripts), key=scripts.count), chunk.lang)
    return context_language(context, offset, offset + len(chunk.text), chunk.lang)
