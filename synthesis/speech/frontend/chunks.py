"""Chunks: the runs of input with one set of reading instructions, before sentences are cut."""

from dataclasses import dataclass, field

from ..types import Prosody
from .text_map import MappedText

TEXT = "text"  # ordinary text: custom readings, normalization and sentence splitting apply
SAY_AS = "say-as"  # SSML <say-as>: read as `interpret_as` says, never split
SUB = "sub"  # SSML <sub>: the alias is read, mapped to the element's content
PHONEME = "phoneme"  # SSML <phoneme>: the engine gets explicit phonemes
PAUSE = "pause"  # SSML <break>: silence only
FIXED = "fixed"  # already normalized say-as / sub text


@dataclass
class Chunk:
    text: MappedText
    kind: str
    lang: str  # the language in effect (xml:lang or the caller's default)
    prosody: Prosody = field(default_factory=Prosody)
    sentence_start: bool = False  # an SSML <p>/<s> boundary comes right before this chunk
    newline_ends_sentence: bool = False  # plain text: a line break ends a sentence
    interpret_as: str | None = None
    format: str | None = None
    phonemes: str | None = None
    alphabet: str | None = None
    pause: float = 0.0
    source_start: int = 0  # the element's span, for chunks whose text is empty
    source_end: int = 0

    def sliced(self, start: int, end: int) -> "Chunk":
        return self._copy(text=self.text.slice(start, end), sentence_start=self.sentence_start and start == 0)

    def with_text(self, text: MappedText, kind: str | None = None) -> "Chunk":
        return self._copy(text=text, kind=kind or self.kind)

    def _copy(self, **changes) -> "Chunk":
        # dataclasses.replace() re-runs __init__ and is the bottleneck on 100,000-character inputs
        clone = object.__new__(Chunk)
        clone.__dict__.update(self.__dict__, **changes)
        return clone
