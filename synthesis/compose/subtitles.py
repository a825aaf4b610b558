"""Subtitles: caption cues from word timings, the punctuation rules of SPEC section 2, SRT/VTT sidecars and
RGBA overlays for burned-in captions.

Flow: `words_from_tts` (TTS `AudioChunk`s / `SynthesisResult` / `WordTiming`s plus the script text) or
`words_from_asr` (a faster-whisper `Transcript`) gives `Word`s with times; `break_lines` groups them into `Cue`s
that fit a width in a font; `to_srt` / `to_vtt` write sidecars; `SubtitleTrack(cues, size, style).overlay_at(t)`
hands the compositor one cached RGBA frame overlay per cue.

Punctuation (SPEC section 2): the sentence marks 、，。：；！？… and , . : ; ! ? ... are removed; inside a line a mark
(or a run of marks and spaces) becomes one space, at the end of a line it is dropped (so at the end of a
paragraph too); everything else is kept: quotes, 《》, brackets, ·, ~ and dashes. ASCII marks that are part of a
token are not sentence punctuation: see `clean_subtitle_text`.
"""

from __future__ import annotations

import html
import math
import re
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthesis.photo.card import CardFontMissing, card_font
from synthesis.speech.frontend.scripts import CJK_CLASS

__all__ = [
    "MIN_CUE_S", "PAUSE_S", "CardFontMissing", "Cue", "SubtitleStyle", "SubtitleTrack", "Word", "break_lines",
    "clean_subtitle_text", "cues_for_style", "parse_srt", "render_cue", "to_srt", "to_vtt", "words_from_asr",
    "words_from_tts",
]  # fmt: skip

PAUSE_S = 0.3  # a silence longer than this between two words starts a new cue
MIN_CUE_S = 0.8  # a cue stays up at least this long when the next cue leaves room
PREFER_BREAK_SHARE = 0.5  # a line may end early at a sentence mark once it is this full

RGB = tuple[int, int, int]

# --- punctuation --------------------------------------------------------------------------------------------

_CJK = re.compile(f"[{CJK_CLASS}]")
# Sentence marks: Chinese 、，。：；！？… (plus the full-width ．and half-width ｡､ forms), English , . : ; ! ?
# and the ellipsis ("..." / "…" / "……" count as one mark; any run of marks collapses anyway).
_MARK = re.compile(r"\.{2,}|…+|[、，。：；！？．｡､,.:;!?]")
_ASCII_CONTEXT = frozenset(",.:;!?")  # marks that can be part of a token; the others always go
# Dotted abbreviations ("e.g", "i.e", "U.S"): the dot after them is part of the token.
_DOTTED = re.compile(r"(?:^|(?<=[^\w.]))(?:[A-Za-z]\.)+[A-Za-z]$")
# Title and list abbreviations whose dot is kept ("Mr. Smith", "etc."). "No." is left out ("No. I won't").
_ABBREVIATIONS = frozenset({
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Mt", "St", "Jr", "Sr", "Gen", "Capt", "Sgt", "Lt", "Col", "Gov", "Sen", "Rep",
    "vs", "etc", "approx", "Inc", "Ltd", "Co", "Corp", "Fig", "Vol", "Ch", "Jan", "Feb", "Mar", "Apr", "Aug",
    "Sep", "Sept", "Oct", "Nov", "Dec",
})  # fmt: skip
_LAST_TOKEN = re.compile(r"(?:^|(?<=[^\w.]))([A-Za-z]+)$")
# URLs keep every character but the marks that end them ("see https://x.com/a?b=1, then" keeps "?").
_URL = re.compile(r"(?:\b[A-Za-z][A-Za-z0-9+.\-]*://|\bwww\.)[^\s<>\"“”‘’()（）《》「」【】、，。：；！？…]+")
_URL_TAIL = re.compile(r"[.,:;!?]+$")
_OPENERS = "“‘《〈「『【〔（([［{｛"
_CLOSERS = "”’》〉」』】〕）)]］}｝"
# A closing quote or bracket that directly follows a removed mark takes the mark's place ("“好。”然后" ->
# "“好” 然后"); a straight quote closes when no letter follows it.
_CLOSER_AFTER_MARK = re.compile(rf"\x00+((?:[{re.escape(_CLOSERS)}]|[\"'](?!\w))+)")
_SPACES = re.compile(r"[\s\x00]+")


def _latin(ch: str) -> bool:
    """A letter or digit of a spaced script (not a CJK character)."""
    return ch.isalnum() and not _CJK.match(ch)


def _protected(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _URL.finditer(text):
        tail = _URL_TAIL.search(m.group())
        spans.append((m.start(), m.end() - (len(tail.group()) if tail else 0)))
    return spans


def _is_token_mark(text: str, i: int) -> bool:
    """Whether the one ASCII mark at text[i] belongs to a token rather than to the sentence."""
    ch = text[i]
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == ".":
        if prev and nxt and _latin(prev) and _latin(nxt):
            return True  # 3.14, Node.js, www.example.com, e.g inside "e.g."
        if nxt.isdigit() and not (prev and _latin(prev)):
            return True  # .5
        head = text[:i]
        if _DOTTED.search(head):
            return True  # e.g. / i.e. / U.S.
        last = _LAST_TOKEN.search(head)
        return bool(last and last.group(1) in _ABBREVIATIONS)
    if ch in ",:":
        return bool(prev and nxt and prev.isdigit() and nxt.isdigit())  # 1,000 / 10:30
    return False  # ! ? ; are always sentence marks outside URLs


def _mark_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each removed sentence mark in `text`."""
    protected = _protected(text) if ("/" in text or "www." in text) else []
    spans = []
    for m in _MARK.finditer(text):
        s, e = m.span()
        if any(a <= s < b for a, b in protected):
            continue
        if e - s == 1 and m.group() in _ASCII_CONTEXT and _is_token_mark(text, s):
            continue
        spans.append((s, e))
    return spans


def _clean_line(text: str) -> str:
    spans = _mark_spans(text)
    if spans:
        parts, last = [], 0
        for s, e in spans:
            parts += [text[last:s], "\x00"]
            last = e
        parts.append(text[last:])
        text = _CLOSER_AFTER_MARK.sub(lambda m: m.group(1) + "\x00", "".join(parts))
    return _SPACES.sub(" ", text).strip()


def clean_subtitle_text(text: str, *, end_of_paragraph: bool) -> str:
    """`text` as a caption shows it (SPEC section 2).

    - The sentence marks 、，。：；！？… and , . : ; ! ? ... are removed: inside a line a mark becomes one space, and
      a run of marks and spaces ("！？", "...", "……", ", ") becomes one space; at the end of a paragraph the mark
      is dropped. Quotes, 《》 and 〈〉, brackets, the middle dot ·, tildes ~ and dashes are kept.
    - A closing quote or bracket right after a removed mark moves before the space: 他说：“好。”然后 ->
      "他说 “好” 然后".
    - ASCII marks that are part of a token stay: a "." between two letters/digits (3.14, Node.js, www.x.com),
      before a digit (.5), after a dotted abbreviation (e.g., i.e., U.S.) or after a title/list abbreviation
      (Mr., Dr., vs., etc., Inc.; the dot is kept even at the end of a paragraph); a "," or ":" between two digits
      (1,000, 10:30); every character of a URL (http(s)://..., www...) except the marks that end it. "!", "?" and
      ";" are always sentence marks outside URLs, the Chinese marks always. Initials ("J. K. Rowling") are not
      recognised: their dots become spaces.
    - The result has no leading or trailing space and single spaces only; a "\\n" in `text` separates
      paragraphs (each cleaned on its own, empty ones left out).

    `end_of_paragraph` says whether the text ends its paragraph. A displayed line never ends with a space, so a
    mark at the end of a line that continues the paragraph (replaced by a space, then trimmed) is not shown
    either: the flag documents the caller's case and does not change the result.
    """
    del end_of_paragraph  # both cases drop a mark at the end of the text (see above)
    paragraphs = (_clean_line(p) for p in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(p for p in paragraphs if p)


def _ends_clause(text: str) -> bool:
    """Whether a removed sentence mark follows the last letter of `text` (a good place to break)."""
    last = max((i for i, ch in enumerate(text) if ch.isalnum()), default=-1)
    return any(s > last for s, _ in _mark_spans(text))


# --- words --------------------------------------------------------------------------------------------------


@dataclass
class Word:
    """A spoken word and its time span (seconds). Chinese/Japanese characters are words on their own.

    `text` is shown as written: it may carry the punctuation and closing quotes that follow the word and the
    opening quotes or brackets before it ("“小", "明”！", "Hello, "), and a trailing space when it came from
    the script. `paragraph_end`: the word ends a paragraph (a cue never runs past it).
    `space_before`: whether a space separates it from the previous word when they share a line; None (the
    default) guesses: a space unless a CJK character, an opening bracket before it or a mark or closing
    bracket at its start is involved, or either side already has one. `words_from_tts` with a source sets
    False: its texts carry the script's own spacing.
    """

    text: str
    start: float
    end: float
    paragraph_end: bool = False
    space_before: bool | None = None


_SPLIT = re.compile(
    rf"[^\w]*(?:[{CJK_CLASS}]|(?:(?![{CJK_CLASS}])\w)+(?:[.'’\-:,](?:(?![{CJK_CLASS}])\w)+)*)[^\w]*"
)
_TAG = re.compile(r"<[^<>]*>")


def _split_word(word: Word) -> list[Word]:
    """A word holding several CJK characters (ASR gives "大家好") becomes one word a character, the time shared
    by letters; whitespace also splits (ASR segments)."""
    pieces: list[tuple[str, bool | None]] = []  # (text, space before)
    for chunk in word.text.split():
        found = [m.group() for m in _SPLIT.finditer(chunk)]
        if len(found) > 1 and "".join(found) == chunk and _CJK.search(chunk):
            pieces += [(piece, not k and None) for k, piece in enumerate(found)]
        else:
            pieces.append((chunk, None))
    if len(pieces) <= 1:
        return [word]
    if word.text[-1].isspace():
        pieces[-1] = (pieces[-1][0] + " ", pieces[-1][1])
    weights = [max(1, sum(ch.isalnum() for ch in p)) for p, _ in pieces]
    total = float(sum(weights))
    out, t = [], word.start
    for i, ((piece, space), weight) in enumerate(zip(pieces, weights, strict=True)):
        last = i == len(pieces) - 1
        end = word.end if last else t + (word.end - word.start) * weight / total
        out.append(Word(piece, t, end, word.paragraph_end and last, word.space_before if i == 0 else space))
        t = end
    return out


def _tidy(words: Iterable[Word]) -> list[Word]:
    """Sorted, monotonic times; punctuation-only words glued to their neighbour; CJK split into characters."""
    out: list[Word] = []
    pending = ""  # opening quotes or brackets before the next word
    for word in words:
        bare = word.text.strip()
        if not bare:
            continue
        if all(ch in _OPENERS for ch in bare):
            pending += bare
            continue
        if out and all(ch in _CLOSERS or _MARK.match(ch) or ch in "\"'" for ch in bare):
            prev = out[-1]
            out[-1] = Word(prev.text.rstrip() + bare, prev.start, max(prev.end, word.end),
                           prev.paragraph_end or word.paragraph_end, prev.space_before)
            continue
        if pending:
            word = Word(pending + word.text.lstrip(), word.start, word.end, word.paragraph_end, word.space_before)
            pending = ""
        out.extend(_split_word(word))
    out.sort(key=lambda w: w.start)
    t = -math.inf
    for i, w in enumerate(out):
        start = max(float(w.start), t, 0.0)
        out[i] = Word(w.text, start, max(float(w.end), start), w.paragraph_end, w.space_before)
        t = start
    if out:
        out[-1].paragraph_end = True
    return out


def _gap_split(gap: str) -> int:
    """Where the text between two words splits: before it stays with the previous word (marks, closing quotes,
    spaces), from it on goes to the next (opening quotes and brackets)."""
    for i, ch in enumerate(gap):
        if ch in _OPENERS:
            return i
        if ch in "\"'" and i == len(gap) - 1 and (i == 0 or not gap[i - 1].isalnum()):
            return i
    return len(gap)


def _timings(timings) -> list:
    words = getattr(timings, "words", None)
    if words is not None and not hasattr(timings, "word"):
        return list(words)  # a SynthesisResult or one AudioChunk
    out = []
    for item in timings:
        if hasattr(item, "word"):
            out.append(item)
        else:
            out.extend(getattr(item, "words", None) or [])
    return out


def words_from_tts(timings, source: str | None = None, *, ssml: bool = False) -> list[Word]:
    """Words with times from the speech engine: a `SynthesisResult`, `AudioChunk`s (from `synth.stream`) or
    `WordTiming`s (the `need_timestamp` timings). Times are seconds from the utterance start.

    The engine times each spoken word (Chinese: each character) and points it at `source_start:source_end` of
    the input; several spoken words that read one written token ("3.14" -> "three point one four", "OK" ->
    "O K") share a span and become one word. Punctuation is not spoken, so pass `source` (the text, or the SSML
    with `ssml=True`, that was synthesized) to get it back: the text between two words goes to the previous
    word (marks, closing quotes, spaces) or the next (opening quotes and brackets); a newline there ends a
    paragraph; SSML tags there are dropped. Without `source` the words carry no punctuation.
    """
    items = [t for t in _timings(timings) if getattr(t, "word", "")]
    merged: list[list] = []  # [text, start, end, source_start, source_end]
    for t in items:
        span = (int(t.source_start), int(t.source_end))
        if merged and span[1] > span[0] and (merged[-1][3], merged[-1][4]) == span:
            merged[-1][2] = max(merged[-1][2], float(t.end))
            continue
        merged.append([t.word, float(t.start), float(t.end), *span])
    if source is None or not merged:
        return _tidy(Word(m[0], m[1], m[2]) for m in merged)  # no spacing known: guessed

    def gap_text(a: int, b: int) -> str:
        gap = source[a:b] if b > a else ""
        if ssml and gap:
            gap = html.unescape(_TAG.sub(" ", gap))
        return gap

    words: list[Word] = []
    lead = gap_text(0, merged[0][3])
    opening = lead[_gap_split(lead):].lstrip()
    for i, (text, start, end, s0, s1) in enumerate(merged):
        written = source[s0:s1] if 0 <= s0 < s1 <= len(source) else text
        if ssml:
            written = html.unescape(_TAG.sub("", written)) or text
        if i + 1 < len(merged):
            gap = gap_text(s1, merged[i + 1][3])
        else:
            rest = gap_text(s1, len(source))
            gap = re.match(r"[^\w]*", rest).group()  # the marks after the last word, not unspoken text
        cut = _gap_split(gap)
        trailing, next_opening = gap[:cut], gap[cut:]
        paragraph_end = "\n" in trailing or "\n" in next_opening
        trailing = re.sub(r"\s+", " ", trailing)
        words.append(Word(opening + written + trailing, start, end, paragraph_end, False))
        opening = next_opening.strip()
    return _tidy(words)


def words_from_asr(transcript) -> list[Word]:
    """Words with times from speech recognition (audio scenes): a `synthesis.speech.asr.Transcript` (its word
    timings when it was run with `word_timestamps=True`, else its segments, their time shared by letters) or
    a list of (start, end, text). Whisper's punctuation stays with the words; CJK words are split into
    characters."""
    items = getattr(transcript, "words", transcript)
    if items is None:
        items = getattr(transcript, "segments", None) or []
    return _tidy(Word(str(text).strip(), float(start), float(end)) for start, end, text in items)


# --- cues ---------------------------------------------------------------------------------------------------


@dataclass
class Cue:
    """One caption: its lines (already cleaned) shown from `start` to `end` (seconds)."""

    start: float
    end: float
    lines: list[str]


@dataclass
class _Tok:
    text: str
    start: float
    end: float
    paragraph_end: bool
    space: bool | None  # a space before it: True, False, None to guess (see Word.space_before)
    clause_end: bool = False


def _needs_space(a: str, b: str, space: bool | None) -> bool:
    if not a or not b or a[-1].isspace() or b[0].isspace() or space is False:
        return False
    if space:
        return True
    x, y = a[-1], b[0]
    return not (_CJK.match(x) or _CJK.match(y) or x in _OPENERS or y in _CLOSERS or _MARK.match(y))


def _raw(toks: Sequence[_Tok]) -> str:
    parts: list[str] = []
    for i, tok in enumerate(toks):
        if i and _needs_space(parts[-1], tok.text, tok.space):
            parts.append(" ")
        parts.append(tok.text)
    return "".join(parts)


def _line_text(toks: Sequence[_Tok], end_of_paragraph: bool = False) -> str:
    return clean_subtitle_text(_raw(toks), end_of_paragraph=end_of_paragraph)


def _cut_word(tok: _Tok, font, max_w: float) -> list[_Tok]:
    """A word wider than the line, cut between characters into pieces that fit (time shared by length)."""
    pieces, cur = [], ""
    for ch in tok.text:
        if cur.strip() and font.getlength(clean_subtitle_text(cur + ch, end_of_paragraph=False)) > max_w:
            pieces.append(cur)
            cur = ""
        cur += ch
    pieces.append(cur)
    total = float(sum(len(p) for p in pieces))
    out, t = [], tok.start
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        end = tok.end if last else t + (tok.end - tok.start) * len(piece) / total
        out.append(_Tok(piece, t, end, tok.paragraph_end and last, tok.space if i == 0 else False,
                        tok.clause_end and last))
        t = end
    return out


def _wrap(phrase: list[_Tok], font, max_w: float) -> list[list[_Tok]]:
    """Greedy lines of whole words; a full line ends at its last sentence mark when that keeps it at least
    half full and the rest still fits."""

    def fits(toks: Sequence[_Tok]) -> bool:
        return font.getlength(_line_text(toks)) <= max_w

    lines: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for tok in phrase:
        if not cur or fits([*cur, tok]):
            cur.append(tok)
            continue
        cut = len(cur)
        for i in range(len(cur) - 1, 0, -1):
            if cur[i - 1].clause_end:
                if font.getlength(_line_text(cur[:i])) >= PREFER_BREAK_SHARE * max_w and fits([*cur[i:], tok]):
                    cut = i
                break
        lines.append(cur[:cut])
        cur = [*cur[cut:], tok]
    if cur:
        lines.append(cur)
    return lines


def _group(lines: list[list[_Tok]], max_lines: int) -> list[list[list[_Tok]]]:
    """Lines into cues of at most `max_lines`; a cue that would end mid-clause ends after an earlier line that
    ends at a sentence mark instead."""
    cues, i = [], 0
    while i < len(lines):
        group = lines[i:i + max_lines]
        if len(group) == max_lines and i + max_lines < len(lines) and not group[-1][-1].clause_end:
            for k in range(len(group) - 1, 0, -1):
                if group[k - 1][-1].clause_end:
                    group = group[:k]
                    break
        cues.append(group)
        i += len(group)
    return cues


def break_lines(words: Iterable[Word], *, max_width_px: float, font: ImageFont.FreeTypeFont,
                max_lines: int = 2) -> list[Cue]:
    """Caption cues of at most `max_lines` lines, each no wider than `max_width_px` in `font` (Pillow's
    `getlength` of the cleaned line; leave room for an outline yourself, or use `cues_for_style`).

    English breaks at spaces (a word wider than a line is cut between letters), Chinese between characters;
    punctuation and closing quotes never start a line and opening quotes never end one (they travel with their
    word). A full line ends early at a sentence mark when that keeps it at least half full, and a cue that
    would end mid-clause ends after an earlier line that closes one. A silence over PAUSE_S between two words
    or a paragraph end always ends the cue. Times: a cue runs from its first word's start to its last word's
    end, bridges a gap of at most PAUSE_S to the next cue (no blinking in running speech), lasts at least
    MIN_CUE_S when the next cue starts late enough, and never overlaps the next one.
    Line text follows `clean_subtitle_text`.
    """
    if max_lines < 1:
        raise ValueError("max_lines must be at least 1")
    if not max_width_px or max_width_px <= 0:
        raise ValueError("max_width_px must be positive")
    toks: list[_Tok] = []
    for w in _tidy(words):
        tok = _Tok(w.text, w.start, w.end, w.paragraph_end, w.space_before,
                   w.paragraph_end or _ends_clause(w.text))
        if font.getlength(clean_subtitle_text(tok.text, end_of_paragraph=False)) > max_width_px:
            toks += _cut_word(tok, font, max_width_px)
        else:
            toks.append(tok)
    phrases: list[list[_Tok]] = []
    for i, tok in enumerate(toks):
        if i == 0 or toks[i - 1].paragraph_end or tok.start - toks[i - 1].end > PAUSE_S:
            phrases.append([])
        phrases[-1].append(tok)
    cues: list[Cue] = []
    for phrase in phrases:
        for group in _group(_wrap(phrase, font, max_width_px), max_lines):
            last = len(group) - 1
            lines = [_line_text(line, k == last and line[-1].paragraph_end) for k, line in enumerate(group)]
            lines = [line for line in lines if line]
            if lines:
                cues.append(Cue(group[0][0].start, group[-1][-1].end, lines))
    return _settle_times(cues)


def _settle_times(cues: list[Cue]) -> list[Cue]:
    for i, cue in enumerate(cues):
        nxt = cues[i + 1].start if i + 1 < len(cues) else math.inf
        end = cue.end
        if nxt - end <= PAUSE_S:
            end = nxt
        end = min(max(end, cue.start + MIN_CUE_S), nxt)
        if end <= cue.start:  # two cues starting together (bad timings): keep the order, 1 ms each
            end = cue.start + 0.001
            cues[i + 1].start = max(cues[i + 1].start, end)
        cue.end = end
    return cues


# --- sidecar files ------------------------------------------------------------------------------------------


def _timestamp(t: float, sep: str) -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _shown(cues: Iterable[Cue]) -> list[tuple[Cue, list[str]]]:
    out = []
    for cue in cues:
        lines = [line.strip() for line in cue.lines if line and line.strip()]
        if lines:
            out.append((cue, lines))
    return out


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text: 1-based indices, "HH:MM:SS,mmm --> HH:MM:SS,mmm", a blank line between cues, ending with one
    newline (write it as UTF-8). Cues without text are skipped."""
    blocks = [f"{i}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n" + "\n".join(lines)
              for i, (cue, lines) in enumerate(_shown(cues), 1)]
    return "\n\n".join(blocks) + "\n" if blocks else ""


def to_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text: the "WEBVTT" header, then "HH:MM:SS.mmm --> HH:MM:SS.mmm" cues (& < > escaped), a blank
    line between blocks, ending with one newline (UTF-8)."""
    def esc(line: str) -> str:
        return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks = ["WEBVTT"] + [f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n"
                           + "\n".join(esc(line) for line in lines) for cue, lines in _shown(cues)]
    return "\n\n".join(blocks) + "\n"


_SRT_TIME = re.compile(r"(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})")


def _seconds(stamp: str) -> float:
    m = _SRT_TIME.fullmatch(stamp.strip())
    if not m:
        raise ValueError(f"not an SRT time: {stamp!r}")
    h, mi, s, ms = m.groups()
    return int(h) * 3600 + int(mi) * 60 + int(s) + int(ms.ljust(3, "0")) / 1000


def parse_srt(text: str) -> list[Cue]:
    """Cues of a SubRip text (BOM, CRLF and missing indices tolerated); ValueError on a bad timing line."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    cues = []
    for block in re.split(r"\n[ \t]*\n", text.strip()):
        rows = block.split("\n")
        if rows and "-->" not in rows[0]:
            rows = rows[1:]
        if not rows:
            continue
        start, _, end = rows[0].partition("-->")
        cues.append(Cue(_seconds(start), _seconds(end.split()[0] if end.split() else end), rows[1:]))
    return cues


# --- burned-in captions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubtitleStyle:
    """How burned-in captions look. Sizes are pixels of the output frame."""

    font_size: int = 48
    color: RGB = (255, 255, 255)
    stroke_color: RGB = (0, 0, 0)
    stroke_width: int = 3  # outline width (0: none)
    background: bool = False  # a rounded box behind the text
    background_color: RGB = (0, 0, 0)
    background_opacity: float = 0.5
    margin: float = 0.08  # distance of the text block from the bottom (or top) edge, as a share of the height
    position: str = "bottom"  # "bottom" or "top"
    side_margin: float = 0.05  # free space left and right of the longest line, a share of the width
    line_spacing: float = 1.3  # line height in font sizes
    bold: bool = False
    opacity: float = 1.0  # of the whole caption (text, outline and box)

    def __post_init__(self):
        if self.position not in ("bottom", "top"):
            raise ValueError("position must be 'bottom' or 'top'")
        if self.font_size < 6:
            raise ValueError("font_size must be at least 6 pixels")
        if not 0.0 <= self.background_opacity <= 1.0 or not 0.0 <= self.opacity <= 1.0:
            raise ValueError("opacities must be between 0 and 1")
        if not 0.0 <= self.margin < 0.5 or not 0.0 <= self.side_margin < 0.5:
            raise ValueError("margins must be shares between 0 and 0.5")

    def font(self) -> ImageFont.FreeTypeFont:
        """The caption font (Noto Sans CJK via card_font; CardFontMissing when no CJK font is installed)."""
        return card_font(self.font_size, self.bold)

    def padding(self) -> tuple[int, int]:
        """(x, y) padding of the background box around the text."""
        return (round(self.font_size * 0.35), round(self.font_size * 0.15)) if self.background else (0, 0)

    def max_text_width(self, frame_width: int) -> int:
        """The width to pass to `break_lines` for a frame `frame_width` wide (outline and box padding left out)."""
        room = frame_width * (1.0 - 2.0 * self.side_margin) - 2 * self.stroke_width - 2 * self.padding()[0]
        return max(self.font_size, int(room))


def cues_for_style(words: Iterable[Word], size: tuple[int, int], style: SubtitleStyle,
                   max_lines: int = 2) -> list[Cue]:
    """`break_lines` with the width and font a `SubtitleTrack` of this size and style will draw with."""
    return break_lines(words, max_width_px=style.max_text_width(int(size[0])), font=style.font(),
                       max_lines=max_lines)


def _solid(color: RGB, mask: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", mask.size, (*color, 255))
    layer.putalpha(mask)
    return layer


def render_cue(cue: Cue, size: tuple[int, int], style: SubtitleStyle | None = None) -> np.ndarray:
    """The cue drawn as an RGBA overlay of the whole frame, (H, W, 4) uint8, straight (not premultiplied)
    alpha: lines centred horizontally, the block `style.margin` from the bottom (or top), anti-aliased text
    with an outline and an optional translucent box; transparent elsewhere."""
    style = style or SubtitleStyle()
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError("size must be positive (width, height)")
    out = np.zeros((h, w, 4), dtype=np.uint8)
    lines = [line for line in cue.lines if line.strip()]
    if not lines:
        return out
    font = style.font()
    sw = max(0, int(style.stroke_width))
    line_h = round(style.font_size * style.line_spacing)
    pad_x, pad_y = style.padding()
    text_w = max(math.ceil(font.getlength(line)) for line in lines)
    block_w = min(w, text_w + 2 * sw + 2 * pad_x)
    block_h = len(lines) * line_h + 2 * sw + 2 * pad_y
    x0 = (w - block_w) // 2
    edge = round(style.margin * h)
    y0 = h - edge - block_h if style.position == "bottom" else edge
    y0 = max(0, min(h - block_h, y0)) if block_h <= h else 0

    block = Image.new("RGBA", (block_w, block_h), (0, 0, 0, 0))
    if style.background and style.background_opacity > 0:
        ss = 4
        radius = round(style.font_size * 0.2)
        big = Image.new("L", (block_w * ss, block_h * ss), 0)
        ImageDraw.Draw(big).rounded_rectangle((0, 0, block_w * ss - 1, block_h * ss - 1), radius * ss,
                                              fill=round(255 * style.background_opacity))
        block = Image.alpha_composite(block, _solid(style.background_color, big.reduce(ss)))
    fill_mask = Image.new("L", block.size, 0)
    stroke_mask = Image.new("L", block.size, 0)
    fill_draw, stroke_draw = ImageDraw.Draw(fill_mask), ImageDraw.Draw(stroke_mask)
    for i, line in enumerate(lines):
        xy = (block_w / 2, sw + pad_y + i * line_h + line_h / 2)
        fill_draw.text(xy, line, font=font, fill=255, anchor="mm")
        if sw:
            stroke_draw.text(xy, line, font=font, fill=255, anchor="mm", stroke_width=sw, stroke_fill=255)
    if sw:
        block = Image.alpha_composite(block, _solid(style.stroke_color, stroke_mask))
    block = Image.alpha_composite(block, _solid(style.color, fill_mask))
    arr = np.asarray(block)
    if style.opacity < 1.0:
        arr = arr.copy()
        arr[..., 3] = np.round(arr[..., 3] * style.opacity).astype(np.uint8)
    out[y0:y0 + min(block_h, h), x0:x0 + block_w] = arr[:min(block_h, h)]
    return out


class SubtitleTrack:
    """Cues ready for the compositor: `overlay_at(t)` is the RGBA overlay of the cue showing at `t` seconds
    (start <= t < end) or None. Overlays are drawn once and kept (the most recent `cache_size`, about
    W*H*4 bytes each); the same cue gives back the same read-only array object, so a frame loop costs one
    bisect per frame."""

    def __init__(self, cues: Iterable[Cue], size: tuple[int, int], style: SubtitleStyle | None = None,
                 cache_size: int = 4):
        self.cues = sorted((c for c in cues if any(line.strip() for line in c.lines)), key=lambda c: c.start)
        self.size = (int(size[0]), int(size[1]))
        self.style = style or SubtitleStyle()
        self._starts = [c.start for c in self.cues]
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = max(1, int(cache_size))

    def __len__(self) -> int:
        return len(self.cues)

    def index_at(self, t: float) -> int | None:
        """Index of the cue showing at `t`, or None."""
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t < self.cues[i].end:
            return i
        return None

    def overlay(self, index: int) -> np.ndarray:
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        arr = render_cue(self.cues[index], self.size, self.style)
        arr.setflags(write=False)
        self._cache[index] = arr
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return arr

    def overlay_at(self, t: float) -> np.ndarray | None:
        i = self.index_at(t)
        return None if i is None else self.overlay(i)
