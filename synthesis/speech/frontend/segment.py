"""Segmentation: chunks -> sentences -> language runs -> Segments with word spans into the source."""

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from ..types import Prosody, Segment, Sentence
from .chunks import PAUSE, PHONEME, TEXT, Chunk
from .normalize_en import TITLES
from .scripts import CJK_CLASS, HAN, KANA, language_for_script, script_of
from .text_map import MappedText

MAX_SENTENCE_CHARS = 200
MIN_PIECE_CHARS = 20  # a long sentence is not cut into slivers shorter than this
_CLOSERS = "”’\"'」』）)\\]】》"
_SENTENCE_END = re.compile(rf"[。！？!?；;]+[{_CLOSERS}]*|\.+[{_CLOSERS}]*(?=\s|$)|\n")
_COMMA = re.compile(r"[，,、：:；;…—]+")
_SPACE = re.compile(r"\s+")
_TRAILING_WORD = re.compile(r"([A-Za-z]+(?:\.[A-Za-z]+)*)$")
# A period after these never ends a sentence (in text that was not normalized, e.g. split_sentences()).
_NEVER_FINAL = frozenset(word.lower() for word in TITLES) | {"e.g", "i.e", "vs", "st", "approx"}
_WORD = re.compile(rf"[{CJK_CLASS}]|(?:(?![{CJK_CLASS}])[^\W_])+(?:['’\-.](?:(?![{CJK_CLASS}])[^\W_])+)*")
_WHITESPACE = re.compile(r"\s+")
_UNTIDY = re.compile(r"\s\s|[^\S ]")


# --- sentence boundaries -----------------------------------------------------------------------------


def _period_ends_sentence(text: str, match: re.Match[str]) -> bool:
    word = _TRAILING_WORD.search(text, max(0, match.start() - 30), match.start())
    if not word:
        return True
    token = word[1]
    if len(token) == 1 and token.isupper():  # an initial: "J. K. Rowling"
        return False
    following = text[match.end():match.end() + 3]
    if token.lower() == "etc":
        return bool(re.match(r"\s*(?:$|[A-Z\"“])", following))
    if token.lower() == "no":  # "No. 5" is a number, "I said no." ends a sentence
        return not re.match(r"\s?\d", following)
    return token.lower() not in _NEVER_FINAL


def sentence_ends(text: str, *, newline_ends_sentence: bool = True) -> list[int]:
    """Offsets just after each sentence end in `text`."""
    ends = []
    for match in _SENTENCE_END.finditer(text):
        if match.group() == "\n" and not newline_ends_sentence:
            continue
        if match.group().startswith(".") and not _period_ends_sentence(text, match):
            continue
        ends.append(match.end())
    return ends


def split_sentences(text: str) -> list[str]:
    """Plain sentence splitter: sentences of `text`, stripped, empty ones dropped."""
    sentences, start = [], 0
    for end in [*sentence_ends(text), len(text)]:
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    return sentences


def _sentence_chunks(chunks: list[Chunk]) -> list[list[Chunk]]:
    sentences: list[list[Chunk]] = []
    current: list[Chunk] = []
    for chunk in chunks:
        if chunk.sentence_start and current:
            sentences.append(current)
            current = []
        if chunk.kind != TEXT:
            current.append(chunk)
            continue
        start = 0
        for end in sentence_ends(chunk.text.text, newline_ends_sentence=chunk.newline_ends_sentence):
            current.append(chunk.sliced(start, end))
            sentences.append(current)
            current, start = [], end
        if start < len(chunk.text):
            current.append(chunk.sliced(start, len(chunk.text)))
    if current:
        sentences.append(current)
    return sentences


# --- whitespace and long sentences -------------------------------------------------------------------


def _tidy(chunks: list[Chunk]) -> list[Chunk]:
    """Collapse runs of whitespace (also across chunks) and trim the sentence's ends."""
    tidy: list[Chunk] = []
    after_space = True
    last_spoken = max((i for i, chunk in enumerate(chunks) if chunk.kind != PAUSE), default=-1)
    for index, chunk in enumerate(chunks):
        if chunk.kind == PAUSE:
            tidy.append(chunk)
            continue
        text = chunk.text
        start = len(text) - len(text.text.lstrip()) if after_space else 0
        end = len(text.text.rstrip()) if index == last_spoken else len(text)
        if start or end < len(text):
            text = text.slice(start, max(start, end))
        if _UNTIDY.search(text.text):
            text = text.rewrite(_WHITESPACE, lambda match: " " if match.group() != " " else None)
        if text.text or chunk.kind == PHONEME:
            tidy.append(chunk.with_text(text))
            after_space = text.text.endswith(" ") if text.text else after_space
    return tidy


def _cut_positions(text: str, can_cut) -> list[int]:
    """Where to cut a long sentence: after the last comma in each window, else at a space, else anywhere."""
    cuts, start = [], 0
    while len(text) - start > MAX_SENTENCE_CHARS:
        window = range(start + MIN_PIECE_CHARS, start + MAX_SENTENCE_CHARS + 1)
        commas = [m.end() for m in _COMMA.finditer(text, window.start, window.stop) if can_cut(m.end())]
        spaces = [m.start() for m in _SPACE.finditer(text, window.start, window.stop) if can_cut(m.start())]
        anywhere = [next((p for p in range(window.stop - 1, len(text)) if can_cut(p)), len(text))]
        cut = (commas or spaces or anywhere)[-1]
        if cut >= len(text):
            break
        cuts.append(cut)
        start = cut
    return cuts


def _split_long(chunks: list[Chunk]) -> list[list[Chunk]]:
    text = "".join(chunk.text.text for chunk in chunks)
    if len(text) <= MAX_SENTENCE_CHARS:
        return [chunks]
    starts, offset = [], 0
    for chunk in chunks:
        starts.append(offset)
        offset += len(chunk.text)

    def can_cut(position: int) -> bool:
        index = bisect_right(starts, position) - 1
        return chunks[index].kind == TEXT or position == starts[index]

    pieces: list[list[Chunk]] = [[]]
    cuts = _cut_positions(text, can_cut)
    for chunk, chunk_start in zip(chunks, starts, strict=True):
        chunk_end = chunk_start + len(chunk.text)
        local = 0
        for cut in (c for c in cuts if chunk_start <= c < chunk_end):
            if cut > chunk_start:
                pieces[-1].append(chunk.sliced(local, cut - chunk_start))
            pieces.append([])
            local = cut - chunk_start
        if local < len(chunk.text) or (chunk_start == chunk_end):
            pieces[-1].append(chunk.sliced(local, len(chunk.text)))
    return [piece for piece in pieces if piece]


# --- language runs and segments ----------------------------------------------------------------------


def _phoneme_lang(chunk: Chunk) -> str:
    if chunk.alphabet == "pinyin":
        return "zh"
    scripts = [script for script in map(script_of, chunk.text.text) if script]
    return language_for_script(scripts[0], chunk.lang) if scripts else chunk.lang


def _char_languages(chunk: Chunk, han_as_japanese: bool) -> list[str | None]:
    languages: list[str | None] = []
    for char in chunk.text.text:
        script = script_of(char)
        if script is None:
            languages.append(None)
        elif script == HAN and han_as_japanese:
            languages.append("ja")
        else:
            languages.append(language_for_script(script, chunk.lang))
    return languages


def _filled(languages: list[str | None], fallback: str) -> list[str]:
    """Digits, punctuation and spaces join the run before them (or after them, at the start)."""
    first = next((lang for lang in languages if lang), fallback)
    filled, current = [], first
    for lang in languages:
        current = lang or current
        filled.append(current)
    return filled


def _runs(chunks: list[Chunk]) -> list[tuple[Chunk, int, int, str]]:
    """(chunk, start, end, lang) runs of one sentence, in order."""
    han_as_japanese = any(script_of(char) == KANA for chunk in chunks for char in chunk.text.text)
    runs: list[tuple[Chunk, int, int, str]] = []
    last_lang: str | None = None
    last_context: str | None = None
    for chunk in chunks:
        if chunk.kind == PAUSE:
            runs.append((chunk, 0, 0, last_lang or chunk.lang))
            continue
        if chunk.kind == PHONEME:
            last_lang, last_context = _phoneme_lang(chunk), chunk.lang
            runs.append((chunk, 0, len(chunk.text), last_lang))
            continue
        languages = _char_languages(chunk, han_as_japanese)
        fallback = chunk.lang
        if not any(languages):  # only digits and punctuation: join the run before (same xml:lang) or after
            if last_context is None:
                fallback = _next_language(chunks, chunk, han_as_japanese) or chunk.lang
            elif last_context == chunk.lang:
                fallback = last_lang or chunk.lang
        last_context = chunk.lang
        filled = _filled(languages, fallback)
        start = 0
        for index in range(1, len(filled) + 1):
            if index == len(filled) or filled[index] != filled[start]:
                runs.append((chunk, start, index, filled[start]))
                start = index
        last_lang = filled[-1] if filled else last_lang
    return runs


def _next_language(chunks: list[Chunk], after: Chunk, han_as_japanese: bool) -> str | None:
    later = chunks[next(i for i, chunk in enumerate(chunks) if chunk is after) + 1:]
    for chunk in later:
        if chunk.kind != PAUSE:
            lang = next((lang for lang in _char_languages(chunk, han_as_japanese) if lang), None)
            if lang:
                return lang
    return None


@dataclass
class _SegmentDraft:
    lang: str
    prosody: Prosody
    pause_before: float
    phonemes: str | None = None
    alphabet: str | None = None
    parts: list[MappedText] = field(default_factory=list)
    element_span: tuple[int, int] | None = None

    def build(self) -> Segment:
        mapped = MappedText.join(self.parts)
        start, end = _spoken_span(mapped) or self.element_span
        if self.phonemes is not None:  # the <phoneme> element itself is spoken, even when empty
            start, end = min(start, self.element_span[0]), max(end, self.element_span[1])
        return Segment(
            text=mapped.text, lang=self.lang, prosody=self.prosody, pause_before=self.pause_before,
            phonemes=self.phonemes, alphabet=self.alphabet, word_spans=word_spans(mapped),
            source_start=start, source_end=end,
        )


def word_spans(mapped: MappedText) -> list[tuple[int, int, int, int]]:
    spans = []
    for word in _WORD.finditer(mapped.text):
        source_start, source_end = mapped.source_span(word.start(), word.end())
        spans.append((word.start(), word.end(), source_start, source_end))
    return spans


def _spoken_span(mapped: MappedText) -> tuple[int, int] | None:
    """Source span of the non-space characters."""
    text = mapped.text
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return mapped.source_span(start, end)


def _speakable(chunk: Chunk, text: str) -> bool:
    return chunk.kind == PHONEME or any(char.isalnum() for char in text)


class _SentenceBuilder:
    """Turns sentences of chunks into Sentences; a pause carries over to the next spoken segment."""

    def __init__(self, default_lang: str):
        self.default_lang = default_lang
        self.pause = 0.0
        self.pause_span: tuple[int, int] | None = None
        self.sentences: list[Sentence] = []

    def add(self, chunks: list[Chunk]) -> None:
        drafts: list[_SegmentDraft] = []
        prefix: list[MappedText] = []
        for chunk, start, end, lang in _runs(chunks):
            if chunk.kind == PAUSE:
                self.pause += chunk.pause
                self.pause_span = (chunk.source_start, chunk.source_end)
                continue
            text = chunk.text.slice(start, end)
            if not _speakable(chunk, text.text):
                (drafts[-1].parts if drafts else prefix).append(text)
                continue
            last = drafts[-1] if drafts else None
            if last and not self.pause and last.lang == lang and last.prosody == chunk.prosody and (
                    last.phonemes is None and chunk.kind != PHONEME):
                last.parts.append(text)
                continue
            draft = _SegmentDraft(lang, chunk.prosody, self.pause, chunk.phonemes, chunk.alphabet,
                                  [*prefix, text], (chunk.source_start, chunk.source_end))
            drafts.append(draft)
            prefix, self.pause = [], 0.0
        if drafts:
            self._append([draft.build() for draft in drafts])

    def _append(self, segments: list[Segment]) -> None:
        self.sentences.append(Sentence(
            segments=segments,
            source_start=min(segment.source_start for segment in segments),
            source_end=max(segment.source_end for segment in segments),
        ))

    def finish(self) -> list[Sentence]:
        """A pause after the last words becomes a silent segment of its own."""
        if self.pause and self.pause_span:
            lang = self.sentences[-1].segments[-1].lang if self.sentences else self.default_lang
            self._append([Segment(text="", lang=lang, source_start=self.pause_span[0],
                                  source_end=self.pause_span[1], pause_before=self.pause)])
            self.pause = 0.0
        return self.sentences


def build_sentences(chunks: list[Chunk], default_lang: str) -> list[Sentence]:
    builder = _SentenceBuilder(default_lang)
    for sentence in _sentence_chunks(chunks):
        for piece in _split_long(_tidy(sentence)):
            builder.add(piece)
    return builder.finish()
