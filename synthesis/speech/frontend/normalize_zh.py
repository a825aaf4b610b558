"""Chinese readings of numbers, dates, times, money and units (strings in, Han characters out)."""

from .decimals import read_decimal

_DIGITS = "零一二三四五六七八九"
_YEAR_DIGITS = "〇一二三四五六七八九"
_PHONE_DIGITS = "零幺二三四五六七八九"  # "1" is read yāo in phone numbers
_SECTION_UNITS = ("", "十", "百", "千")
_BIG_UNITS = ("", "万", "亿", "万亿")
_LARGEST_CARDINAL = 10**16


def _section(number: int) -> str:
    """1..9999 without the leading-one-ten simplification."""
    words, zero_pending = [], False
    for power in (3, 2, 1, 0):
        digit = number // 10**power % 10
        if digit == 0:
            zero_pending = bool(words)
            continue
        if zero_pending:
            words.append("零")
            zero_pending = False
        words.append(_DIGITS[digit] + _SECTION_UNITS[power])
    return "".join(words)


def cardinal(number: int) -> str:
    if number < 0:
        return "负" + cardinal(-number)
    if number == 0:
        return "零"
    if number >= _LARGEST_CARDINAL:
        return digits(str(number))
    sections = []
    while number:
        number, section = divmod(number, 10000)
        sections.append(section)
    words, zero_pending = "", False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            zero_pending = bool(words)
            continue
        if words and (zero_pending or section < 1000):
            words += "零"
        words += _section(section) + _BIG_UNITS[index]
        zero_pending = False
    if words.startswith("一十"):
        words = words[1:]
    if words.startswith(("二千", "二百", "二万", "二亿")):
        words = "两" + words[1:]
    return words


def digits(text: str, *, phone: bool = False) -> str:
    table = _PHONE_DIGITS if phone else _DIGITS
    return "".join(table[int(char)] for char in text if char.isdigit())


def decimal(text: str) -> str:
    return read_decimal(text, cardinal, digits, point="点", minus="负")


def year(text: str) -> str:
    return "".join(_YEAR_DIGITS[int(char)] for char in text)


def date(year_text: str | None, month: int | None, day: int | None) -> str:
    words = f"{year(year_text)}年" if year_text else ""
    if month:
        words += f"{cardinal(month)}月"
    if day:
        words += f"{cardinal(day)}日"
    return words


def clock_time(hour: int, minute: int, second: int | None = None, meridiem: str | None = None) -> str:
    words = {"a": "上午", "p": "下午"}.get((meridiem or " ")[0].lower(), "")
    words += ("两" if hour == 2 else cardinal(hour)) + "点"
    if minute or second:
        words += ("零" if minute < 10 else "") + cardinal(minute) + "分"
    if second:
        words += cardinal(second) + "秒"
    return words


# code -> name; CNY is read in 元/角/分
CURRENCIES = {
    "USD": "美元", "EUR": "欧元", "GBP": "英镑", "CNY": "元", "JPY": "日元", "HKD": "港元", "KRW": "韩元",
    "INR": "卢比",
}


def money(code: str, amount: str, scale_word: str | None = None) -> str:
    amount = amount.replace(",", "")
    if code != "CNY" or scale_word:
        return decimal(amount) + (scale_word or "") + CURRENCIES[code]
    whole, _, fraction = amount.partition(".")
    if len(fraction) > 2:
        return decimal(amount) + "元"
    units = int(whole or "0")
    jiao, fen = (int(char) for char in fraction.ljust(2, "0"))
    words = f"{cardinal(units)}元" if units or not (jiao or fen) else ""
    if jiao:
        words += f"{_DIGITS[jiao]}角"
    if fen:
        words += ("零" if words and not jiao else "") + f"{_DIGITS[fen]}分"
    return words


UNITS = {
    "km/h": "公里每小时", "m/s": "米每秒", "km": "公里", "kg": "公斤", "cm": "厘米", "mm": "毫米", "mg": "毫克",
    "ml": "毫升", "mL": "毫升", "m": "米", "g": "克", "L": "升", "ms": "毫秒", "℃": "摄氏度", "°C": "摄氏度",
    "°F": "华氏度", "°": "度", "TB": "T B", "GB": "G B", "MB": "M B", "KB": "K B", "kB": "K B",
}
PERCENT_SIGNS = ("%", "％")


def quantity(amount: str, unit: str) -> str:
    if unit in PERCENT_SIGNS:
        return percent(amount)
    if unit in ("℃", "°C", "°F") and amount[:1] in "-−":
        return "零下" + decimal(amount[1:]) + UNITS[unit]
    return decimal(amount) + UNITS[unit]


def percent(amount: str) -> str:
    if amount[:1] in "-−":
        return "负百分之" + decimal(amount[1:])
    return "百分之" + decimal(amount)


def fraction(numerator: int, denominator: int) -> str:
    return f"{cardinal(denominator)}分之{cardinal(numerator)}"


def ordinal(number: int) -> str:
    return "第" + cardinal(number)
