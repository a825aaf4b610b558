"""Normalization: numbers, dates, times, money, units, abbreviations and acronyms spelled out in words.

All rules run in one left-to-right pass (one combined regex), so an expansion is never rewritten again.
Which language a number is read in comes from the nearest letters around it: digits inside Chinese text
are read in Chinese, inside English text in English; other languages keep their digits for the engine.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from re import Match

from . import normalize_en as en
from . import normalize_zh as zh
from .scripts import HAN, KANA, LATIN, language_for_script, script_of
from .text_map import MappedText, Piece, Rewrite

NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
SIGNED_NUMBER = r"(?:(?<![A-Za-z0-9.%％])[-−])?" + NUMBER
UNIT = r"km/h|m/s|km|kg|cm|mm|mg|ml|mL|ms|m|g|L|℃|°C|°F|°|TB|GB|MB|KB|kB|%|％"
MONTH = (
    r"Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
CURRENCY_CODE = r"USD|CNY|RMB|EUR|GBP|JPY|HKD|KRW|INR"
SCALE = r"thousand|million|billion|trillion|千|万|亿"
CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "HK$": "HKD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY",
                    "₩": "KRW", "₹": "INR"}
SCALE_TO_ZH = {"thousand": "千", "million": "百万", "billion": "十亿", "trillion": "万亿"}
SCALE_TO_EN = {"千": "thousand", "万": "ten thousand", "亿": "hundred million"}
# After these, "2" is read 两 (两个, 两点, 两岁 ...).
ZH_MEASURE_WORDS = frozenset("个只位件本次条张名天种台辆份家岁周倍块点杯瓶双对")
SENTENCE_STOPS = frozenset("\n。！？!?")
CONTEXT_WINDOW = 40

Handler = Callable[[Match[str]], Rewrite]


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str
    zh: Handler | None
    en: Handler | None
    by_script: bool = False  # the match is Latin text itself: read it in the Latin run's language
    other: Handler | None = None  # for languages other than Chinese and English (None: leave to the engine)

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# --- helpers for handlers ---------------------------------------------------------------------------


def part(match: Match[str], group: str | int, text: str) -> Piece:
    """`text` spoken for the source of one group of the match."""
    return text, match.start(group) - match.start(), match.end(group) - match.start()


def whole(match: Match[str], text: str) -> Piece:
    return text, 0, match.end() - match.start()


def following(match: Match[str], count: int = 1) -> str:
    return match.string[match.end():match.end() + count]


def _generic(match: Match[str], lang: str) -> list[Piece]:
    """Fallback: read just the numbers inside the match, keep the rest."""
    read = zh.decimal if lang == "zh" else en.decimal
    pieces, done, text = [], 0, match.group()
    for number in re.finditer(SIGNED_NUMBER, text):
        if number.start() > done:
            pieces.append((text[done:number.start()], done, number.start()))
        pieces.append((read(number.group()), number.start(), number.end()))
        done = number.end()
    if done < len(text):
        pieces.append((text[done:], done, len(text)))
    return pieces


def generic_zh(match: Match[str]) -> list[Piece]:
    return _generic(match, "zh")


def generic_en(match: Match[str]) -> list[Piece]:
    return _generic(match, "en")


# --- dates and times ---------------------------------------------------------------------------------


def ymd_zh(m: Match[str]) -> list[Piece]:
    pieces = [part(m, "y", zh.year(m["y"]) + "年"), part(m, "m", zh.cardinal(int(m["m"])) + "月")]
    if m["d"]:
        pieces.append(part(m, "d", zh.cardinal(int(m["d"])) + "日"))
    return pieces


def ymd_en(m: Match[str]) -> list[Piece]:
    if not m["d"]:
        return [part(m, "m", en.MONTHS[int(m["m"]) - 1] + " "), part(m, "y", en.year(int(m["y"])))]
    return [
        part(m, "m", en.MONTHS[int(m["m"]) - 1] + " "),
        part(m, "d", en.ordinal(int(m["d"])) + ", "),
        part(m, "y", en.year(int(m["y"]))),
    ]


def _slash_date_groups(m: Match[str]) -> tuple[str, str] | None:
    """(month group, day group) of a slashed date: month first unless the first number cannot be a month."""
    first, second = int(m["a"]), int(m["b"])
    if first > 12 and 1 <= second <= 12 and first <= 31:
        return "b", "a"
    if 1 <= first <= 12 and 1 <= second <= 31:
        return "a", "b"
    return None


def slash_date_zh(m: Match[str]) -> list[Piece]:
    groups = _slash_date_groups(m)
    if groups is None:
        return generic_zh(m)
    month, day = groups
    return [
        part(m, "y", zh.year(m["y"]) + "年"),
        part(m, month, zh.cardinal(int(m[month])) + "月"),
        part(m, day, zh.cardinal(int(m[day])) + "日"),
    ]


def slash_date_en(m: Match[str]) -> list[Piece]:
    groups = _slash_date_groups(m)
    if groups is None:
        return generic_en(m)
    month, day = groups
    return [
        part(m, month, en.MONTHS[int(m[month]) - 1] + " "),
        part(m, day, en.ordinal(int(m[day])) + ", "),
        part(m, "y", en.year(int(m["y"]))),
    ]


def _month_number(name: str) -> int:
    return next(i for i, month in enumerate(en.MONTHS, 1) if month.lower().startswith(name[:3].lower()))


def month_day_en(m: Match[str]) -> list[Piece]:
    pieces = [part(m, "mon", en.MONTHS[_month_number(m["mon"]) - 1] + " "), part(m, "d", en.ordinal(int(m["d"])))]
    if m["y"]:
        pieces += [(", ", m.end("d") - m.start(), m.start("y") - m.start()), part(m, "y", en.year(int(m["y"])))]
    return pieces


def day_month_en(m: Match[str]) -> list[Piece]:
    pieces = [
        part(m, "d", f"the {en.ordinal(int(m['d']))} of "),
        part(m, "mon", en.MONTHS[_month_number(m["mon"]) - 1]),
    ]
    if m["y"]:
        pieces += [part(m, "y", " " + en.year(int(m["y"])))]
    return pieces


def year_zh(m: Match[str]) -> str:
    return zh.year(m["y"])


def year_en(m: Match[str]) -> list[Piece]:
    return [part(m, "prep", m["prep"] + " "), part(m, "y", en.year(int(m["y"])))]


def decade_zh(m: Match[str]) -> str:
    digits = m["y"]
    return (zh.year(digits) if len(digits) == 4 else zh.cardinal(int(digits))) + "年代"


def decade_en(m: Match[str]) -> str:
    number = int(m["y"])
    return en.plural(en.year(number) if number >= 1000 else en.cardinal(number))


def _time_parts(m: Match[str]) -> tuple[int, int, int | None, str | None]:
    second = int(m["s"]) if m["s"] else None
    meridiem = m["ap"].replace(".", "").lower() if m["ap"] else None
    return int(m["h"]), int(m["mi"]), second, meridiem


def time_zh(m: Match[str]) -> str:
    return zh.clock_time(*_time_parts(m)) + _kept_period(m)


def time_en(m: Match[str]) -> str:
    return en.clock_time(*_time_parts(m)) + _kept_period(m)


def _kept_period(m: Match[str]) -> str:
    """A period eaten by "p.m." that also ends the sentence."""
    return "." if m.group().endswith(".") and _ends_sentence(m) else ""


# --- digits, phone numbers, counting -----------------------------------------------------------------


def _phone_groups(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def phone_zh(m: Match[str]) -> str:
    words = "，".join(zh.digits(group, phone=True) for group in _phone_groups(m.group()))
    return ("加" if m.group().startswith("+") else "") + words


def phone_en(m: Match[str]) -> str:
    words = ", ".join(en.digits(group) for group in _phone_groups(m.group()))
    return ("plus " if m.group().startswith("+") else "") + words


def ordinal_zh(m: Match[str]) -> str:
    return zh.ordinal(int(m["n"]))


def ordinal_en(m: Match[str]) -> str:
    return en.ordinal(int(m["n"]))


def _proper_fraction(m: Match[str]) -> tuple[int, int] | None:
    numerator, denominator = int(m["a"]), int(m["b"])
    return (numerator, denominator) if 0 < numerator < denominator else None


def fraction_zh(m: Match[str]) -> Rewrite:
    fraction = _proper_fraction(m)
    return zh.fraction(*fraction) if fraction else generic_zh(m)


def fraction_en(m: Match[str]) -> Rewrite:
    fraction = _proper_fraction(m)
    return en.fraction(*fraction) if fraction else generic_en(m)


def version_zh(m: Match[str]) -> str:
    return "点".join(zh.cardinal(int(part)) for part in m.group().split("."))


def version_en(m: Match[str]) -> str:
    return " point ".join(en.cardinal(int(part)) for part in m.group().split("."))


def range_zh(m: Match[str]) -> list[Piece]:
    unit = m["unit"]
    if unit in zh.PERCENT_SIGNS:
        return [part(m, "a", zh.percent(m["a"]) + "到"), part(m, "b", zh.percent(m["b"]))]
    pieces = [part(m, "a", zh.decimal(m["a"]) + "到"), part(m, "b", zh.decimal(m["b"]))]
    if unit:
        pieces.append(part(m, "unit", zh.UNITS[unit]))
    return pieces


def range_en(m: Match[str]) -> list[Piece]:
    pieces = [part(m, "a", en.decimal(m["a"]) + " to "), part(m, "b", en.decimal(m["b"]))]
    if m["unit"]:
        pieces.append(part(m, "unit", " " + en.UNITS[m["unit"]][1]))
    return pieces


def quantity_zh(m: Match[str]) -> str:
    return zh.quantity(m["amt"], m["unit"])


def quantity_en(m: Match[str]) -> list[Piece]:
    singular, plural = en.UNITS[m["unit"]]
    return [part(m, "amt", en.decimal(m["amt"]) + " "), part(m, "unit", singular if m["amt"] == "1" else plural)]


def number_zh(m: Match[str]) -> str:
    if m.group() == "2" and following(m) in ZH_MEASURE_WORDS:
        return "两"
    return zh.decimal(m.group())


def number_en(m: Match[str]) -> str:
    return en.decimal(m.group())


# --- money ---------------------------------------------------------------------------------------------


def _currency(m: Match[str]) -> str:
    if m["code"]:
        return "CNY" if m["code"] == "RMB" else m["code"]
    return CURRENCY_SYMBOLS[m["sym"]]


def money_zh(m: Match[str]) -> str:
    scale = m["scale"]
    return zh.money(_currency(m), m["amt"], SCALE_TO_ZH.get(scale, scale) if scale else None)


def money_en(m: Match[str]) -> str:
    scale = m["scale"]
    return en.money(_currency(m), m["amt"], SCALE_TO_EN.get(scale, scale) if scale else None)


# --- words ---------------------------------------------------------------------------------------------


def _ends_sentence(m: Match[str]) -> bool:
    rest = m.string[m.end():m.end() + 3]
    return not rest.strip() or bool(re.match(r"\s+[A-Z\"“‘']", rest))


def abbreviation_en(m: Match[str]) -> str:
    word = m["abbr"] or m["bare"]
    if word == "St":
        return "Saint" if re.match(r"\s+[A-Z]", m.string[m.end():m.end() + 2]) else "Street"
    if word == "No":
        return "number"
    expansion = en.ABBREVIATIONS[word]
    if word not in en.TITLES and m.group().endswith(".") and _ends_sentence(m):
        expansion += "."
    return expansion


LATIN_ABBREVIATIONS = {"e.g.": "for example", "i.e.": "that is", "U.S.": "U S", "U.K.": "U K", "a.m.": "a m",
                       "p.m.": "p m", "U.S.A.": "U S A"}


def dotted_en(m: Match[str]) -> str:
    expansion = LATIN_ABBREVIATIONS[m.group()]
    can_end_sentence = m.group() in ("U.S.", "U.K.", "U.S.A.", "a.m.", "p.m.")
    return expansion + "." if can_end_sentence and _ends_sentence(m) else expansion


def acronym(m: Match[str]) -> str:
    spelled = en.letters(m["caps"])
    return spelled + "'s" if m["plural"] else spelled


def ampersand_zh(m: Match[str]) -> str:
    return "和"


def ampersand_en(m: Match[str]) -> str:
    return "and"


RULES: tuple[Rule, ...] = (
    Rule("ymd", r"(?<![\d.\-/])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=sep)"
         r"(?P<d>0?[1-9]|[12]\d|3[01])(?!\d)", ymd_zh, ymd_en),
    Rule("ym", r"(?<![\d.\-/])(?P<y>\d{4})-(?P<m>0[1-9]|1[0-2])(?P<d>)(?![\d\-])", ymd_zh, ymd_en),
    Rule("slash_date", r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})(?![\d/])", slash_date_zh, slash_date_en),
    Rule("zh_year", r"(?<![\d.])(?P<y>\d{4})(?=\s?年)", year_zh, lambda m: en.year(int(m["y"]))),
    Rule("month_day", rf"(?<![A-Za-z])(?P<mon>{MONTH})\.?\s(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
         r"(?:,?\s(?P<y>\d{4}))?(?![\d:])", None, month_day_en, by_script=True),
    Rule("day_month", rf"(?<![\d.])(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?\s(?P<mon>{MONTH})(?![A-Za-z])\.?"
         r"(?:,?\s(?P<y>\d{4})(?!\d))?", None, day_month_en, by_script=True),
    Rule("time", r"(?<![\d:.])(?P<h>[01]?\d|2[0-3]):(?P<mi>[0-5]\d)(?::(?P<s>[0-5]\d))?(?![\d:])"
         r"(?:\s?(?P<ap>[AaPp]\.?[Mm]\.?)(?![A-Za-z]))?", time_zh, time_en),
    Rule("phone", r"(?<![A-Za-z0-9+\-.,])(?:\+\d{1,3}[ -]?(?:\(\d{1,4}\)[ -]?)?\d{2,4}(?:[ -]\d{2,8}){1,3}"
         r"|\(\d{2,4}\)[ -]?\d{3,4}[ -]?\d{3,4}|0\d{1,3}-\d{7,8}|\d{3}-\d{3,4}-\d{4}|\d{3}-\d{4}"
         r"|1[3-9]\d{9}|1[3-9]\d[ -]\d{4}[ -]\d{4}|0\d{2,}|\d{12,})(?![\d\-]|[.,]\d)", phone_zh, phone_en),
    Rule("money_symbol", rf"(?P<code>)(?P<sym>US\$|HK\$|[$€£¥￥₩₹])\s?(?P<amt>{NUMBER})"
         rf"(?:\s?(?P<scale>{SCALE})(?![A-Za-z]))?", money_zh, money_en),
    Rule("money_code_before", rf"(?<![A-Za-z])(?P<code>{CURRENCY_CODE})(?P<sym>)\s?(?P<amt>{NUMBER})"
         rf"(?:\s?(?P<scale>{SCALE})(?![A-Za-z]))?", money_zh, money_en),
    Rule("money_code_after", rf"(?<![A-Za-z0-9.])(?P<sym>)(?P<amt>{NUMBER})\s?(?:(?P<scale>{SCALE})\s?)?"
         rf"(?P<code>{CURRENCY_CODE})(?![A-Za-z])", money_zh, money_en),
    Rule("year_en", r"(?<![A-Za-z])(?P<prep>(?i:in|since|by|from|until|till|of|year|before|after|during|circa))"
         r"\s(?P<y>1[1-9]\d\d|20\d\d)(?!\d|[.,]\d|\s?[%％])", None, year_en, by_script=True),
    Rule("decade", r"(?<![A-Za-z0-9])(?P<y>1\d{3}|20\d{2}|[1-9]0)'?s(?![A-Za-z])", decade_zh, decade_en),
    Rule("ordinal", r"(?<![A-Za-z0-9.])(?P<n>\d+)(?:st|nd|rd|th)(?![A-Za-z])", ordinal_zh, ordinal_en),
    Rule("range", rf"(?<![A-Za-z0-9.\-])(?P<a>{NUMBER})[%％]?(?:-|\s?[–~～]\s?)(?P<b>{NUMBER})"
         rf"(?:\s?(?P<unit>{UNIT})(?![A-Za-z]))?(?![\d\-]|\.\d)", range_zh, range_en),
    Rule("fraction", r"(?<![A-Za-z0-9./])(?P<a>\d{1,3})/(?P<b>\d{1,3})(?![\d/])", fraction_zh, fraction_en),
    Rule("version", r"(?<![A-Za-z0-9.])\d+(?:\.\d+){2,}(?!\d)", version_zh, version_en),
    Rule("quantity", rf"(?P<amt>{SIGNED_NUMBER})\s?(?P<unit>{UNIT})(?![A-Za-z/])", quantity_zh, quantity_en),
    Rule("number", SIGNED_NUMBER, number_zh, number_en),
    Rule("dotted", r"(?<![A-Za-z.])(?:e\.g\.|i\.e\.|U\.S\.A\.|U\.S\.|U\.K\.|a\.m\.|p\.m\.)", None, dotted_en,
         by_script=True),
    Rule("abbreviation", r"(?<![A-Za-z.])(?P<abbr>Dr|Mrs|Mr|Ms|Prof|St|Jr|Sr|vs|etc|approx|Mt|Ave|Rd|Dept|Gen|Capt"
         r"|Sgt|Lt|Col|Gov|Sen|Rep|No(?=\.\s?\d))\.(?![A-Za-z])|(?<![A-Za-z.])(?P<bare>vs)(?![A-Za-z.])", None,
         abbreviation_en, by_script=True),
    Rule("acronym", r"(?<![A-Za-z0-9])(?P<caps>[A-Z]{2,6})(?P<plural>s)?(?![A-Za-z])", acronym, acronym,
         by_script=True, other=acronym),
    Rule("ampersand", r"(?<=\s)&(?=\s)", ampersand_zh, ampersand_en),
)


def _combined(rules: tuple[Rule, ...]) -> re.Pattern[str]:
    """One alternation of all rules; inner group names get the rule's prefix so they stay unique."""
    alternatives = []
    for rule in rules:
        pattern = re.sub(r"\(\?P([<=])(\w+)", lambda m, name=rule.name: f"(?P{m[1]}{name}__{m[2]}", rule.pattern)
        alternatives.append(f"(?P<{rule.name}>{pattern})")
    return re.compile("|".join(alternatives))


COMBINED = _combined(RULES)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


def _nearest_script(text: str, position: int, step: int) -> tuple[int, str] | None:
    """(distance, script) of the nearest letter from `position` walking by `step`, within the sentence."""
    for distance in range(CONTEXT_WINDOW):
        index = position + step * distance
        if not 0 <= index < len(text) or text[index] in SENTENCE_STOPS:
            return None
        script = script_of(text[index])
        if script:
            return distance, script
    return None


def context_language(text: str, start: int, end: int, context_lang: str) -> str:
    """The language digits at text[start:end] are read in: that of the nearest letters (Chinese wins ties)."""
    found = [hit for hit in (_nearest_script(text, start - 1, -1), _nearest_script(text, end, 1)) if hit]
    if not found:
        return context_lang
    _, script = min(found, key=lambda hit: (hit[0], hit[1] != HAN))
    return language_for_script(script, context_lang)


def _handler(rule: Rule, lang: str) -> Handler | None:
    if lang in ("zh", "yue"):
        return rule.zh
    if lang == "en":
        return rule.en
    return rule.other


def _needs_space(char: str) -> bool:
    return char.isalnum() and script_of(char) not in (HAN, KANA)


def _in_reading_order(pieces: list[Piece], match: Match[str]) -> list[Piece]:
    """Pieces read in another order than written ("2026-11-27" -> "November ... 2026") all map to the whole
    match, so that word offsets never run backwards."""
    starts = [start for _, start, _ in pieces]
    if starts == sorted(starts):
        return list(pieces)
    return [whole(match, "".join(text for text, _, _ in pieces))]


def _padded(rewrite: Rewrite, match: Match[str]) -> Rewrite:
    """Keep spelled-out words apart from letters or digits around them ("5G" -> "five G")."""
    if not rewrite:
        return rewrite
    pieces = [whole(match, rewrite)] if isinstance(rewrite, str) else _in_reading_order(rewrite, match)
    text, length = match.string, match.end() - match.start()
    if match.start() > 0 and _needs_space(text[match.start() - 1]) and _needs_space(pieces[0][0][:1]):
        pieces.insert(0, (" ", 0, 1))
    if match.end() < len(text) and _needs_space(text[match.end()]) and _needs_space(pieces[-1][0][-1:]):
        pieces.append((" ", length - 1, length))
    return pieces


def normalize(mapped: MappedText, context: str, offset: int, context_lang: str) -> MappedText:
    """Spell out `mapped` (whose text sits at `offset` in `context`, the whole document's text)."""

    def rewrite(combined_match: Match[str]) -> Rewrite:
        rule = RULES_BY_NAME[combined_match.lastgroup]
        match = rule.regex.match(mapped.text, combined_match.start())
        if rule.by_script:
            lang = language_for_script(LATIN, context_lang)
        else:
            lang = context_language(context, offset + match.start(), offset + match.end(), context_lang)
        handler = _handler(rule, lang)
        return _padded(handler(match), match) if handler else None

    return mapped.rewrite(COMBINED, rewrite)
