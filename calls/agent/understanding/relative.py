"""Days and times said relative to the slot being talked about, not to today.

"Push it back a day", "same time next week", "an hour later", "the day after", "move it up an hour", "earlier that
day": a person at the desk hears these against the appointment being moved (or the time just read back), and so
must we. This module reads the move (`read_relative`) and, once the dialogue knows its anchor, turns it into the
day and time it means (`resolve`). The amounts ("a day", "half an hour", "a couple of days") are Duckling's
durations; the directions ("back", "up", "later") are ours.

It also holds the one date rule of corrections: a bare weekday said while another day is being discussed means
that weekday of the discussed day's week ("Tuesday the 8th? ... Wednesday instead" is the 9th).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from calls.agent.phrases import spoken_time
from calls.agent.understanding import engine
from calls.agent.understanding.text import normalize
from calls.agent.understanding.when import DatePref, TimePref


@dataclass(frozen=True)
class RelativeMove:
    days: int = 0  # whole days on from the anchor's day (negative: earlier)
    minutes: int = 0  # on from the anchor's time
    same_time: bool = False  # the anchor's time of day ("same time, but Friday")
    window: str = ""  # "earlier" / "later": on the anchor's day, before / after its time, no amount said
    # "push it back a day" shifts the slot, hour and all; "the day after" names a day, whose times are offered
    shifts: bool = False
    a_little: bool = False  # "a bit earlier": near the anchor's time, not anywhere before it
    said: tuple[str, ...] = ()  # the words it was read from (normalized), to keep out of the absolute reading

    @property
    def moves_day(self) -> bool:
        return bool(self.days or self.minutes or self.window)


_LATER, _EARLIER = 1, -1
# A verb of moving, then (within a few words: "push my oil change back") the way it goes.
_MOVE_VERB = r"(?:push|pushing|pushed|bump|bumping|move|moving|shift|shifting|slide|put|set|bring|knock|take|make)"
_DIRECTION_BEFORE = re.compile(
    rf"\b{_MOVE_VERB}\b(?: \w+){{0,4}}? (back|out|forward|up|later|earlier)(?: \w+){{0,3}}?(?: by)?\s*$"
)
# "push it a day": pushing, with no direction, is later
_PUSH_BEFORE = re.compile(
    r"\b(?:push|pushing|bump|bumping|delay|postpone|move|moved|moving)\b(?: \w+){0,3}?(?: by)?\s*$"
)
_DIRECTION_AFTER = re.compile(
    r"^\s*(?:(later|afterwards|back|earlier|sooner|forward)\b|"
    # "a week after the 15th", "an hour before closing" name their own time; "a day after that" is the slot's
    r"(after|before)\b(?= (?:that|then|it)\b| ?$| (?:please|if|instead|would|works|is|maybe)\b))"
)
_DIRECTIONS = {
    "back": _LATER,
    "out": _LATER,
    "later": _LATER,
    "after": _LATER,
    "afterwards": _LATER,
    "forward": _EARLIER,
    "up": _EARLIER,
    "earlier": _EARLIER,
    "before": _EARLIER,
    "sooner": _EARLIER,
}
_FROM_THEN = re.compile(r"^\s*(?:from|after) (?:then|that|that day|there)\b")

# No amount said: the day next to the anchor, the week after it, the same day earlier or later.
_NEXT_DAY = re.compile(
    r"\b(?:the )?(?:day (after|before)(?: that)?|(next|following|previous) day)\b"
    r"(?! (?:tomorrow|today|yesterday|the|next|this|\w+day)\b)"
)
# "same time as before", "same time as last time": the anchor's own time, named by what it was; these words are no
# time of their own ("before 1 o'clock", "last time" as a day)
_AS_BEFORE = re.compile(
    r"\bsame (?:times?|hours?|days?(?: and times?)?) (as (?:before|last time|it was|they were|usual|now|originally|"
    r"(?:the|my) (?:original|old|current) (?:one|ones|time|times|appointment|booking)|what i (?:had|have)|"
    r"i (?:had|have) (?:it|now)|i had before|it is now|its at now|the other one))\b"
)
_WEEK_AFTER = re.compile(r"\b(?:the )?week after(?: that)?\b(?! (?:next|the|this|\w+day)\b)|\bthe following week\b")
_SAME_TIME = re.compile(
    r"\b(?:(?:at )?the same times?|same times?|same hours?|same days? (?:and|&) times?|same days? same times?)\b"
)
# "same time next week" is an idiom for one week on; "next week, same time" names a week and keeps the hour
_SAME_TIME_NEXT_WEEK = re.compile(
    r"\bsame (?:days? (?:and |& )?(?:same )?)?times? (?:next week|the next week|the following week|the week after)\b"
    # "next week, same day and time": the week after the slot's, on its own weekday
    r"|\b(?:next|following) week,? (?:on )?(?:the )?same days?\b"
)
_SAME_DAY_WINDOW = re.compile(
    r"\b(?:(?:a )?(?:little |tiny )?(?:bit )?(earlier|later)(?: on)? (?:that|the same|on that|on the same|in the) day|"
    r"same day\b(?: \w+){0,4}? (earlier|later)|"
    r"(earlier|later) (?:that|the same) (?:morning|afternoon))\b"
)
# "can we make it a bit earlier?": earlier or later than the time being discussed, said of it alone
_BARE_WINDOW = re.compile(
    r"(?:\b(?:make it|make that|move it|move that|do it|have it|can it be|could it be|come in|bring it in|go)"
    r"(?: a)?(?: little| tiny| bit)*(?: bit)?|\ba (?:little|tiny|bit|little bit)) (earlier|later)\b(?: in the day| on)?"
    r"(?=\s*(?:please|if (?:possible|you can)|instead|then|than that|that day|maybe)?\s*$)"
)


_POINT_WORDS = re.compile(r"\b(in|from now|from today|from tomorrow|ago)\b")
# Lines without any of these words move nothing (and cost no Duckling call).
_CUES = re.compile(
    r"\b(later|earlier|sooner|back|out|forward|up|after|afterwards|before|then|that|push|pushing|"
    r"bump|bumping|delay|postpone|same|following|previous|next)\b"
)


def _durations(s: str) -> list[tuple[int, int, int, int]]:
    """(start, end, days, minutes) of the amounts of time said ("a day", "an hour", "half an hour", "two weeks");
    those Duckling reads as a point in time ("in three days", "an hour from now") are no move of a slot."""
    found = engine.parse(s, dims=("duration",))
    # (any reference time does: only where Duckling sees a point in time matters)
    points = [e for e in engine.parse(s, dims=("time",)) if _POINT_WORDS.search(e.text)]
    out = []
    for e in found:
        # ("come in one day later": a direction after the amount makes it a move, whatever Duckling saw in "in")
        if any(p.start <= e.start and e.end <= p.end for p in points) and not _DIRECTION_AFTER.match(s[e.end :]):
            continue
        unit, value = e.value.get("unit"), e.value.get("value")
        if not isinstance(value, int | float):
            continue
        if unit in ("day", "week"):
            days = round(value * (7 if unit == "week" else 1))
            out.append((e.start, e.end, days, 0))
        elif unit in ("hour", "minute"):
            seconds = (e.value.get("normalized") or {}).get("value", 0)
            out.append((e.start, e.end, 0, round(seconds / 60)))
    return out


def read_relative(text: str, *, lang: str = "EN") -> RelativeMove | None:
    """The move a caller asks for relative to the slot being discussed, or None when they said none."""
    if lang.upper() != "EN":
        return None
    s = normalize(text)
    if not _CUES.search(s):
        return None
    days = minutes = 0
    window = ""
    shifted = a_little = False
    said: list[str] = []
    for a, b, d, mins in _durations(s):
        before, after = s[:a], s[b:]
        sign = 0
        # (the words kept out of the absolute reading start at the direction: "push the thursday one back a day"
        # still says which appointment)
        start = a
        found = _DIRECTION_BEFORE.search(before)
        if found:
            sign, start = _DIRECTIONS[found.group(1)], found.start(1)
        tail = _DIRECTION_AFTER.match(after) or _FROM_THEN.match(after)
        if not sign and tail:
            word = next((g for g in tail.groups() if g), "") if tail.re is _DIRECTION_AFTER else ""
            sign = _DIRECTIONS.get(word, _LATER)
        if not sign and _PUSH_BEFORE.search(before):
            sign = _LATER  # (a direction said after the amount wins: "move it two days earlier")
        if not sign:
            continue
        end = b + (tail.end() if tail else 0)
        days += sign * d
        minutes += sign * mins
        shifted = True
        said.append(s[start:end])
    if not days and (hit := _NEXT_DAY.search(s)):
        days = -1 if (hit.group(1) == "before" or hit.group(2) == "previous") else 1
        said.append(hit.group(0))
    if not days and (hit := _WEEK_AFTER.search(s) or _SAME_TIME_NEXT_WEEK.search(s)):
        days = 7
        said.append(hit.group(0))
    if not minutes and (hit := _SAME_DAY_WINDOW.search(s) or _BARE_WINDOW.search(s)):
        window = next(g for g in hit.groups() if g)
        said.append(hit.group(0))
        a_little = bool(re.search(r"\b(little|bit|tad|tiny)\b", hit.group(0)))
    same_time = bool(_SAME_TIME.search(s))
    if same_time and (hit := _AS_BEFORE.search(s)):
        said.append(hit.group(1))
    if not (days or minutes or window or same_time):
        return None
    return RelativeMove(
        days=days,
        minutes=minutes,
        same_time=same_time,
        window=window,
        said=tuple(said),
        shifts=shifted,
        a_little=a_little,
    )


def without_move(text: str, move: RelativeMove) -> str:
    """The line with the words of the move taken out: what is left is read as days and times of its own."""
    s = normalize(text)
    for words in move.said:
        s = s.replace(words, " ", 1)
    return " ".join(s.split())


_A_LITTLE_HOURS = 2  # "a bit later" than 10 is before noon


def _day_label(d: date) -> str:
    return f"{d:%A}, {d:%B} {d.day}"


def resolve(
    move: RelativeMove,
    day: date,
    at: time | None,
    *,
    said_date: DatePref | None = None,
    said_time: TimePref | None = None,
) -> tuple[DatePref | None, TimePref | None]:
    """The day and time a move means from an anchor slot (`day`, `at`), with what else the line said.

    A slot shifted keeps the anchor's time ("push it back a day" is the same hour the next day); a day said outright
    ("same time, but Friday") wins over a relative one. Returns (None, None) when the move needs a time the
    anchor does not have ("an hour later" of a day without one)."""
    new_day = day + timedelta(days=move.days)
    if move.minutes:
        if at is None:
            return None, None
        moved = datetime.combine(new_day, at) + timedelta(minutes=move.minutes)
        exact = moved.time()
        return DatePref(moved.date(), moved.date(), label=_day_label(moved.date())), TimePref(
            exact=exact, label=spoken_time(exact)
        )
    if move.window:
        if at is None:
            return None, None
        on_day = DatePref(new_day, new_day, label=_day_label(new_day))
        anchor = datetime.combine(new_day, at)
        near = timedelta(hours=_A_LITTLE_HOURS)
        if move.window == "earlier":
            start = max(anchor - near, datetime.combine(new_day, time(0))).time() if move.a_little else None
            return on_day, TimePref(start=start, end=at, label=f"before {spoken_time(at)}")
        after = (anchor + timedelta(minutes=1)).time()
        end = min(anchor + near, datetime.combine(new_day, time(23, 59))).time() if move.a_little else None
        return on_day, TimePref(start=after, end=end, label=f"after {spoken_time(at)}")
    date_pref = said_date
    if date_pref is None and move.days:
        date_pref = DatePref(new_day, new_day, label=_day_label(new_day))
    time_pref = said_time
    if time_pref is None and at is not None and (move.shifts or move.same_time):
        time_pref = TimePref(exact=at, label=spoken_time(at))
    return date_pref, time_pref


def in_week_of(pref: DatePref, discussed: date, today: date) -> DatePref:
    """A bare weekday ("Wednesday instead") said while `discussed` is being talked about: that weekday of the
    discussed day's week (Monday to Sunday), unless that day is already past (then the coming one, as read)."""
    if not pref.weekdays_only:
        return pref
    if pref.after_discussed and pref.single_day is not None:  # "the Monday after": the first one after that day
        after = discussed + timedelta(days=(pref.single_day.weekday() - discussed.weekday() - 1) % 7 + 1)
        # (counted once: read again against another day it would move on a week)
        return replace(pref, start=after, end=after, days=(), label=_day_label(after), after_discussed=False)
    monday = discussed - timedelta(days=discussed.weekday())
    moved = [monday + timedelta(days=d.weekday()) for d in pref.dates()]
    if any(d <= today for d in moved) or moved == pref.dates():
        return pref
    if len(moved) == 1:
        return replace(pref, start=moved[0], end=moved[0], label=_day_label(moved[0]))
    return replace(
        pref,
        start=min(moved),
        end=max(moved),
        days=tuple(sorted(moved)),
        label=" or ".join(_day_label(d) for d in sorted(moved)),
    )
