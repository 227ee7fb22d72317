"""Spoken forms: how dates, times, prices and lists read aloud on the phone (TTS-friendly, short)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal


def spoken_time(value: time | datetime) -> str:
    """9:30 AM, 1:00 PM, noon -- the form both TTS engines read naturally ("12:00 PM" is often heard wrong)."""
    if value.minute == 0 and value.hour in (0, 12):
        return "noon" if value.hour == 12 else "midnight"
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def spoken_day(value: date | datetime) -> str:
    """Tuesday, December 1."""
    return f"{value:%A}, {value:%B} {value.day}"


def slot_label(start: datetime) -> str:
    """Tuesday, December 1 at 9:00 AM (start already in the shop's time zone)."""
    return f"{spoken_day(start)} at {spoken_time(start)}"


def spoken_duration(minutes: int) -> str:
    hours, rest = divmod(int(minutes), 60)
    if hours == 0:
        return f"{rest} minutes"
    head = "an hour" if hours == 1 else f"{hours} hours"
    if rest == 0:
        return head
    if rest == 30:
        return "an hour and a half" if hours == 1 else f"{hours} and a half hours"
    return f"{head} and {rest} minutes"


def spoken_price(price: Decimal | float | str | None) -> str:
    if price is None or price == "":
        return ""
    value = Decimal(str(price))
    if value == value.to_integral_value():
        return f"${int(value)}"
    return f"${value:.2f}"


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """["a"] -> "a"; ["a", "b"] -> "a or b"; ["a", "b", "c"] -> "a, b, or c"."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


# Service names that take an article when spoken ("an oil change", but "brake service").
_COUNTABLE = {
    "change", "rotation", "inspection", "alignment", "replacement", "check", "flush", "diagnostic",
    "tune-up", "tuneup", "repair", "wash", "detail", "test", "swap", "install", "installation",
}


def service_phrase(name: str, *, article: bool = True) -> str:
    """"Oil change" -> "an oil change"; "AC service" -> "AC service" (acronyms keep their case)."""
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in name.split()]
    text = " ".join(words)
    if article and words and words[-1].lower() in _COUNTABLE:
        return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"
    return text


def services_phrase(names: Iterable[str], *, article: bool = True) -> str:
    return join_words([service_phrase(n, article=article) for n in names])


def vehicle_label(year: int | None, make: str, model: str) -> str:
    return " ".join(str(p) for p in (year, make, model) if p)
