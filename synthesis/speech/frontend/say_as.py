"""SSML <say-as>: read the content as the interpret-as attribute says."""

import re

from . import normalize_en as en
from . import normalize_zh as zh

_DIGITS = re.compile(r"\d+")
_SIGNED_NUMBER = re.compile(r"[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_TIME = re.compile(r"(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?\s*([AaPp]\.?[Mm]\.?)?")
_CURRENCY = re.compile(r"(US\$|HK\$|[$€£¥￥₩₹]|[A-Z]{3})?\s*([-−]?\d[\d,]*(?:\.\d+)?)\s*([A-Z]{3}|元)?")
_SYMBOLS = {"$": "USD", "US$": "USD", "HK$": "HKD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "₩": "KRW",
            "₹": "INR", "元": "CNY", "RMB": "CNY"}


def interpret(text: str, interpret_as: str, date_format: str | None, lang: str) -> str | None:
    """The words for `text`, or None when the content does not fit (then it is read as ordinary text)."""
    chinese = lang in ("zh", "yue")
    if lang not in ("zh", "yue", "en"):
        return None
    content = text.strip()
    if interpret_as == "date":
        return _date(content, date_format, chinese)
    reader = {
        "cardinal": _cardinal, "number": _cardinal, "ordinal": _ordinal, "digits": _digits,
        "characters": _characters, "spell-out": _characters, "verbatim": _characters, "time": _time,
        "telephone": _telephone, "currency": _currency,
    }[interpret_as]
    return reader(content, chinese)


def _cardinal(content: str, chinese: bool) -> str | None:
    if not _SIGNED_NUMBER.fullmatch(content):
        return None
    return zh.decimal(content) if chinese else en.decimal(content)


def _ordinal(content: str, chinese: bool) -> str | None:
    number = re.fullmatch(r"第?(\d+)(?:st|nd|rd|th)?", content)
    if not number:
        return None
    return zh.ordinal(int(number[1])) if chinese else en.ordinal(int(number[1]))


def _digits(content: str, chinese: bool) -> str | None:
    if not _DIGITS.search(content):
        return None
    return zh.digits(content) if chinese else en.digits(content)


def _characters(content: str, chinese: bool) -> str:
    if chinese:
        return " ".join(zh.digits(char) if char.isdigit() else char for char in content if not char.isspace())
    return en.letters(content)


def _telephone(content: str, chinese: bool) -> str | None:
    groups = _DIGITS.findall(content)
    if not groups:
        return None
    plus = content.startswith("+")
    if chinese:
        return ("加" if plus else "") + "，".join(zh.digits(group, phone=True) for group in groups)
    return ("plus " if plus else "") + ", ".join(en.digits(group) for group in groups)


def _time(content: str, chinese: bool) -> str | None:
    match = _TIME.fullmatch(content)
    if not match:
        return None
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3]) if match[3] else None
    meridiem = match[4].replace(".", "").lower() if match[4] else None
    if hour > 23 or minute > 59 or (second or 0) > 59:
        return None
    return (zh if chinese else en).clock_time(hour, minute, second, meridiem)


def _currency(content: str, chinese: bool) -> str | None:
    match = _CURRENCY.fullmatch(content)
    if not match:
        return None
    marker = match[1] or match[3] or ("元" if chinese else "$")
    code = _SYMBOLS.get(marker, marker)
    if code not in en.CURRENCIES:
        return None
    amount = match[2].replace("−", "-")
    if amount.startswith("-"):
        words = _currency(content.replace(match[2], amount[1:]), chinese)
        return words and ("负" if chinese else "minus ") + words
    return zh.money(code, amount) if chinese else en.money(code, amount)


def _date(content: str, date_format: str | None, chinese: bool) -> str | None:
    numbers = _DIGITS.findall(content)
    if not numbers:
        return None
    date_format = date_format or _guess_format(numbers, chinese)
    if len(date_format) != len(numbers):
        return None
    fields = dict(zip(date_format, numbers, strict=True))
    month = int(fields["m"]) if "m" in fields else None
    day = int(fields["d"]) if "d" in fields else None
    if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
        return None
    if chinese:
        return zh.date(fields.get("y"), month, day)
    return en.date(int(fields["y"]) if "y" in fields else None, month, day)


def _guess_format(numbers: list[str], chinese: bool) -> str:
    if len(numbers[0]) == 4 or (chinese and len(numbers) == 3):
        return "ymd"[: len(numbers)]
    if len(numbers) == 3:
        return "dmy" if int(numbers[0]) > 12 else "mdy"
    return "md"[: len(numbers)]
