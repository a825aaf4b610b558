"""Text that remembers where each of its characters came from in the caller's input.

Every character of `MappedText.text` carries the source span it was produced from: a character copied
verbatim maps to itself, a character produced by a rewrite (normalization, a custom reading, an SSML
<sub> alias) maps to the whole span that was rewritten. Word spans are then the min/max over a word's
characters, which keeps offsets exact through any number of rewrites.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from re import Match, Pattern

# A rewrite result: pieces of replacement text, each mapped to a span of the match (relative offsets).
Piece = tuple[str, int, int]
Rewrite = str | list[Piece] | None  # None keeps the match verbatim


@dataclass
class MappedText:
    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def verbatim(cls, text: str, offset: int = 0) -> "MappedText":
        positions = range(offset, offset + len(text))
        return cls(text, list(positions), [p + 1 for p in positions])

    @classmethod
    def spanning(cls, text: str, start: int, end: int) -> "MappedText":
        """All of `text` stands for the source span [start, end)."""
        return cls(text, [start] * len(text), [end] * len(text))

    @classmethod
    def join(cls, parts: Iterable["MappedText"]) -> "MappedText":
        text, starts, ends = [], [], []
        for part in parts:
            text.append(part.text)
            starts.extend(part.starts)
            ends.extend(part.ends)
        return cls("".join(text), starts, ends)

    def __len__(self) -> int:
        return len(self.text)

    def slice(self, start: int, end: int) -> "MappedText":
        return MappedText(self.text[start:end], self.starts[start:end], self.ends[start:end])

    def source_span(self, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
        """The source span of text[start:end], or None when it is empty."""
        end = len(self.text) if end is None else end
        if start >= end:
            return None
        return min(self.starts[start:end]), max(self.ends[start:end])

    def rewrite(self, pattern: Pattern[str], rewrite: Callable[[Match[str]], Rewrite]) -> "MappedText":
        """Replace every match of `pattern` by what `rewrite` returns, keeping the source mapping."""
        parts: list[MappedText] = []
        done = 0
        for match in pattern.finditer(self.text):
            replacement = rewrite(match)
            if replacement is None:
                continue
            parts.append(self.slice(done, match.start()))
            parts.append(self._replacement(match, replacement))
            done = match.end()
        if not parts:
            return self
        parts.append(self.slice(done, len(self.text)))
        return MappedText.join(parts)

    def _replacement(self, match: Match[str], replacement: str | list[Piece]) -> "MappedText":
        base = match.start()
        if isinstance(replacement, str):
            replacement = [(replacement, 0, match.end() - base)]
        parts = []
        for text, rel_start, rel_end in replacement:
            rel_end = max(rel_end, rel_start + 1)
            parts.append(MappedText.spanning(text, self.starts[base + rel_start], self.ends[base + rel_end - 1]))
        return MappedText.join(parts)
