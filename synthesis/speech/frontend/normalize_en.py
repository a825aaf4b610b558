"""English readings of numbers, dates, times, money and units (strings in, words out)."""

import re

from .decimals import read_decimal

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_IRREGULAR_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
}
MONTHS = (
    "January February March April May June July August September October November December"
).split()
_LARGEST_CARDINAL = 10**15


def cardinal(number: int) -> str:
    if number < 0:
        return "minus " + cardinal(-number)
    if number >= _LARGEST_CARDINAL:
        return digits(str(number))
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    for scale, name in _SCALES:
        if number >= scale:
            high, rest = divmod(number, scale)
            return f"{cardinal(high)} {name}" + (f" {cardinal(rest)}" if rest else "")
    raise AssertionError("unreachable")


def ordinal(number: int) -> str:
    head, last = re.fullmatch(r"(.*[ -])?([a-z]+)", cardinal(number)).groups()
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return (head or "") + last


def digits(text: str) -> str:
    return " ".join(_ONES[int(char)] for char in text if char.isdigit())


def decimal(text: str) -> str:
    """A written number ("1,234.5", "-3", "0.25") read aloud."""
    return read_decimal(text, cardinal, digits, point=" point ", minus="minus ")


def year(number: int) -> str:
    if not 1000 <= number <= 2999 or 2000 <= number <= 2009:
        return cardinal(number)
    century, rest = divmod(number, 100)
    if rest == 0:
        return f"{cardinal(century)} hundred"
    return f"{cardinal(century)} " + (f"oh {_ONES[rest]}" if rest < 10 else cardinal(rest))


def plural(word_group: str) -> str:
    """The plural of the last word: "nineteen ninety" -> "nineteen nineties"."""
    if word_group.endswith("y"):
        return word_group[:-1] + "ies"
    return word_group + "s"


def date(year_number: int | None, month: int | None, day: int | None) -> str:
    parts = []
    if month:
        parts.append(MONTHS[month - 1])
    if day:
        parts.append(ordinal(day) if month else f"the {ordinal(day)}")
    text = " ".join(parts)
    if year_number is not None:
        text = f"{text}, {year(year_number)}" if day else f"{text} {year(year_number)}".strip()
    return text


def clock_time(hour: int, minute: int, second: int | None = None, meridiem: str | None = None) -> str:
    words = cardinal(hour)
    if minute == 0 and not second:
        words += "" if meridiem else " o'clock"
    else:
        words += " " + (f"oh {_ONES[minute]}" if minute < 10 else cardinal(minute))
    if second:
        words += f" and {cardinal(second)} second" + ("s" if second != 1 else "")
    if meridiem:
        words += f" {meridiem[0]} m"
    return words


# code -> (major singular, major plural, minor singular, minor plural or None when read as a decimal)
CURRENCIES = {
    "USD": ("dollar", "dollars", "cent", "cents"),
    "EUR": ("euro", "euros", "cent", "cents"),
    "GBP": ("pound", "pounds", "penny", "pence"),
    "CNY": ("yuan", "yuan", "fen", "fen"),
    "JPY": ("yen", "yen", None, None),
    "HKD": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "KRW": ("won", "won", None, None),
    "INR": ("rupee", "rupees", "paisa", "paise"),
}


def money(code: str, amount: str, scale_word: str | None = None) -> str:
    singular, plural_name, minor_one, minor_many = CURRENCIES[code]
    amount = amount.replace(",", "")
    whole, _, fraction = amount.partition(".")
    if scale_word:
        return f"{decimal(amount)} {scale_word} {plural_name}"
    if minor_one is None or len(fraction) > 2:
        name = singular if amount in ("1", "1.0") else plural_name
        return f"{decimal(amount)} {name}"
    units, cents = int(whole or "0"), int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if units or not cents:
        parts.append(f"{cardinal(units)} {singular if units == 1 else plural_name}")
    if cents:
        parts.append(f"{cardinal(cents)} {minor_one if cents == 1 else minor_many}")
    return " and ".join(parts)


# unit -> (singular, plural)
UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "m/s": ("meter per second", "meters per second"),
    "km": ("kilometer", "kilometers"),
    "kg": ("kilogram", "kilograms"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "mg": ("milligram", "milligrams"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "m": ("meter", "meters"),
    "g": ("gram", "grams"),
    "L": ("liter", "liters"),
    "ms": ("millisecond", "milliseconds"),
    "℃": ("degree Celsius", "degrees Celsius"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "TB": ("terabyte", "terabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"),
    "%": ("percent", "percent"),
    "％": ("percent", "percent"),
}


def quantity(amount: str, unit: str) -> str:
    singular, plural_name = UNITS[unit]
    return f"{decimal(amount)} {singular if amount == '1' else plural_name}"


def fraction(numerator: int, denominator: int) -> str:
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    else:
        name = ordinal(denominator) + ("" if numerator == 1 else "s")
    return f"{cardinal(numerator)} {name}"


def letters(text: str) -> str:
    """Spell a token: letters as capitals, digits as words ("API" -> "A P I")."""
    return " ".join(_ONES[int(char)] if char.isdigit() else char.upper() for char in text if not char.isspace())


ABBREVIATIONS = {
    "Dr": "Doctor", "Mr": "Mister", "Mrs": "Missus", "Ms": "Miz", "Prof": "Professor", "Jr": "Junior",
    "Sr": "Senior", "vs": "versus", "etc": "et cetera", "approx": "approximately", "Mt": "Mount",
    "Ave": "Avenue", "Rd": "Road", "Dept": "Department", "Gen": "General", "Capt": "Captain",
    "Sgt": "Sergeant", "Lt": "Lieutenant", "Col": "Colonel", "Gov": "Governor", "Sen": "Senator",
    "Rep": "Representative",
}
# Titles come before a name, so the period after them never ends a sentence.
TITLES = frozenset({"Dr", "Mr", "Mrs", "Ms", "Prof", "Mt", "Gen", "Capt", "Sgt", "Lt", "Col", "Gov", "Sen", "Rep"})
