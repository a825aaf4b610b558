"""Reading a written decimal number, shared by the English and Chinese readers (they differ only in words)."""

from collections.abc import Callable


def read_decimal(text: str, cardinal: Callable[[int], str], digits: Callable[[str], str], *, point: str,
                 minus: str) -> str:
    """`"1,234.5"`, `"-3"`, `"0.25"` read aloud: the whole part as a cardinal, the fraction digit by digit."""
    text = text.replace(",", "")
    negative = text[:1] in "-−"
    whole, _, fraction = text.lstrip("-−").partition(".")
    words = cardinal(int(whole or "0"))
    if fraction:
        words += point + digits(fraction)
    return (minus if negative else "") + words
