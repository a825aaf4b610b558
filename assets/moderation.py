"""Machine review of names, descriptions and text against configurable word lists."""

from functools import lru_cache
from pathlib import Path

from django.conf import settings


@lru_cache(maxsize=1)
def _words() -> tuple[str, ...]:
    words = []
    for name in settings.MODERATION_WORD_FILES:
        for line in Path(name).read_text(encoding="utf-8").splitlines():
            line = line.strip().lower()
            if line and not line.startswith("#"):
                words.append(line)
    return tuple(words)


def reload_word_lists() -> None:
    _words.cache_clear()


def findings(*texts: str) -> list[str]:
    """The listed words that occur in any of the texts (case-insensitive substring match)."""
    found = []
    for text in texts:
        lowered = (text or "").lower()
        found.extend(word for word in _words() if word in lowered and word not in found)
    return found
