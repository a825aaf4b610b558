"""Writing systems: which script a character belongs to and which language a run of it is read in."""

import re
from collections import Counter
from functools import lru_cache

HAN, KANA, HANGUL, LATIN, CYRILLIC, ARABIC, GREEK, HEBREW, THAI, DEVANAGARI = (
    "han", "kana", "hangul", "latin", "cyrillic", "arabic", "greek", "hebrew", "thai", "devanagari",
)

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, LATIN), (0x0061, 0x007A, LATIN), (0x00C0, 0x00D6, LATIN), (0x00D8, 0x00F6, LATIN),
    (0x00F8, 0x024F, LATIN), (0x1E00, 0x1EFF, LATIN), (0xFF21, 0xFF3A, LATIN), (0xFF41, 0xFF5A, LATIN),
    (0x0370, 0x03FF, GREEK), (0x0400, 0x04FF, CYRILLIC), (0x0500, 0x052F, CYRILLIC),
    (0x0590, 0x05FF, HEBREW), (0x0600, 0x06FF, ARABIC), (0x0750, 0x077F, ARABIC), (0x0900, 0x097F, DEVANAGARI),
    (0x0E00, 0x0E7F, THAI), (0x1100, 0x11FF, HANGUL), (0x3005, 0x3005, HAN), (0x3007, 0x3007, HAN),
    (0x3040, 0x30FF, KANA), (0x3130, 0x318F, HANGUL), (0x31F0, 0x31FF, KANA), (0x3400, 0x4DBF, HAN),
    (0x4E00, 0x9FFF, HAN), (0xAC00, 0xD7AF, HANGUL), (0xF900, 0xFAFF, HAN), (0xFF66, 0xFF9F, KANA),
    (0x20000, 0x2FFFF, HAN),
)

# Regex classes for the scripts whose characters are words on their own (no spaces between words).
CJK_CLASS = (
    "\u3005\u3007\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002ffff"
)

LATIN_LANGUAGES = frozenset(
    "af ca cs cy da de en eo es et eu fi fr ga gl hr hu id is it la lt lv ms mt nb nl nn no pl pt ro sk sl sq "
    "sv sw tl tr vi".split()
)
CYRILLIC_LANGUAGES = frozenset("ru uk bg sr mk be kk ky mn tg".split())
ARABIC_LANGUAGES = frozenset("ar fa ur ps".split())
HAN_LANGUAGES = frozenset({"zh", "yue", "ja"})

_SCRIPT_LANGUAGE = {
    HAN: "zh", KANA: "ja", HANGUL: "ko", LATIN: "en", CYRILLIC: "ru", ARABIC: "ar", GREEK: "el", HEBREW: "he",
    THAI: "th", DEVANAGARI: "hi",
}
_SCRIPT_OF_LANGUAGE = (
    (LATIN_LANGUAGES, LATIN), (CYRILLIC_LANGUAGES, CYRILLIC), (ARABIC_LANGUAGES, ARABIC), (HAN_LANGUAGES, HAN),
)
_LANG_TAG = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


@lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    """The script of one character, or None for digits, punctuation, spaces and symbols."""
    code = ord(char)
    if code < 0x41:
        return None
    for low, high, script in _RANGES:
        if low <= code <= high:
            return script
    return None


def language_for_script(script: str, context_lang: str) -> str:
    """The language a run in `script` is read in, given the language in effect (SSML xml:lang or default)."""
    for languages, languages_script in _SCRIPT_OF_LANGUAGE:
        if script == languages_script and context_lang in languages:
            return context_lang
    return _SCRIPT_LANGUAGE[script]


def normalize_lang(tag: str) -> str | None:
    """An xml:lang / API language tag reduced to the ISO 639-1 code the engines use ("zh-CN" -> "zh")."""
    tag = tag.strip()
    if not _LANG_TAG.match(tag):
        return None
    parts = tag.replace("_", "-").lower().split("-")
    if parts[0] == "yue" or (parts[0] == "zh" and "yue" in parts[1:]):
        return "yue"
    if parts[0] in ("cmn", "zho", "chi"):
        return "zh"
    return parts[0]


def detect_language(text: str, default: str = "zh") -> str:
    """The dominant language of `text` by script (Han with any kana counts as Japanese)."""
    counts = Counter(script for script in map(script_of, text) if script)
    if not counts:
        return default
    if counts[KANA] and counts[KANA] + counts[HAN] >= max(counts.values()):
        return "ja"
    script = counts.most_common(1)[0][0]
    return language_for_script(script, default)
