"""How the shop's dates and times read aloud and in messages: one formatter for the agent, booking errors and
confirmations ("Tuesday, December 1 at 9:00 AM", "noon", "an hour and a half")."""

from __future__ import annotations

from datetime import date, datetime, time

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def spoken_time(value: time | datetime) -> str:
    """9:30 AM, 1:00 PM, noon -- the form both TTS engines read naturally ("12:00 PM" is often heard wrong)."""
    if value.minute == 0 and value.hour in (0, 12):
        return "noon" if value.hour == 12 else "midnight"
    hour = value.hour % 12 or 12
    return f"{hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def spoken_day(value: date | datetime) -> str:
    """Tuesday, December 1."""
    return f"{WEEKDAYS[value.weekday()]}, {value:%B} {value.day}"


def slot_label(start: datetime) -> str:
    """Tuesday, December 1 at 9:00 AM (start already in the shop's time zone)."""
    return f"{spoken_day(start)} at {spoken_time(start)}"


def spoken_duration(minutes: int | float) -> str:
    """30 minutes, an hour, an hour and a half, 2 hours and 15 minutes."""
    hours, rest = divmod(round(minutes), 60)
    if hours == 0:
        return f"{rest} minute{'s' if rest != 1 else ''}"
    head = "an hour" if hours == 1 else f"{hours} hours"
    if rest == 0:
        return head
    if rest == 30:
        return "an hour and a half" if hours == 1 else f"{hours} and a half hours"
    return f"{head} and {rest} minutes"
