"""The SSML subset we read, parsed with expat (positions kept; DOCTYPE and entities refused).

Produces chunks: text runs with the prosody / language / say-as / phoneme instructions in effect, and
pause chunks for <break>. Every error names the tag or attribute and its line and column.
"""

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from ..types import Prosody, SpeechError
from .chunks import PAUSE, PHONEME, SAY_AS, SUB, TEXT, Chunk
from .scripts import normalize_lang
from .text_map import MappedText

TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "speak": frozenset({"version", "xml:lang", "xmlns", "xsi:schemaLocation"}),
    "p": frozenset({"xml:lang"}),
    "s": frozenset({"xml:lang"}),
    "break": frozenset({"time", "strength"}),
    "prosody": frozenset({"rate", "pitch", "volume"}),
    "say-as": frozenset({"interpret-as", "format", "detail"}),
    "phoneme": frozenset({"alphabet", "ph"}),
    "sub": frozenset({"alias"}),
    "emphasis": frozenset({"level"}),
    "lang": frozenset({"xml:lang"}),
}
REQUIRED_ATTRIBUTES = {"say-as": ("interpret-as",), "phoneme": ("ph",), "sub": ("alias",), "lang": ("xml:lang",)}
LEAF_TAGS = frozenset({"break", "say-as", "phoneme", "sub"})  # no elements inside these
SENTENCE_TAGS = frozenset({"p", "s"})

INTERPRET_AS = frozenset({"cardinal", "number", "ordinal", "digits", "characters", "spell-out", "verbatim", "date",
                          "time", "telephone", "currency"})
DATE_FORMATS = frozenset({"ymd", "mdy", "dmy", "ym", "my", "md", "dm", "y", "m", "d"})
ALPHABETS = {"ipa": "ipa", "x-pinyin": "pinyin", "pinyin": "pinyin"}
BREAK_STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.0}
MAX_BREAK_SECONDS = 10.0
RATE_WORDS = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "fast": 1.25, "x-fast": 1.5, "default": 1.0}
PITCH_WORDS = {"x-low": 0.75, "low": 0.88, "medium": 1.0, "high": 1.12, "x-high": 1.25, "default": 1.0}
VOLUME_WORDS = {"silent": 0.0, "x-soft": 0.5, "soft": 0.75, "medium": 1.0, "loud": 1.25, "x-loud": 1.5, "default": 1.0}
EMPHASIS = {
    "strong": Prosody(rate=0.9, volume=1.25),
    "moderate": Prosody(rate=0.95, volume=1.12),
    "reduced": Prosody(rate=1.05, volume=0.85),
    "none": Prosody(),
}
MULTIPLIER_RANGE = (0.1, 4.0)
_REFERENCE = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][\w.-]*);")


def line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def fail(text: str, message: str, position: int) -> SpeechError:
    line, column = line_column(text, position)
    return SpeechError(f"{message} at line {line}, column {column}", field="text", position=position)


def _number_multiplier(value: str, *, units: dict[str, float]) -> float | None:
    """'+20%' -> 1.2, '80%' -> 0.8, '-2st' -> semitones, '+6dB' -> decibels, '1.2' -> 1.2 (when allowed)."""
    match = re.fullmatch(r"([+-])?(\d+(?:\.\d+)?)(%|st|dB)?", value)
    if not match:
        return None
    sign, number, unit = match[1], float(match[2]), match[3] or ""
    if unit not in units:
        return None
    if unit == "%":
        return 1 + (number if sign == "+" else -number) / 100 if sign else number / 100
    if unit == "st":
        return 2 ** ((-number if sign == "-" else number) / 12) if sign else None
    if unit == "dB":
        return 10 ** ((-number if sign == "-" else number) / 20) if sign else None
    return None if sign else number


def _prosody_value(attribute: str, value: str) -> float | None:
    value = value.strip()
    if attribute == "rate":
        multiplier = RATE_WORDS.get(value) or _number_multiplier(value, units={"%": 1, "": 1})
    elif attribute == "pitch":
        multiplier = PITCH_WORDS.get(value) or _number_multiplier(value, units={"%": 1, "st": 1})
    else:
        if value in VOLUME_WORDS:
            return VOLUME_WORDS[value]
        multiplier = _number_multiplier(value, units={"%": 1, "dB": 1})
    if multiplier is None or not MULTIPLIER_RANGE[0] <= multiplier <= MULTIPLIER_RANGE[1]:
        return None
    return multiplier


def _break_seconds(value: str) -> float | None:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*", value)
    if not match:
        return None
    seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
    return seconds if seconds <= MAX_BREAK_SECONDS else None


@dataclass
class _Frame:
    name: str
    position: int
    prosody: Prosody
    lang: str
    attributes: dict[str, str] = field(default_factory=dict)
    content: list[MappedText] = field(default_factory=list)


class _Parser:
    def __init__(self, source: str, default_lang: str):
        self.source = source
        self.default_lang = default_lang
        self.chunks: list[Chunk] = []
        self.stack: list[_Frame] = []
        self.sentence_start = False
        self.closed_root = False
        self._encoded = source.encode("utf-8", "surrogatepass")
        self._byte_cursor = self._char_cursor = 0
        self.expat = expat.ParserCreate()
        self.expat.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.expat.StartDoctypeDeclHandler = self._refuse_doctype
        self.expat.EntityDeclHandler = self._refuse_doctype
        self.expat.StartElementHandler = self._start
        self.expat.EndElementHandler = self._end
        self.expat.CharacterDataHandler = self._data

    # --- positions ---

    def _char_offset(self, byte_index: int) -> int:
        """Character offset of a UTF-8 byte offset (expat reports bytes); events arrive in order."""
        if byte_index < self._byte_cursor:
            self._byte_cursor = self._char_cursor = 0
        chunk = self._encoded[self._byte_cursor:byte_index]
        self._char_cursor += len(chunk.decode("utf-8", "replace")) if not chunk.isascii() else len(chunk)
        self._byte_cursor = byte_index
        return self._char_cursor

    def _here(self) -> int:
        return self._char_offset(max(self.expat.CurrentByteIndex, 0))

    def _tag_end(self, position: int) -> int:
        end = self.source.find(">", position)
        return len(self.source) if end < 0 else end + 1

    def _attribute_position(self, tag_position: int, attribute: str) -> int:
        tag = self.source[tag_position:self._tag_end(tag_position)]
        match = re.search(rf"\s({re.escape(attribute)})\s*=", tag)
        return tag_position + match.start(1) if match else tag_position

    def _fail(self, message: str, position: int) -> SpeechError:
        return fail(self.source, message, position)

    # --- handlers ---

    def _refuse_doctype(self, *_args) -> None:
        declaration = self.source.find("<!DOCTYPE")
        position = declaration if declaration >= 0 else self._here()
        raise self._fail("DOCTYPE and ENTITY declarations are not allowed in SSML", position)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        position = self._here()
        parent = self.stack[-1] if self.stack else None
        if parent is None and name != "speak":
            raise self._fail(f"missing <speak> root: the document starts with <{name}>", position)
        if parent is not None and name == "speak":
            raise self._fail("<speak> may only be the root element", position)
        if name not in TAG_ATTRIBUTES:
            raise self._fail(f"unknown tag <{name}>", position)
        if parent is not None and parent.name in LEAF_TAGS:
            raise self._fail(f"<{name}> is not allowed inside <{parent.name}>", position)
        self._check_attributes(name, attributes, position)
        frame = _Frame(
            name, position, parent.prosody if parent else Prosody(),
            parent.lang if parent else self.default_lang, attributes,
        )
        self._apply(frame)
        self.stack.append(frame)
        if name in SENTENCE_TAGS:
            self.sentence_start = True

    def _check_attributes(self, name: str, attributes: dict[str, str], position: int) -> None:
        allowed = TAG_ATTRIBUTES[name]
        for attribute in attributes:
            if attribute not in allowed and not (name == "speak" and attribute.startswith("xmlns:")):
                raise self._fail(f"unknown attribute '{attribute}' on <{name}>",
                                 self._attribute_position(position, attribute))
        for attribute in REQUIRED_ATTRIBUTES.get(name, ()):
            if not attributes.get(attribute, "").strip():
                raise self._fail(f"<{name}> needs a non-empty '{attribute}' attribute", position)

    def _bad_value(self, frame: _Frame, attribute: str, expected: str) -> SpeechError:
        value = frame.attributes[attribute]
        return self._fail(f"bad value '{value}' for attribute '{attribute}' on <{frame.name}> (expected {expected})",
                          self._attribute_position(frame.position, attribute))

    def _apply(self, frame: _Frame) -> None:
        """Check the element's attribute values and apply them to the frame."""
        attributes = frame.attributes
        if "xml:lang" in attributes:
            lang = normalize_lang(attributes["xml:lang"])
            if lang is None:
                raise self._bad_value(frame, "xml:lang", "a language tag such as zh-CN or en-US")
            frame.lang = lang
        if frame.name == "prosody":
            for attribute in ("rate", "pitch", "volume"):
                if attribute in attributes:
                    frame.prosody = frame.prosody.combine(self._prosody(frame, attribute))
        elif frame.name == "emphasis":
            level = attributes.get("level", "moderate")
            if level not in EMPHASIS:
                raise self._bad_value(frame, "level", "strong, moderate, reduced or none")
            frame.prosody = frame.prosody.combine(EMPHASIS[level])
        elif frame.name == "break":
            self._add_chunk(PAUSE, MappedText.verbatim(""), frame, pause=self._break_pause(frame))
        elif frame.name == "say-as":
            self._check_say_as(frame)
        elif frame.name == "phoneme" and attributes.get("alphabet", "ipa").lower() not in ALPHABETS:
            raise self._bad_value(frame, "alphabet", "ipa or x-pinyin")

    def _prosody(self, frame: _Frame, attribute: str) -> Prosody:
        multiplier = _prosody_value(attribute, frame.attributes[attribute])
        if multiplier is None:
            words = {"rate": RATE_WORDS, "pitch": PITCH_WORDS, "volume": VOLUME_WORDS}[attribute]
            expected = "|".join(word for word in words if word != "default") + ", a percentage like 80% or +20%"
            raise self._bad_value(frame, attribute, expected)
        return Prosody(**{attribute: multiplier})

    def _break_pause(self, frame: _Frame) -> float:
        attributes = frame.attributes
        if "time" in attributes:
            seconds = _break_seconds(attributes["time"])
            if seconds is None:
                raise self._bad_value(frame, "time", "a duration like 500ms or 1.5s, at most 10s")
            return seconds
        strength = attributes.get("strength", "medium")
        if strength not in BREAK_STRENGTHS:
            raise self._bad_value(frame, "strength", "|".join(BREAK_STRENGTHS))
        return BREAK_STRENGTHS[strength]

    def _check_say_as(self, frame: _Frame) -> None:
        interpret_as = frame.attributes["interpret-as"].strip()
        if interpret_as not in INTERPRET_AS:
            raise self._bad_value(frame, "interpret-as", "|".join(sorted(INTERPRET_AS)))
        date_format = frame.attributes.get("format")
        if interpret_as == "date" and date_format is not None and date_format not in DATE_FORMATS:
            raise self._bad_value(frame, "format", "|".join(sorted(DATE_FORMATS)))

    def _end(self, name: str) -> None:
        frame = self.stack.pop()
        end = self._tag_end(self._here())
        if name in SENTENCE_TAGS:
            self.sentence_start = True
        if name in ("say-as", "sub", "phoneme"):
            self._add_leaf(frame, end)
        if not self.stack:
            self.closed_root = True

    def _add_leaf(self, frame: _Frame, end: int) -> None:
        content = MappedText.join(frame.content)
        span = content.source_span() or (frame.position, end)
        attributes = frame.attributes
        if frame.name == "say-as":
            self._add_chunk(SAY_AS, content, frame, interpret_as=attributes["interpret-as"].strip(),
                            format=attributes.get("format"), source_start=span[0], source_end=span[1])
        elif frame.name == "sub":
            alias = MappedText.spanning(attributes["alias"], *span)
            self._add_chunk(SUB, alias, frame, source_start=span[0], source_end=span[1])
        else:
            self._add_chunk(PHONEME, content, frame, phonemes=attributes["ph"].strip(),
                            alphabet=ALPHABETS[attributes.get("alphabet", "ipa").lower()],
                            source_start=span[0], source_end=span[1])

    def _data(self, data: str) -> None:
        if not self.stack:
            return
        position = self._here()
        frame = self.stack[-1]
        mapped = self._aligned(data, position)
        if frame.name == "break":
            if data.strip():
                raise self._fail("<break> must be empty", position)
        elif frame.name in LEAF_TAGS:
            frame.content.append(mapped)
        else:
            self._add_chunk(TEXT, mapped, frame)

    def _aligned(self, data: str, position: int) -> MappedText:
        """Map decoded character data back onto the source (entity references, CR LF pairs)."""
        source = self.source
        if "&" not in data and source.startswith(data, position):
            return MappedText.verbatim(data, position)
        starts, ends, cursor = [], [], position
        for char in data:
            reference = _REFERENCE.match(source, cursor)
            if reference:
                width = reference.end() - cursor
            elif char == "\n" and source.startswith("\r\n", cursor):
                width = 2
            else:
                width = 1
            starts.append(cursor)
            ends.append(cursor + width)
            cursor += width
        return MappedText(data, starts, ends)

    def _add_chunk(self, kind: str, text: MappedText, frame: _Frame, **details) -> None:
        details.setdefault("source_start", frame.position)
        details.setdefault("source_end", self._tag_end(frame.position))
        self.chunks.append(Chunk(text=text, kind=kind, lang=frame.lang, prosody=frame.prosody,
                                 sentence_start=self.sentence_start, **details))
        self.sentence_start = False

    # --- running ---

    def parse(self) -> list[Chunk]:
        first = len(self.source) - len(self.source.lstrip())
        if not self.source.startswith("<", first):
            raise self._fail("text outside <speak>", first)
        try:
            self.expat.Parse(self.source, True)
        except expat.ExpatError as error:
            raise self._expat_error(error) from None
        return _merged(self.chunks)

    def _expat_error(self, error: expat.ExpatError) -> SpeechError:
        position = self._char_offset(max(self.expat.ErrorByteIndex, 0))
        code = error.code
        if code == expat.errors.codes[expat.errors.XML_ERROR_TAG_MISMATCH]:
            end_tag = self.source.rfind("</", 0, position + 1)
            found = re.match(r"</\s*([^\s>]*)", self.source[end_tag:])
            opened = self.stack[-1]
            line, column = line_column(self.source, opened.position)
            return self._fail(f"mismatched end tag </{found[1]}>: <{opened.name}> (line {line}, column {column}) "
                              "is still open", end_tag)
        if code in (expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
                    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN]) and self.stack:
            opened = self.stack[-1]
            return self._fail(f"unclosed tag <{opened.name}> (no </{opened.name}> before the end)", opened.position)
        if code == expat.errors.codes[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT] or self.closed_root:
            return self._fail("text outside <speak>: nothing may follow </speak>", position)
        if code == expat.errors.codes[expat.errors.XML_ERROR_UNDEFINED_ENTITY]:
            entity = re.match(r"&[^;\s<]*;?", self.source[position:])
            return self._fail(f"undefined entity {entity[0] if entity else '&'}", position)
        return self._fail(f"malformed SSML{self._inside_tag(position)}: {expat.ErrorString(code)}", position)

    def _inside_tag(self, position: int) -> str:
        tag_start = self.source.rfind("<", 0, position + 1)
        if tag_start < 0 or self.source.rfind(">", tag_start, position) >= 0:
            return ""
        name = re.match(r"</?([^\s/>]*)", self.source[tag_start:])
        return f" in tag <{name[1]}>" if name and name[1] else ""


def _merged(chunks: list[Chunk]) -> list[Chunk]:
    """Join neighbouring text chunks that read alike (split only by entities or comments)."""
    groups: list[list[Chunk]] = []
    for chunk in chunks:
        previous = groups[-1][-1] if groups else None
        if (previous and previous.kind == chunk.kind == TEXT and not chunk.sentence_start
                and previous.lang == chunk.lang and previous.prosody == chunk.prosody):
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
    return [group[0] if len(group) == 1 else group[0].with_text(MappedText.join(c.text for c in group))
            for group in groups]


def parse_ssml(source: str, default_lang: str) -> list[Chunk]:
    return _Parser(source, default_lang).parse()
