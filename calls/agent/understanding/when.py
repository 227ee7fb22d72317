"""The day and the time of day a caller means.

Duckling reads the time expressions ("the 7th of this month", "quarter past 9 in the morning", "between 9 and
11", "the day after tomorrow"). This module keeps only what Duckling does not know: how a service shop's
callers talk (an hour without am/pm is shop hours: 1 to 6 is the afternoon; "first thing" is opening time;
"after lunch" starts at 12:30; "end of the week" is Thursday to Saturday), days named by holiday or by the
shop's closures, corrections ("tuesday, no, wednesday"), and Duckling's known misses ("morning 10", a bare
"07:15" read as evening, "a week from friday", a part of day trailing an explicit time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from calls.agent.phrases import spoken_time
from calls.agent.understanding import constraints, engine
from calls.agent.understanding.named_days import named_day_spans
from calls.agent.understanding.text import (
    HOUR_WORDS,
    ONE_PRONOUN_AFTER,
    normalize,
    numerize,
    one_is_pronoun,
    spoken_clock_times,
)


@dataclass(frozen=True)
class DatePref:
    start: date
    end: date
    days: tuple[date, ...] = ()  # explicit days ("tuesday or thursday"); empty means every day in start..end
    label: str = ""  # how the caller put it, for read-backs ("next week")
    soonest: bool = False  # the caller is open ("asap", "any day next week"): the soonest opening first
    weekdays_only: bool = False  # plain weekday names ("tuesday"): read inside a week under discussion
    # Days ruled out ("any day but Monday", "not the 7th"): never offered (understanding.constraints)
    avoid_weekdays: frozenset[int] = frozenset()
    avoid_days: tuple[date, ...] = ()
    only_avoids: bool = False  # nothing but ruled-out days was said: the period is the one under discussion
    after_discussed: bool = False  # "the Monday after (that)": the first such weekday after the day under discussion
    week_of: date | None = None  # "the week of the 14th": the whole week named by one of its days (that day)
    # "whatever works", "anytime": the caller leaves it to us (the day under discussion stays), not "asap"
    deferring: bool = False

    @property
    def single_day(self) -> date | None:
        if self.start == self.end:
            return self.start
        if len(self.days) == 1:
            return self.days[0]
        return None

    def dates(self) -> list[date]:
        days = list(self.days) or [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]
        if self.avoid_weekdays or self.avoid_days:
            days = [d for d in days if d.weekday() not in self.avoid_weekdays and d not in self.avoid_days]
        return days


@dataclass(frozen=True)
class TimePref:
    exact: time | None = None  # "nine thirty", "around 10"
    start: time | None = None  # window ("after 2", "in the morning")
    end: time | None = None
    earliest: bool = False  # "first thing"
    latest: bool = False  # "end of the day"
    label: str = ""
    approximate: bool = False  # "around 3", "3ish": a nearby time will do
    # "Saturday morning, earliest you got": the earliest (latest) within the window, which bounds the search too;
    # "first thing" alone is the earliest of the day, its window only a description.
    in_window: bool = False

    @property
    def soonest(self) -> bool:
        """ "As early as you can": the earliest of the day meant, or with no day, the soonest opening."""
        return self.earliest and not (self.exact or self.start or self.end)

    def to_param(self) -> str:
        """The get_available_slots `time_preference` form: "09:30", "07:00-12:00", "earliest", "latest", or a window
        and a mode ("00:00-12:00 earliest")."""
        if self.exact:
            return f"{self.exact:%H:%M}"
        mode = "earliest" if self.earliest else ("latest" if self.latest else "")
        window = f"{(self.start or time(0)):%H:%M}-{(self.end or time(23, 59)):%H:%M}"
        if mode and self.in_window and (self.start or self.end):
            return f"{window} {mode}"  # "Saturday morning, earliest you got": "00:00-12:00 earliest"
        if mode:
            return mode  # "end of the day": the day's last openings, which lie in its window when it has any
        if self.start or self.end:
            return window
        return ""

    def contains(self, t: time) -> bool:
        if self.exact:
            return t == self.exact
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)


# --- the shop's own words -----------------------------------------------------------------------------------

_WD = r"(monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|saturday|sunday)s?"
_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "tues": 1,
    "wednesday": 2,
    "weds": 2,
    "thursday": 3,
    "thurs": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_HOUR = r"(\d{1,2}(?::\d\d)?|" + "|".join(HOUR_WORDS) + r")"


@dataclass(frozen=True)
class PartOfDay:
    pattern: str
    start: time | None
    end: time | None
    label: str
    earliest: bool = False
    latest: bool = False
    in_window: bool = False  # the earliest or latest within the window (TimePref.in_window)


# The shop's day, most specific first. "first thing" is opening time, whatever the weekday's hours.
PARTS_OF_DAY = [
    # What the caller rules out of the day: "not too early", "not first thing", "no mornings".
    PartOfDay(
        r"\b(not|nothing|no|nothin) (too|so|very|super|real|really)? ?(early|first thing)\b|"
        r"\bnot (at|in)? ?the crack of dawn\b",
        time(9),
        None,
        "not too early in the day",
    ),
    PartOfDay(
        r"\b(not|nothing|no) (too|so|very|super|real|really)? ?late\b", None, time(15), "not too late in the day"
    ),
    PartOfDay(r"\b(not|no|cant do|cant make) (in the |the )?mornings?\b", time(12), None, "in the afternoon"),
    PartOfDay(r"\b(not|no|cant do|cant make) (in the |the )?afternoons?\b", None, time(12), "in the morning"),
    PartOfDay(
        r"\b(first ?thing|early morning|first ?appointment|crack of dawn|when you open|as soon as you open|"
        r"right when you open)\b",
        None,
        time(10),
        "first thing in the morning",
        earliest=True,
    ),
    # the earliest time of the day said; with no day said, the soonest opening (read_when)
    PartOfDay(
        r"\b(as early as (possible|you can|you could|you have|you got)|earliest (time|slot|you have|you got))\b",
        None,
        None,
        "as early as possible",
        earliest=True,
    ),
    PartOfDay(r"\blate morning\b", time(10), time(12), "late in the morning"),
    PartOfDay(r"\bmid ?morning\b", time(9), time(11), "mid-morning"),
    PartOfDay(r"\bafter (lunch|lunchtime|lunch time)\b", time(12, 30), None, "after lunch"),
    PartOfDay(r"\bbefore (lunch|lunchtime|lunch time)\b", None, time(12), "before lunch"),
    # ("when am I coming in": the verb, not a.m.)
    PartOfDay(r"\b(mornings?|(?<!\bi )am(?! (i|we)\b))\b", None, time(12), "in the morning"),
    PartOfDay(r"\b(lunch|lunchtime|lunch time|midday)\b", time(11, 30), time(13, 30), "around lunchtime"),
    PartOfDay(r"\bearly afternoon\b", time(12), time(15), "early in the afternoon"),
    PartOfDay(r"\bmid ?afternoon\b", time(13), time(16), "mid-afternoon"),
    PartOfDay(
        r"\b(as )?late as (possible|you can|you could|you have|you go|you got)\b",
        time(15),
        None,
        "as late as possible",
        latest=True,
    ),
    PartOfDay(
        r"\b(end of the day|end of day|close of business|before you close|closing time|last appointment|"
        r"latest (time|slot|you have|you got|appointment))\b",
        time(15),
        None,
        "late in the day",
        latest=True,
    ),
    PartOfDay(r"\b(late afternoon|after work|later in the day)\b", time(15), None, "late in the day"),
    PartOfDay(r"\b(afternoons?|pm)\b", time(12), time(17), "in the afternoon"),
    PartOfDay(r"\b(evening|evenings|tonight|night)\b", time(16), None, "late in the day", latest=True),
]
_PART_RES = [(re.compile(p.pattern), p) for p in PARTS_OF_DAY]
# Duckling's parts of day (any language), by the hours it gives them: mapped onto the shop's.
_PART = {p.label: p for p in PARTS_OF_DAY}
_DUCKLING_PARTS = {
    (0, 12): _PART["in the morning"],
    (4, 12): _PART["in the morning"],
    (12, 19): _PART["in the afternoon"],
    (12, 18): _PART["in the afternoon"],
    (18, 0): PARTS_OF_DAY[-1],
    (12, 14): _PART["around lunchtime"],
}
# Words that say which half of the day the hours beside them are in ("noon" only fixes itself).
_AMPM_SAID = re.compile(
    r"\b(am|pm|morning|afternoon|evening|night|tonight|"
    r"mañana|manana|tarde|noche|madrugada)\b"
)
_NOON_SAID = re.compile(r"\b(noon|midday|mediodia|mediodía|lunch)\b")
_APPROX = re.compile(r"\b(around|about|ish|roughly|or so|approximately|give or take)\b|\dish\b")

_SOONEST = re.compile(
    r"\b(asap|as soon as (possible|you can|you have)|soonest|earliest (available|opening|appointment|day|date|one)|"
    r"first ?(available|opening)|next (available|opening)|whenevers?|any ?time|any day|doesnt matter|"
    r"dont care|im flexible|flexible|earliest|whatevers? (is )?(easiest|best|works)|whatever works|"
    r"(easiest|best) for you)\b"
)
# Of those, the words that leave the choice to us rather than ask for the soonest day ("any day" is about days)
_DEFERRING = re.compile(
    r"\b(whenevers?|any ?time|doesnt matter|dont care|im flexible|flexible|whatevers? (is )?(easiest|best|works)|"
    r"whatever works|(easiest|best) for you)\b"
)
_URGENT = re.compile(
    r"\b(asap|as soon as|soonest|earliest|first ?(available|opening)|next (available|opening)|any day)\b"
)
# "the Monday after", "the following Monday": the weekday after the day being talked about, not that week's
_WEEKDAY_AFTER = re.compile(
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day after\b(?! (?:next|this|the|tomorrow|today|\w+day|\d)\b)|"
    r"the following (?:mon|tues|wednes|thurs|fri|satur|sun)day\b)"
)
_NEGATORS = re.compile(r"\b(not|cant do|cant make|except|other than|instead of|rather than|no longer)\s*(on )?(the )?$")
# A day-of-month that is a choice among options: "the first one", "the second available".
_CHOICE_AFTER = re.compile(r"^\s*(one|ones|option|choice|slot|time|appointment|available|opening)\b")


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _month_range(today: date, offset: int) -> tuple[date, date]:
    y, m = today.year, today.month + offset
    while m > 12:
        y, m = y + 1, m - 12
    first = date(y, m, 1)
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return (max(first, today), nxt - timedelta(days=1))


def _week_parts(today: date) -> list[tuple[str, date, date]]:
    """Parts of a week as the shop reads them (Duckling has no "early next week"; its end of week is Fri-Sun)."""
    week0 = _week_start(today)
    month_end = _month_range(today, 0)[1]
    return [
        (
            r"\b(later this week|end of (the|this) week|towards? the end of the week)\b",
            max(today, week0 + timedelta(days=3)),
            week0 + timedelta(days=5),
        ),
        (
            r"\b(early next week|beginning of next week|start of next week|first of next week)\b",
            week0 + timedelta(days=7),
            week0 + timedelta(days=9),
        ),
        (
            r"\b(later next week|end of next week|the end of next week)\b",
            week0 + timedelta(days=10),
            week0 + timedelta(days=12),
        ),
        (r"\b(the )?week after next\b", week0 + timedelta(days=14), week0 + timedelta(days=20)),
        (r"\bnext weekend\b", week0 + timedelta(days=12), week0 + timedelta(days=13)),
        (r"\b(this )?weekend\b", max(today, week0 + timedelta(days=5)), week0 + timedelta(days=6)),
        (r"\b(later this month|rest of the month)\b", today, month_end),
        (r"\bend of (the|this) month\b", max(today, month_end - timedelta(days=6)), month_end),
    ]


# "the week of the 14th", "the week of December 14", "the week starting Monday the 14th": the week (Monday to
# Sunday) that holds that day. Duckling reads these as some other week, or as the single day.
_WEEK_OF = re.compile(r"\b(?:the )?week (?:of|starting|beginning|commencing|that starts)(?: on)? ")
_MONTH_WORDS = re.compile(
    r"\b(jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september|oct|"
    r"october|nov|november|dec|december)\b"
)


def _week_of_spans(s: str, now: datetime, lang: str) -> list[tuple[int, int, date, date, str]]:
    today = now.date()
    out: list[tuple[int, int, date, date, str]] = []
    for m in _WEEK_OF.finditer(s):
        words = s[m.end() :].split()[:5]
        # the longest run of words after it that is one day ("the 14th", "december 14", "monday the 9th")
        day_said = next(
            (
                e
                for n in range(len(words), 0, -1)
                for e in engine.parse(" ".join(words[:n]), now=now, lang=lang, dims=("time",))
                if e.start == 0
                and e.end == len(" ".join(words[:n]))
                and e.value.get("grain") == "day"
                and isinstance(e.value.get("value"), str)
            ),
            None,
        )
        if day_said is None:
            continue
        day = _iso(day_said.value["value"]).date()
        if not _MONTH_WORDS.search(day_said.text) and day.month != today.month:
            # "the week of the 2nd" said on the 3rd: this week, while it lasts (Duckling's is next month's 2nd)
            try:
                this_month = today.replace(day=day.day)
            except ValueError:
                this_month = None
            if this_month is not None and this_month <= today <= _week_start(this_month) + timedelta(days=6):
                day = this_month
        monday = _week_start(day)
        end = m.end() + day_said.end
        out.append((m.start(), end, max(monday, today), monday + timedelta(days=6), s[m.start() : end]))
    return out


# --- reading a line -------------------------------------------------------------------------------------------


@dataclass
class _Mention:
    start: int
    end: int
    day: date | None = None
    first: date | None = None  # a range of days
    last: date | None = None
    label: str = ""
    clock: time | None = None
    window: tuple[time | None, time | None] | None = None
    part: PartOfDay | None = None  # a part of day Duckling found (its hours, not its words)


# After "one", these make it part of a clock time ("the one thirty", "one oclock"), not a pronoun.
_CLOCK_AFTER_ONE = {"oclock", "am", "pm", "thirty", "fifteen", "forty", "fortyfive", "twenty", "ten", "oh", "o"}


def _one_names_an_option(toks: list[str], i: int) -> bool:
    """ "the one at noon", "that one", "the noon one", "the brake one on friday": "one" points at something said,
    and must not reach Duckling, which reads it as the 1st or as 1 o'clock. "The first one" keeps its "one" (the
    choices module reads it); "the one thirty" and "one oclock" are times."""
    before = toks[:i]
    following = toks[i + 1] if i + 1 < len(toks) else ""
    if following in _CLOCK_AFTER_ONE or following[:1].isdigit():
        return False
    if before and before[-1] in ("the", "that", "this", "which", "noon", "morning", "afternoon", "evening"):
        return True
    return one_is_pronoun(before) and before[-1] not in ONE_PRONOUN_AFTER


def prepare(norm: str, lang: str = "EN") -> tuple[str, list[tuple[int, int]]]:
    """Duckling's input: normalized text with the misses it is known for rewritten; also [(position, days)]
    to add to the day read at that position ("a week from friday" is read as "friday", then 7 days on)."""
    if lang != "EN":
        return norm, []
    s = spoken_clock_times(norm)
    # "no later than 3", "not before 10": Duckling reads neither
    s = re.sub(r"\b(no|not) (later than|after)\b", "before", s)
    s = re.sub(r"\b(no|not) (earlier|sooner) than\b|\bnot before\b", "after", s)
    # "next week in the afternoon": Duckling reads one afternoon of it; a period and a part of day are two things
    s = re.sub(
        r"\b((this|next|coming|following) (week|month)|the week after next)\s+(?=(in the |during the |on the )?"
        r"(mornings?|afternoons?|evenings?)\b)",
        r"\1 ; ",
        s,
    )
    # "monday first thing": Duckling reads "monday first" as June 1st
    s = re.sub(r"\bfirst (thing|available|opening|appointment|slot)\b", r"first\1", s)
    s = re.sub(r"\b(tomorow|tommorow|tommorrow|tmrw|tomorrows)\b", "tomorrow", s)
    # "the brake one on friday": a pronoun, which Duckling would read as 1 o'clock on Friday
    toks = s.split()
    s = " ".join("pronoun" if t == "one" and _one_names_an_option(toks, i) else t for i, t in enumerate(toks))
    # "swing by friday", "come by on saturday": a visit, not a deadline ("by friday" is Duckling's "before")
    s = re.sub(
        r"\b(come|coming|swing|swinging|stop|stopping|drop|dropping|pop|popping|roll|run|head|bring it|"
        r"bring her|bring him|bring the car|bring the truck|bring my car|bring my truck) by\b",
        r"\1 in",
        s,
    )

    def hour(word: str) -> str:
        return str(HOUR_WORDS.get(word, word))

    def pronoun(m: re.Match, word: str) -> bool:  # "the one in the afternoon" names no hour
        before = m.string[: m.start()].split()
        return word == "one" and one_is_pronoun(before)

    def before_hour(m: re.Match) -> str:  # "morning 10", "this evening at 4": a part of day before the hour
        if pronoun(m, m.group(3)):
            return m.group(0)
        return f"{'today ' if m.group(1) else ''}{hour(m.group(3))} {'am' if m.group(2) == 'morning' else 'pm'}"

    def after_hour(m: re.Match) -> str:  # "5 o'clock in the evening": one time, not 5 AM plus an evening
        if pronoun(m, m.group(1)):
            return m.group(0)
        return f"{hour(m.group(1))} {'am' if m.group(4) == 'morning' else 'pm'}" + (
            " today" if m.group(3) == "this" else ""
        )

    s = re.sub(
        rf"\b(this )?(morning|afternoon|evening) (?:at |around |about )?{_HOUR}\b(?! ?(am|pm|oclock\b|:))",
        before_hour,
        s,
    )
    s = re.sub(rf"\b{_HOUR}( oclock)? (in the|this|at) (morning|afternoon|evening|night)\b", after_hour, s)
    shifts: list[tuple[int, int]] = []
    counts = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "1": 1, "2": 2, "3": 3, "4": 4}
    out, last = [], 0
    for m in re.finditer(r"\b(a|one|two|three|four|[1-4]) weeks? (from|after) (?!now\b)", s):
        out.append(s[last : m.start()])
        shifts.append((sum(len(p) for p in out), 7 * counts[m.group(1)]))
        last = m.end()
    out.append(s[last:])
    return "".join(out), shifts


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _point(v: dict) -> datetime | None:
    if v.get("type") == "interval" or "from" in v or "to" in v:
        edge = v.get("from") or v.get("to")
        return _iso(edge["value"]) if edge else None
    return _iso(v["value"]) if isinstance(v.get("value"), str) else None


def _day_said(v: dict) -> bool:
    """Did the words name a day? Duckling lists a clock time said alone ("at 2") as today's and tomorrow's."""
    days = sorted({p.date() for p in (_point(a) for a in (v.get("values") or [v])) if p})
    return not any((b - a).days == 1 for a, b in pairwise(days))


def _shop_hour(t: time, said: str) -> time:
    """The clock time a caller means: an hour said without am/pm is shop hours (7-11 morning, 12-6 afternoon);
    "07:15" and "14:30" are read as written."""
    m = re.search(r"\b(\d{1,2}):(\d\d)\b", said)
    if m and (m.group(1).startswith("0") or int(m.group(1)) >= 13):
        return time(int(m.group(1)) % 24, int(m.group(2)))
    if _AMPM_SAID.search(said):
        return t
    if t.hour in (0, 12) and t.minute == 0 and re.search(r"\bmidnight\b", said):
        return time(0)
    if t == time(12) and _NOON_SAID.search(said):
        return t
    h = t.hour % 12
    if 1 <= h <= 6:
        h += 12
    elif h == 0:
        h = 12
    return time(h, t.minute)


def _minus_grain(dt: datetime, grain: str) -> datetime:
    return dt - {"hour": timedelta(hours=1), "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}.get(
        grain, timedelta(0)
    )


def _in_shop_hours(v: dict, day: date | None) -> tuple[dict | None, dict | None]:
    """The ends of a window, from the reading that lies in a working day: "tomorrow between 10 and noon" is
    midnight to noon in Duckling's first reading, 10 to noon in another."""
    for alt in [v, *(v.get("values") or [])]:
        ends = [_iso(e["value"]) for e in (alt.get("from"), alt.get("to")) if e]
        if ends and all(6 <= e.hour <= 20 for e in ends) and (day is None or ends[0].date() == day):
            return alt.get("from"), alt.get("to")
    return v.get("from"), v.get("to")


def _duckling_part(v: dict) -> PartOfDay | None:
    f, t = v.get("from"), v.get("to")
    if not (f and t) or _iso(t["value"]) - _iso(f["value"]) > timedelta(hours=12):
        return None  # "this weekend" runs from Friday evening: no part of a day
    return _DUCKLING_PARTS.get((_iso(f["value"]).hour, _iso(t["value"]).hour))


_CLOCK_WORDS = re.compile(
    r"\d|\b(" + "|".join(HOUR_WORDS) + r"|noon|midnight|oclock|"
    r"una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|mediodia|mediodía)\b"
)
_RELATIVE = re.compile(r"\b(minutes?|hours?|days?|weeks?|months?|years?)\b")
_NOT_CLOCK_DIGITS = re.compile(r"\b\d+(st|nd|rd|th)\b|\b\d{1,2}/\d{1,2}(/\d+)?\b|\b(19|20)\d\d\b")
# "in two weeks at 9": a day counted from today, whatever hours Duckling lists beside it
_DAYS_ON = re.compile(r"\bin (?:a|an|\w+|\w+ \w+) (?:days?|weeks?)\b|\b(?:days?|weeks?) from (?:now|today|tomorrow)\b")
# ("half past ten" beside "the day after tomorrow": a clock time, though the day's words name a day)
_EXPLICIT_CLOCK = re.compile(r"\d:\d\d|\b(am|pm|oclock|noon|at \w+|(half|quarter) (past|to|after|till|of))\b")
_ONLY_PART_OF_DAY = re.compile(
    r"^((in|the|at|around|about|after|before|by|on|sometime|any|time|anytime|early|late|mid|lunch|lunchtime|"
    r"morning|mornings|afternoon|afternoons|evening|evenings|night|first|thing|end|of|day|work|school|close|closing|"
    r"business)\s*)+$"
)


def _read(e: engine.Entity, s: str, today: date, lang: str) -> _Mention | None:
    v = e.value
    said = e.text
    mention = _Mention(e.start, e.end, label=said)
    if v.get("type") == "interval" or "from" in v or "to" in v:
        f, t = v.get("from"), v.get("to")
        grain = (f or t or {}).get("grain", "")
        if grain in ("day", "week", "month"):
            # "after the 15th": the two weeks from then; "before the 15th": from today
            first = _iso(f["value"]).date() + timedelta(days=1 if f and not t else 0) if f else today
            last = (_iso(t["value"]) - timedelta(days=1)).date() if t else first + timedelta(days=13)
            mention.first, mention.last = max(first, today), max(last, first, today)
            return mention
        if grain in ("year", "quarter", "second", ""):
            return None  # "as soon as possible" is "from now on": ours to read
        if _day_said(v) and not _ONLY_PART_OF_DAY.match(said):
            mention.day = _point(v).date()
        if _CLOCK_WORDS.search(_NOT_CLOCK_DIGITS.sub(" ", said)):
            f, t = _in_shop_hours(v, mention.day)
            start = _shop_hour(_iso(f["value"]).time(), said) if f else None
            end = None
            if t:
                end_dt = _minus_grain(_iso(t["value"]), t.get("grain", "")) if f else _iso(t["value"])
                end = _shop_hour(end_dt.time(), said)
            if start and end and end <= start:
                end = time((end.hour + 12) % 24, end.minute)  # "between 11 and 1"
            mention.window = (start, end)
        else:
            mention.part = _duckling_part(v)
        return mention
    grain = v.get("grain")
    if not isinstance(v.get("value"), str) or grain in ("year", "quarter", "second"):
        return None  # a year alone is a car's; "now", "in twenty minutes" book nothing
    dt = _iso(v["value"])
    if grain == "month":
        mention.first, mention.last = _month_range(today, (dt.year - today.year) * 12 + dt.month - today.month)
        return mention if mention.first <= mention.last else None
    if grain == "week":
        mention.first, mention.last = max(dt.date(), today), dt.date() + timedelta(days=6)
        return mention
    if (grain == "day" or _day_said(v) or _DAYS_ON.search(said)) and not _ONLY_PART_OF_DAY.match(said):
        mention.day = _as_said(dt.date(), said, today)  # ("end of the day" alone is today's to Duckling; ours)
    if (
        grain in ("hour", "minute", "second")
        and _CLOCK_WORDS.search(_NOT_CLOCK_DIGITS.sub(" ", said))
        and (not _RELATIVE.search(said) or _EXPLICIT_CLOCK.search(said))
    ):
        mention.clock = _shop_hour(dt.time(), said)
    return mention


_MONTH_NAMED = re.compile(
    r"\b(jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september|oct|"
    r"october|nov|november|dec|december)\b"
)
_YEAR_SAID = re.compile(r"\b(19|20)\d\d\b|\bnext year\b")


def _as_said(day: date, said: str, today: date) -> date:
    """ "November 30" said on December 1 is the day just gone (which has passed), not next year's: a date a month
    ahead of the booking horizon is never what a caller means by a day of a month named without its year."""
    if day - today > timedelta(days=300) and _MONTH_NAMED.search(said) and not _YEAR_SAID.search(said):
        try:
            before = day.replace(year=day.year - 1)
        except ValueError:  # February 29
            return day
        if timedelta(0) < today - before <= timedelta(days=31):
            return before
    return day


def _weekday_as_meant(said: str, day: date, today: date) -> date:
    """ "this monday" said on a Monday is today; a bare "monday" said on a Monday is next week's."""
    m = re.search(rf"\b(?:(this|next|coming|last) )?{_WD}\b", said)
    if not m or _WEEKDAYS[m.group(2)] != today.weekday():
        return day
    if m.group(1) == "this":
        return today
    if m.group(1) is None and day == today:
        return today + timedelta(days=7)
    return day


def _joined_days(positive: list[tuple[int, int, date]], s: str) -> list[date]:
    """ "tuesday or thursday" keeps both; "not tuesday, thursday" and "tuesday, no, thursday" keep the last."""
    chosen = [positive[-1]]
    for prev in reversed(positive[:-1]):
        between = s[prev[1] : chosen[0][0]]
        if re.fullmatch(r"\s*(or|and|or maybe|maybe|and or|,)?\s*", between):
            chosen.insert(0, prev)
        else:
            break
    return sorted({d for _, _, d in chosen})


def _bare_weekday(said: str) -> bool:
    """ "tuesday", "on tuesday morning": a weekday with nothing to fix its week."""
    return bool(re.search(rf"\b{_WD}\b", said)) and not re.search(
        r"\b(this|next|coming|following|last|week|\d+th|\d+/\d+|of|january|february|march|april|may|june|july|"
        r"august|september|october|november|december|jan|feb|apr|aug|sept?|oct|nov|dec)\b",
        said,
    )


def _day_label(d: date) -> str:
    return f"{d:%A}, {d:%B} {d.day}"


def _from_days(days: list[date]) -> DatePref:
    days = sorted(set(days))
    if len(days) == 1:
        return DatePref(days[0], days[0], label=_day_label(days[0]))
    return DatePref(days[0], days[-1], days=tuple(days), label=" or ".join(_day_label(d) for d in days))


def _overlaps(a: int, b: int, spans) -> bool:
    return any(x < b and a < y for x, y, *_ in spans)


@dataclass(frozen=True)
class When:
    date: DatePref | None
    time: TimePref | None
    said: tuple[str, ...] = ()  # the words that said them, in `heard`
    heard: str = ""  # the line as read: normalized, spoken clock times as digits


def read_when(
    text: str, now: datetime, *, named_days: Mapping[str, date] | None = None, bare_ok: bool = False, lang: str = "EN"
) -> When:
    """The day(s) and the time of day in a caller line, relative to `now` (aware, shop time zone).

    `named_days` adds the shop's own names for days ({"staff training": date}, see closure_days);
    `bare_ok`: a lone number is an hour (the agent just asked "what time?").
    """
    lang = lang.upper()
    s, shifts = prepare(normalize(text), lang)
    today = now.date()
    named = named_day_spans(s, today, named_days) if lang == "EN" else []
    ranges: list[tuple[int, int, date, date, str]] = []
    if lang == "EN":
        taken: list[tuple[int, int]] = []
        for pattern, first, last in _week_parts(today):
            for m in re.finditer(pattern, s):
                if not _overlaps(*m.span(), taken):
                    taken.append(m.span())
                    ranges.append((m.start(), m.end(), first, last, m.group(0)))
        for a, b, first, last, label in _week_of_spans(s, now, lang):
            if not _overlaps(a, b, taken):
                taken.append((a, b))
                ranges.append((a, b, first, last, label))
    ours = [(a, b) for a, b, _ in named] + [(a, b) for a, b, *_ in ranges]

    mentions: list[_Mention] = []
    covered = -1
    for e in engine.parse(s, now=now, lang=lang, dims=("time",)):
        if e.end <= covered:
            continue  # inside a longer reading
        covered = e.end
        if (
            re.fullmatch(r"(the )?(\d+(st|nd|rd|th)|\w+)", e.text)
            and _CHOICE_AFTER.match(s[e.end :])
            and not re.fullmatch(_WD, e.text)
        ):
            continue  # "the first one" is a choice, not the 1st ("my thursday appointment" is a day)
        if re.fullmatch(r"(the|that) (day|week)", e.text):
            continue  # "the day after", "that week": relative to a day said before, not today
        mention = _read(e, s, today, lang)
        if mention is None:
            continue
        if mention.day is not None and lang == "EN":
            mention.day = _weekday_as_meant(e.text, mention.day, today)
        if _overlaps(e.start, e.end, ours):  # our name for the day wins over Duckling's reading of it
            mention.day = mention.first = mention.last = None
        shift = next((days for pos, days in shifts if e.start <= pos < e.end or pos == e.start), 0)
        if shift and mention.day is not None:
            mention.day += timedelta(days=shift)
        if _PAST.search(e.text) and _is_past(mention, now):
            continue  # "the light came on yesterday": when it happened, not when they want to come
        if _HAPPENED.search(s[: e.start]) and _not_ahead(mention, now):
            # "it came on this morning": when it happened, even while this morning lasts (nor is its part of the
            # day the time they want)
            s = s[: e.start] + " " * (e.end - e.start) + s[e.end :]
            continue
        mentions.append(mention)
    said = tuple(s[a:b] for a, b in ours) + tuple(s[m.start : m.end] for m in mentions)
    day = _date_pref(s, today, named, ranges, mentions, tuple(pos for pos, _ in shifts))
    heard = s
    if day is not None:
        # "it came on this morning ... what do you have Friday?": a part of another day is not Friday's
        days = set(day.dates())
        other = [m for m in mentions if m.day is not None and m.day not in days]
        for m in other:
            s = s[: m.start] + " " * (m.end - m.start) + s[m.end :]
        mentions = [m for m in mentions if m not in other]
    return When(day, _time_pref(s, mentions, bare_ok, text), said, heard)


def _date_pref(
    s: str, today: date, named, ranges, mentions: list[_Mention], shifted: tuple[int, ...] = ()
) -> DatePref | None:
    singles = list(named) + [(m.start, m.end, m.day) for m in mentions if m.day is not None]
    out = constraints.ruled_out_days(s, singles)
    pref = _said_date_pref(s, today, named, ranges, mentions, shifted)
    if out and pref is not None and pref.label == SOONEST_LABEL:
        pref = None  # "any day but Monday": no period of its own, the limit applies to the one under discussion
    return constraints.avoiding(pref, out, s, today)


def _said_date_pref(
    s: str, today: date, named, ranges, mentions: list[_Mention], shifted: tuple[int, ...] = ()
) -> DatePref | None:
    singles = list(named) + [(m.start, m.end, m.day) for m in mentions if m.day is not None]
    ranges = list(ranges) + [(m.start, m.end, m.first, m.last, m.label) for m in mentions if m.first is not None]
    for m in re.finditer(r"\b(?:the )?day (after|before)\b(?! (tomorrow|today|yesterday|the|next|this|\w+day)\b)", s):
        earlier = [x for x in singles if x[1] <= m.start()]
        if earlier:  # "tomorrow, no sorry, the day after"
            d = max(earlier)[2] + timedelta(days=1 if m.group(1) == "after" else -1)
            singles.append((m.start(), m.end(), d))
    out = constraints.ruled_out_days(s, singles)
    positive = sorted({(a, b, d) for a, b, d in singles if not _NEGATORS.search(s[:a]) and (a, b, d) not in out})
    if ranges:
        _, _, r_start, r_end, label = sorted(ranges)[-1]
        inside = [d for _, _, d in positive if r_start <= d <= r_end]
        r_at, r_to = sorted(ranges)[-1][:2]
        near = [p for p in positive if _said_together(s, p[:2], (r_at, r_to))]
        if positive and not inside and not near:
            # "driving out next month ... is Saturday possible?": the day asked for is the one said on its own
            days = _joined_days(positive, s)
            return _from_days(days)
        if positive and not inside:
            # "tuesday next week": move the weekday into the range
            d = near[-1][2]
            while d < r_start:
                d += timedelta(days=7)
            if d <= r_end:
                return DatePref(d, d, label=_day_label(d))
        if inside:
            return _from_days(inside)
        # "any day next week": open within it, the soonest first
        week_of = _week_start(r_end) if _WEEK_OF.match(label + " ") else None
        return DatePref(r_start, r_end, label=label, soonest=bool(_SOONEST.search(s)), week_of=week_of)
    if positive:
        days = _joined_days(positive, s)
        bare = all(
            _bare_weekday(s[a:b]) and (a, b, d) not in named and not any(a <= pos < b for pos in shifted)
            for a, b, d in positive
            if d in days
        )
        after = bare and len(days) == 1 and bool(_WEEKDAY_AFTER.search(s))
        return replace(_from_days(days), weekdays_only=bare, after_discussed=after)
    if _SOONEST.search(s):
        deferring = bool(_DEFERRING.search(s)) and not _URGENT.search(s)
        return DatePref(today, today + timedelta(days=14), label=SOONEST_LABEL, soonest=True, deferring=deferring)
    return None


SOONEST_LABEL = "the soonest"  # "asap", "any day": open, with no period said
_PAST = re.compile(r"\b(yesterday|last|ago|the other day|earlier today|earlier this (morning|afternoon))\b")


# Something that happened to the car, just before a day: "came on this morning", "started making noise today".
_HAPPENED = re.compile(
    r"\b(came|come on|started|began|noticed|happened|went off|went out|popped up|lit up|showed up|broke|died|"
    r"quit|stopped|blew)\b(?: \w+){0,4} ?$"
)


def _not_ahead(m: _Mention, now: datetime) -> bool:
    """Today at the latest: a day that may be when something happened."""
    day = m.day or m.last
    return day is not None and day <= now.date()


def _is_past(m: _Mention, now: datetime) -> bool:
    day = m.day or m.last
    if day is None:
        return False
    if day != now.date():
        return day < now.date()
    end = m.clock or (m.window[1] if m.window else None) or (m.part.end if m.part else None)
    return end is not None and end <= now.time().replace(tzinfo=None)


def _said_together(s: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two phrases of one request ("tuesday next week", "next week, maybe tuesday"), not of two sentences."""
    (_, first_end), (second_start, _) = sorted([a, b])
    return len(s[first_end:second_start].split()) <= 4


def _window_label(start: time | None, end: time | None) -> str:
    if start and end:
        return f"between {spoken_time(start)} and {spoken_time(end)}"
    if start:
        return f"after {spoken_time(start)}"
    return f"before {spoken_time(end)}"


def _time_pref(s: str, mentions: list[_Mention], bare_ok: bool, text: str) -> TimePref | None:
    approx = bool(_APPROX.search(s))
    timed = [m for m in mentions if m.clock is not None or m.window is not None]
    if timed:
        last = timed[-1]
        again = re.search(
            rf"\b(?:make (?:it|that)|change (?:it|that) to|(?:no|actually|sorry|wait),? (?:at )?)"
            rf"\s*(?:at\s+)?{_HOUR}\b(?! ?(?:th|st|nd|rd)\b)",
            s[last.end :],
        )
        if again and last.clock is not None:  # "at 9, no, make it 10"
            word = again.group(1)
            t = time(*map(int, word.split(":"))) if ":" in word else time(HOUR_WORDS.get(word) or int(word))
            t = _shop_hour(t, again.group(0))
            return TimePref(exact=t, label=spoken_time(t), approximate=approx)
        if last.window is not None:
            start, end = last.window
            return TimePref(start=start, end=end, label=_window_label(start, end))
        return TimePref(exact=last.clock, label=spoken_time(last.clock), approximate=approx)
    alone = re.search(
        rf"\b(?:make (?:it|that)|change (?:it|that) to|move (?:it|that) to)\s+(?:at\s+)?{_HOUR}\b"
        rf"(?! ?(?:th|st|nd|rd|days?|weeks?|hours?|minutes?|months?)\b)",
        s,
    )
    if alone:  # "my appointment Thursday, make it 3": an hour, which Duckling does not read on its own
        word = alone.group(1)
        t = time(*map(int, word.split(":"))) if ":" in word else time(HOUR_WORDS.get(word) or int(word))
        t = _shop_hour(t, alone.group(0))
        return TimePref(exact=t, label=spoken_time(t), approximate=approx)
    said_parts = [part for rx, part in _PART_RES if rx.search(s)]
    if said_parts:
        return _part_pref(_one_part(said_parts, s))
    parts = [m.part for m in mentions if m.part is not None]
    if parts:
        return _part_pref(parts[-1])
    if bare_ok:
        # ("in 3 days", "two weeks from friday": an amount of time, no hour)
        lone = re.findall(
            r"(?<![\d/:])\b(\d{1,2})\b(?![\d/:]|th| (?:days?|weeks?|months?|years?|hours?|minutes?)\b)", numerize(text)
        )
        if len(lone) == 1 and 1 <= int(lone[0]) <= 12:
            t = _shop_hour(time(int(lone[0])), "")
            return TimePref(exact=t, label=spoken_time(t), approximate=approx)
    return None


# "The earliest", "first available" beside a part of the day: the first free time within it. ("Soonest" is the
# soonest opening of any day: "the soonest you could look at it" after "the last couple mornings" is no morning.)
_FIRST_OF_PART = re.compile(r"\b(earliest|(first|1st) ?(available|opening|open slot|slot))\b")


def _one_part(parts: list[PartOfDay], s: str) -> PartOfDay:
    """The parts of the day said, as one: "Saturday morning, earliest you got" is the earliest within the morning
    (the window of one, the earliest or latest of the other), not the earliest of the whole day."""
    first = parts[0]
    window = next((p for p in parts if p.start is not None or p.end is not None), None)
    mode = next((p for p in parts if p.earliest or p.latest), None)
    if window is None:
        return first
    earliest = bool(mode and mode.earliest) or (
        not (mode and mode.latest) and not window.latest and bool(_FIRST_OF_PART.search(s))
    )
    latest = bool(mode and mode.latest and not earliest)
    if (earliest, latest) == (window.earliest, window.latest):
        return window if first is mode or first is window else first
    return PartOfDay(
        window.pattern, window.start, window.end, window.label, earliest=earliest, latest=latest, in_window=True
    )


def _part_pref(part: PartOfDay) -> TimePref:
    return TimePref(
        start=part.start,
        end=part.end,
        earliest=part.earliest,
        latest=part.latest,
        label=part.label,
        in_window=part.in_window,
    )


def parse_date(
    text: str, now: datetime, *, named_days: Mapping[str, date] | None = None, lang: str = "EN"
) -> DatePref | None:
    """The day or days the caller means, relative to `now` (aware, shop time zone)."""
    return read_when(text, now, named_days=named_days, lang=lang).date


def parse_time(text: str, *, bare_ok: bool = False, now: datetime | None = None, lang: str = "EN") -> TimePref | None:
    """The time of day the caller means: an exact time, a window, or first thing / end of day.

    `bare_ok`: a lone number counts as an hour (the agent just asked "what time?")."""
    if now is None:
        from django.conf import settings

        now = datetime.now(ZoneInfo(settings.SHOP_TIMEZONE))
    return read_when(text, now, bare_ok=bare_ok, lang=lang).time


def within(new: DatePref, previous: DatePref | None) -> DatePref:
    """ "tuesday or wednesday" said after "next week" means next week's: move weekdays into the earlier range."""
    if new.label == SOONEST_LABEL and previous is not None and (previous.start != previous.end or new.deferring):
        # "whatever is earliest" asked which day next week: the soonest within what they already said; "whatever
        # works" (or "any time after lunch") to Thursday's times: Thursday's, not another day's
        return replace(previous, soonest=True, deferring=new.deferring)
    narrowed = constraints.combined(new, previous)
    if narrowed is not None:
        return narrowed
    if previous is None or previous.start == previous.end or not new.weekdays_only:
        return new
    days = new.dates()
    if len(days) > 7 or all(previous.start <= d <= previous.end for d in days):
        return new
    shifted = []
    for d in days:
        while d < previous.start:
            d += timedelta(days=7)
        if d > previous.end:
            return new
        shifted.append(d)
    return _from_days(shifted)
