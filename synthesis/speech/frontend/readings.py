"""Custom readings (a tenant's pronunciation dictionary): each occurrence of a word is read as its replacement.

Longest words win; words with Latin letters match case-insensitively and only as whole words. The words
are compiled into a trie-shaped regex, so thousands of entries cost little more than a few.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from re import Match

from .scripts import LATIN, script_of
from .text_map import MappedText

_ALNUM = re.compile(r"[A-Za-z0-9]")
_NOT_AFTER_ALNUM = "(?<![A-Za-z0-9])"
_NOT_BEFORE_ALNUM = "(?![A-Za-z0-9])"
_END = ""  # trie key marking the end of a word


@dataclass(frozen=True)
class Readings:
    pattern: re.Pattern[str]
    exact: dict[str, str]
    folded: dict[str, str]

    def replacement(self, match: Match[str]) -> str | None:
        word = match.group()
        return self.exact.get(word) or self.folded.get(word.lower())

    def apply(self, mapped: MappedText) -> MappedText:
        return mapped.rewrite(self.pattern, self.replacement)


def _is_latin(word: str) -> bool:
    return any(script_of(char) == LATIN for char in word)


def _trie(words: Iterable[str], whole_words: bool) -> dict:
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = _NOT_BEFORE_ALNUM if whole_words and _ALNUM.match(word[-1]) else ""
    return root


def _trie_pattern(node: dict) -> str:
    """Alternatives of a trie node, longer continuations before stopping here (so the longest word wins)."""
    branches = []
    for char, child in node.items():
        if char == _END:
            continue
        chain = char
        while len(child) == 1 and _END not in child:  # a run without branches: no recursion per character
            (next_char, child), = child.items()
            chain += next_char
        branches.append(re.escape(chain) + _trie_pattern(child))
    if not branches:
        return node[_END]
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if _END in node:
        return f"(?:{body}|{node[_END]})"
    return body


def _group(words: list[str], whole_words: bool, prefix: str = "") -> list[str]:
    return [prefix + _trie_pattern(_trie(words, whole_words))] if words else []


def compile_readings(readings: Mapping[str, str] | None) -> Readings | None:
    entries = {word.strip(): str(reading) for word, reading in (readings or {}).items() if word and word.strip()}
    if not entries:
        return None
    latin = {word.lower() for word in entries if _is_latin(word)}
    latin_at_word_start = [word for word in latin if _ALNUM.match(word)]
    latin_elsewhere = [word for word in latin if not _ALNUM.match(word)]
    others = [word for word in entries if not _is_latin(word)]
    alternatives = [
        *_group(latin_at_word_start, True, _NOT_AFTER_ALNUM),
        *_group(latin_elsewhere, True),
    ]
    alternatives = [f"(?i:{alternative})" for alternative in alternatives] + _group(others, False)
    folded = {word.lower(): reading for word, reading in entries.items() if _is_latin(word)}
    return Readings(re.compile("|".join(alternatives)), entries, folded)
