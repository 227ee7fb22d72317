"""Understanding what a caller said: intent, yes/no, services, days and times, names, postal codes, vehicles.

The input is speech-recogniser text: lower case, little punctuation, numbers often spoken as words
("nine thirty", "twenty eighteen", "six oh six oh one"). Number words are turned into digits first
(`numerize`), then small pattern rules read the digits in context. Dates are relative to a `now` in the
shop's time zone. Everything here is pure Python except service matching, which reads ServiceType rows, and
the shop's named closures ("staff training"), which `understand` reads from Closure rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from calls.agent.phrases import spoken_time

# --- text and numbers ---------------------------------------------------------------------------

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
# "the first one", "that one": "one" is a pronoun there, not a number.
_ONE_PRONOUN_AFTER = {
    "that", "this", "which", "the", "a", "any", "other", "earlier", "later", "last", "each", "every", "no",
    "either", "earliest", "latest", "middle", "next", "same", "good", "best", "only", *_ORDINALS,
}


def normalize(text: str) -> str:
    """Lower case, spoken-style tokens: "It's 9:30 a.m.!" -> "its 9:30 am"."""
    t = (text or "").lower().replace("’", "'")
    t = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", t)
    t = re.sub(r"\b([ap]) m\b", r"\1m", t)
    t = re.sub(r"(\d)\s*([ap])m\b", r"\1 \2m", t)
    t = re.sub(r"\bo\s?'?\s?clock\b", "oclock", t)
    t = t.replace("'", "")
    t = re.sub(r"(?<=\d)(st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"[^a-z0-9:/ ]+", " ", t)
    t = re.sub(r"(?<!\d):|:(?!\d)", " ", t)
    t = re.sub(r"(?<!\d)/|/(?!\d)", " ", t)
    return " ".join(t.split())


def _read_number_run(toks: list[str], i: int) -> tuple[list[str], int] | None:
    """Read spoken/written numbers from toks[i]: returns (parts, next index) or None.

    Parts are digit strings ("9", "30"), ordinals end in "th" ("21th"), clock times keep their colon.
    "twenty one" -> ["21"]; "nine thirty" -> ["9", "30"]; "twenty eighteen" -> ["20", "18"];
    "two thousand eighteen" -> ["2018"]; "six oh six oh one" -> ["6", "0", "6", "0", "1"].
    """
    first = toks[i]
    if first == "one" and i > 0 and toks[i - 1] in _ONE_PRONOUN_AFTER:
        return None
    if first in _ORDINALS and (
        (i > 0 and toks[i - 1] in {"a", "one", "just"})  # "just a second"
        or (i + 1 < len(toks) and toks[i + 1] in {"thing", "available", "opening", "appointment", "time"})
    ):
        return None
    starts = (
        first in _UNITS or first in _TENS or first in _ORDINALS
        or re.fullmatch(r"\d+(:\d{2})?|\d+(st|nd|rd|th)", first)
    )
    if not starts:
        return None
    parts: list[str] = []
    base: int | None = None  # after "thousand"/"hundred" the next small number is added, not appended
    k = i
    while k < len(toks):
        w = toks[k]
        nxt = toks[k + 1] if k + 1 < len(toks) else ""
        if re.fullmatch(r"\d{1,2}:\d{2}", w):
            if parts:
                break
            parts.append(w)
            k += 1
            break
        m = re.fullmatch(r"(\d+)(st|nd|rd|th)", w)
        if m:
            parts.append(f"{int(m.group(1))}th")
            k += 1
            break
        if w in _ORDINALS:
            if w == "second" and parts:
                break  # "one second"
            parts.append(f"{_ORDINALS[w]}th")
            k += 1
            break
        value: int | None = None
        if re.fullmatch(r"\d+", w):
            if base is None:
                parts.append(w)
                k += 1
                continue
            value = int(w)
            k += 1
        elif w in _TENS:
            value = _TENS[w]
            if nxt in _UNITS and 1 <= _UNITS[nxt] <= 9:
                value += _UNITS[nxt]
                k += 1
            elif nxt in _ORDINALS and 1 <= _ORDINALS[nxt] <= 9:
                parts.append(f"{value + _ORDINALS[nxt]}th")
                k += 2
                break
            k += 1
        elif w in ("oh", "o") and parts:
            value = 0
            k += 1
        elif w in _UNITS:
            if w == "one" and k > i and toks[k - 1] in _ONE_PRONOUN_AFTER:
                break
            value = _UNITS[w]
            k += 1
        elif w in ("hundred", "thousand") and parts and parts[-1].isdigit():
            mult = 100 if w == "hundred" else 1000
            base = int(parts.pop()) * mult
            parts.append(str(base))
            k += 1
            if nxt == "and":
                k += 1
            continue
        else:
            break
        if base is not None and value < base and value < 1000:
            parts[-1] = str(base + value)
            base = None
        else:
            base = None
            parts.append(str(value))
    return (parts, k) if parts else None


def numerize(text: str) -> str:
    """Normalized text with number words replaced by digits ("at nine thirty" -> "at 9 30")."""
    toks = normalize(text).split()
    out: list[str] = []
    i = 0
    while i < len(toks):
        run = _read_number_run(toks, i)
        if run:
            out.extend(run[0])
            i = run[1]
        else:
            out.append(toks[i])
            i += 1
    return " ".join(out)


# --- yes / no -----------------------------------------------------------------------------------

_YES = re.compile(
    r"\b(yes|yeah|yea|yep|yup|ya|sure|ok|okay|correct|perfect|great|fine|absolutely|definitely|affirmative|"
    r"alright|all right|uh huh|mhm|please do|go ahead|do it|book it|sounds (good|great|fine|perfect)|"
    r"that (works|would work|will work)|thatll work|works( for me)?|thats (right|it|good|fine|perfect|great)|"
    r"of course|lets do (it|that)|exactly|you bet|certainly|good|excellent|awesome|cool|right)\b"
)
_NO = re.compile(
    r"\b(no|nope|nah|not|negative|dont|do not|wrong|incorrect|neither|none of (those|them|these)|"
    r"doesnt work|wont work|cant|cannot|im good|im all set|thats all|nothing else|no thanks)\b"
)
_STRONG_NO = re.compile(r"\b(doesnt work|wont work|not (right|correct|good)|thats wrong|no no)\b")
_NEUTRAL = re.compile(r"\b(no problem|not a problem|no worries|not sure|dont know|no idea)\b")


def yes_no(text: str) -> str | None:
    """"yes", "no" or None. "no, Thursday" is "no" (the caller corrects); "that works" is "yes"."""
    t = _NEUTRAL.sub(" ", normalize(text))
    if _STRONG_NO.search(t):
        return "no"
    y, n = _YES.search(t), _NO.search(t)
    if y and n:
        return "yes" if y.start() < n.start() else "no"
    if y:
        return "yes"
    if n:
        return "no"
    return None


# --- intents ------------------------------------------------------------------------------------

INTENTS = ("book", "cancel", "reschedule", "check", "service_inquiry", "hours", "human", "goodbye", "other")

_INTENT_PATTERNS: dict[str, list[tuple[str, int]]] = {
    "book": [
        (r"\b(book|make|set up|schedule|get|need|want)\b(?:(?!cancel|move|change|resched|check|confirm|push).){0,25}"
         r"\b(appointment|appt|slot|visit)\b", 3),
        (r"\bbook\b", 2),
        (r"\bschedule\b", 2),
        (r"\b(bring|drop|take|get) (it|her|him|my \w+|the \w+|my \w+ \w+)( off)? (in|by|over)\b", 3),
        (r"\bcome in\b", 1),
        (r"\b(need|want|like|get)\b.{0,25}\b(done|looked at|checked|serviced|fixed|replaced|rotated)\b", 2),
        (r"\b(need|want|id like|i would like)\b", 1),
        (r"\b(any )?(openings?|availability|available)\b", 1),
        (r"\b(have|got) (any |some |an )?(time|room|space|openings?|availability|slots?|spots?|anything|something)"
         r"\b", 2),
    ],
    "cancel": [
        (r"\bcancel", 4),
        (r"\bcall off\b", 3),
        (r"\b(cant|wont be able to|unable to|not going to|not gonna) make (it|my appointment|the appointment)\b", 4),
        (r"\bdont need (the|my|that) (appointment|appt)\b", 3),
        (r"\b(remove|delete)\b.{0,20}\bappointment", 3),
    ],
    "reschedule": [
        (r"\bre ?schedul", 5),
        (r"\bre ?book", 3),
        (r"\b(move|change|push|shift|switch|bump)\b.{0,25}\b(appointment|appt|it|time|day|date|back|up)\b", 3),
        (r"\b(different|another|other|new|later|earlier) (day|time|date)\b", 2),
    ],
    "check": [
        (r"\bwhen is my\b", 5),
        (r"\bwhen\b.{0,20}\bmy (appointment|appt|booking)\b", 4),
        (r"\b(do|did) i (have|got) (an|any|a) (appointment|appointments|appt|booking)\b", 5),
        (r"\b(check|confirm|verify|look up|lookup|remind me)\b.{0,25}\b(my|the|an?) (appointment|appt|booking)", 4),
        (r"\bwhat (day|time|date) is my\b", 5),
        (r"\bam i (booked|scheduled|on the schedule)\b", 5),
        (r"\bmy (upcoming )?(appointment|appointments|booking)\b", 1),
    ],
    "hours": [
        (r"\bhours\b", 3),
        (r"\b(what time|when) (do|does|are|will) (you|ya|yall|the shop|the service department)\b.{0,20}"
         r"\b(open|close|closed|closing)\b", 5),
        (r"\bare (you|yall) (guys )?(open|closed)\b", 4),
        (r"\b(open|closed?|closing)\b", 1),
        (r"\bopen (on|today|tomorrow|this|saturdays?|sundays?)\b", 2),
    ],
    "service_inquiry": [
        (r"\bhow much\b", 4),
        (r"\b(price|prices|pricing|cost|costs|charge|quote|estimate)\b", 3),
        (r"\bhow long (does|do|will|would|is|it)\b", 4),
        (r"\bdo (you|yall) (guys )?(do|offer|handle|service|work on|fix|have)\b"
         r"(?! (any|an?|some)? ?(openings?|availability|time|times|slots?|room|space|spots?|anything|"
         r"something)\b)", 3),
        (r"\bwhat (services|kind of services|kinds of services|do you offer|do you do|do yall do)\b", 4),
        (r"\bservices\b", 1),
    ],
    "human": [
        (r"\b(human|real person|live person|representative|operator|advisor|adviser|receptionist|manager)\b", 3),
        (r"\b(speak|talk) (to|with) (a|an|the|someone|somebody|some one|your|a real|a live|anybody)\b", 3),
        (r"\b(transfer|connect|put) me\b", 3),
        (r"\b(someone|somebody|a person|agent|mechanic|technician|service writer)\b", 1),
    ],
    "goodbye": [
        (r"\b(bye|goodbye|good bye|bye bye|hang up)\b", 5),
        (r"\b(thats all|thats it|nothing else|that will be all|thatll be all|im good|im all set|all set|"
         r"no thanks|no thank you|i am good|were done|we are done)\b", 3),
        (r"\bhave a (good|great|nice) (day|one|night|evening|weekend)\b", 3),
    ],
}
_INTENT_RES = {k: [(re.compile(p), w) for p, w in v] for k, v in _INTENT_PATTERNS.items()}
# When scores tie, the more specific request wins.
_PRIORITY = ("human", "reschedule", "cancel", "check", "service_inquiry", "hours", "book", "goodbye")


def intent_scores(text: str) -> dict[str, int]:
    t = normalize(text)
    scores = {}
    for intent, patterns in _INTENT_RES.items():
        score = sum(w for rx, w in patterns if rx.search(t))
        if score:
            scores[intent] = score
    # "cancel it and book another time" is a reschedule; "how much is an oil change" is a question.
    if scores.get("reschedule") and scores.get("cancel"):
        scores["reschedule"] += 2
    if scores.get("human", 0) < 3:
        scores.pop("human", None)
    return scores


def detect_intent(text: str) -> str:
    scores = intent_scores(text)
    if not scores:
        return "other"
    best = max(scores.values())
    if best < 2:
        return "other"
    return next(i for i in _PRIORITY if scores.get(i) == best)


# --- days ---------------------------------------------------------------------------------------

_WEEKDAYS = {
    "monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2, "thursday": 3, "thurs": 3,
    "friday": 4, "saturday": 5, "sunday": 6,
}
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "april": 4, "apr": 4, "may": 5, "june": 6,
    "july": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10,
    "november": 11, "nov": 11, "december": 12, "dec": 12,
}
_WD = r"(monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|saturday|sunday)s?"
_MON = r"(january|jan|february|feb|march|april|apr|may|june|july|august|aug|september|sept|sep|october|oct|" \
       r"november|nov|december|dec)"
_SOONEST = re.compile(
    r"\b(asap|as soon as (possible|you can|you have)|soonest|earliest (available|opening|appointment|day|date|one)|"
    r"first (available|opening)|next (available|opening)|whenever|any ?time|any day|doesnt matter|"
    r"dont care|im flexible|flexible|earliest)\b"
)
_NEGATORS = re.compile(r"\b(not|cant do|cant make|except|other than|instead of|rather than|no longer)\s*(on )?(the )?$")
_COUNT_WORDS = {"a": 1, "an": 1, "one": 1, "a couple": 2, "a couple of": 2, "couple": 2, "couple of": 2,
                "a few": 3, "few": 3}


@dataclass(frozen=True)
class DatePref:
    start: date
    end: date
    days: tuple[date, ...] = ()  # explicit days ("tuesday or thursday"); empty means every day in start..end
    label: str = ""  # how the caller put it, for read-backs ("next week")
    soonest: bool = False
    weekdays_only: bool = False  # plain weekday names ("tuesday"): read inside a week under discussion

    @property
    def single_day(self) -> date | None:
        if self.start == self.end:
            return self.start
        if len(self.days) == 1:
            return self.days[0]
        return None

    def dates(self) -> list[date]:
        if self.days:
            return list(self.days)
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _weekday_date(today: date, weekday: int, qualifier: str) -> date:
    ahead = (weekday - today.weekday()) % 7
    if qualifier == "next":
        # "next Tuesday" = the Tuesday of next week (the calendar reading; the read-back catches a mismatch).
        return _week_start(today) + timedelta(days=7 + weekday)
    if qualifier in ("this", "today") or ahead:
        return today + timedelta(days=ahead)
    return today + timedelta(days=7)  # "Tuesday" said on a Tuesday means next week's


def _month_day(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            return None
        if d >= today:
            return d
    return None


def _day_of_month(today: date, day: int) -> date | None:
    if not 1 <= day <= 31:
        return None
    y, m = today.year, today.month
    for _ in range(3):
        try:
            d = date(y, m, day)
            if d >= today:
                return d
        except ValueError:
            pass
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return None


def _count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _COUNT_WORDS.get(word)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month (n = -1: the last one)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(year: int) -> date:
    return _nth_weekday(year, 11, 3, 4)


# US federal holidays and the eves callers name, as normalized text (after numerize). "July 4th" and
# "the 4th of July" are plain dates already.
HOLIDAYS: dict[str, Callable[[int], date]] = {
    "new years day": lambda y: date(y, 1, 1),
    "new years eve": lambda y: date(y, 12, 31),
    "new years": lambda y: date(y, 1, 1),
    "martin luther king jr day": lambda y: _nth_weekday(y, 1, 0, 3),
    "martin luther king day": lambda y: _nth_weekday(y, 1, 0, 3),
    "mlk day": lambda y: _nth_weekday(y, 1, 0, 3),
    "presidents day": lambda y: _nth_weekday(y, 2, 0, 3),
    "memorial day": lambda y: _nth_weekday(y, 5, 0, -1),
    "juneteenth": lambda y: date(y, 6, 19),
    "independence day": lambda y: date(y, 7, 4),
    "labor day": lambda y: _nth_weekday(y, 9, 0, 1),
    "labour day": lambda y: _nth_weekday(y, 9, 0, 1),
    "columbus day": lambda y: _nth_weekday(y, 10, 0, 2),
    "indigenous peoples day": lambda y: _nth_weekday(y, 10, 0, 2),
    "veterans day": lambda y: date(y, 11, 11),
    "thanksgiving day": _thanksgiving,
    "thanksgiving": _thanksgiving,
    "day after thanksgiving": lambda y: _thanksgiving(y) + timedelta(days=1),
    "black friday": lambda y: _thanksgiving(y) + timedelta(days=1),
    "christmas eve": lambda y: date(y, 12, 24),
    "christmas day": lambda y: date(y, 12, 25),
    "christmas": lambda y: date(y, 12, 25),
    "xmas": lambda y: date(y, 12, 25),
}


def _next_holiday(name: str, today: date) -> date:
    for year in (today.year, today.year + 1):
        d = HOLIDAYS[name](year)
        if d >= today:
            return d
    return HOLIDAYS[name](today.year + 1)


def _named_day_spans(s: str, today: date, named_days: Mapping[str, date] | None) -> list[tuple[int, int, date]]:
    """Days said by name: the shop's closures ("the staff training day") first, then holidays; longest first."""
    names: dict[str, date | None] = {}
    for phrase, d in (named_days or {}).items():
        names.setdefault(phrase, d)
    for phrase in HOLIDAYS:
        names.setdefault(phrase, None)
    found: list[tuple[int, int, date]] = []
    for phrase in sorted(names, key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", s):
            if any(a < m.end() and m.start() < b for a, b, _ in found):
                continue
            d = names[phrase]
            found.append((m.start(), m.end(), d if d is not None else _next_holiday(phrase, today)))
    return found


def named_day_phrases(reason: str) -> list[str]:
    """How a caller may name a closure: "Closed for staff training day" -> ["staff training day", "staff training"]."""
    t = normalize(reason)
    t = re.sub(r"^(shop |we are |were )?(closed )?(for |on )?(the )?", "", t).strip()
    out = [t]
    if t.endswith(" day"):
        out.append(t[: -len(" day")])
    return [p for p in out if len(p) >= 5 and p not in _GENERIC_CLOSURE_WORDS]


_GENERIC_CLOSURE_WORDS = {"holiday", "holidays", "closed", "closure", "vacation", "other", "none", "private"}


def closure_days(today: date) -> dict[str, date]:
    """{spoken name: date} of the shop's upcoming named closures, the soonest first for a repeated name."""
    from scheduling.models import Closure

    days: dict[str, date] = {}
    rows = Closure.objects.filter(date__gte=today, date__lte=today + timedelta(days=400)).exclude(reason="")
    for d, reason in rows.order_by("date").values_list("date", "reason"):
        for phrase in named_day_phrases(reason):
            days.setdefault(phrase, d)
    return days


def parse_date(text: str, now: datetime, *, named_days: Mapping[str, date] | None = None) -> DatePref | None:
    """The day or days the caller means, relative to `now` (aware, shop time zone).

    Holidays are read by name ("thanksgiving", "christmas eve"); `named_days` adds the shop's own
    ({"staff training": date}, see closure_days).
    """
    s = numerize(text)
    today = now.date()
    singles: list[tuple[int, int, date]] = []  # (start, end, day) of each single-day mention
    ranges: list[tuple[int, date, date, str]] = []

    def add_single(m: re.Match, d: date | None) -> None:
        if d is not None:
            singles.append((m.start(), m.end(), d))

    named = _named_day_spans(s, today, named_days)
    singles.extend(named)

    def in_named(m: re.Match) -> bool:
        return any(a <= m.start() < b for a, b, _ in named)

    for m in re.finditer(r"\bday after tomorrow\b", s):
        add_single(m, today + timedelta(days=2))
    for m in re.finditer(r"\b(tomorrow|tomorow|tmrw|tommorow|tomorrows)\b", s):
        if not s[max(0, m.start() - 10):m.start()].endswith("after "):
            add_single(m, today + timedelta(days=1))
    for m in re.finditer(r"\b(today|tonight|this (morning|afternoon|evening)|later today)\b", s):
        add_single(m, today)
    bare_weekdays: set[date] = set()
    for m in re.finditer(rf"\b(?:(next|this|coming|on|that)\s+)?{_WD}\b", s):
        if in_named(m):  # "black friday"
            continue
        qualifier = m.group(1) or ""
        d = _weekday_date(today, _WEEKDAYS[m.group(2)], qualifier)
        add_single(m, d)
        if qualifier in ("", "on"):
            bare_weekdays.add(d)
    month_spans: list[tuple[int, int]] = []
    for m in re.finditer(rf"\b{_MON} (?:the )?(\d{{1,2}})(?:th)?\b", s):
        month_spans.append(m.span())
        add_single(m, _month_day(today, _MONTHS[m.group(1)], int(m.group(2))))
    for m in re.finditer(rf"\b(?:the )?(\d{{1,2}})(?:th)? (?:of )?{_MON}\b", s):
        if m.group(2) == "may" and "th" not in m.group(0) and " of " not in m.group(0):
            continue
        month_spans.append(m.span())
        add_single(m, _month_day(today, _MONTHS[m.group(2)], int(m.group(1))))
    for m in re.finditer(r"\b(?:on )?(?:the )?(\d{1,2})th\b(?! (one|option|choice|slot|time|appointment|of))", s):
        if any(a <= m.start() < b for a, b in month_spans):
            continue
        add_single(m, _day_of_month(today, int(m.group(1))))
    for m in re.finditer(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", s):
        add_single(m, _numeric_date(m.group(0), now))
    for m in re.finditer(r"\bin (\d+|an?|a couple(?: of)?|couple(?: of)?|a few|few) (day|days|week|weeks)\b", s):
        n = _count(m.group(1))
        if n is None:
            continue
        if m.group(2).startswith("day"):
            add_single(m, today + timedelta(days=n))
        else:
            target = today + timedelta(weeks=n)
            ranges.append((m.start(), _week_start(target), _week_start(target) + timedelta(days=5), m.group(0)))

    week0 = _week_start(today)
    fixed_ranges = [
        (r"\b(later this week|end of (the|this) week|towards? the end of the week)\b",
         max(today, week0 + timedelta(days=3)), week0 + timedelta(days=5)),
        (r"\b(early next week|beginning of next week|start of next week|first of next week)\b",
         week0 + timedelta(days=7), week0 + timedelta(days=9)),
        (r"\b(later next week|end of next week)\b", week0 + timedelta(days=10), week0 + timedelta(days=12)),
        (r"\bnext week(end)?\b", week0 + timedelta(days=7), week0 + timedelta(days=13)),
        (r"\b(this|the) week\b", today, week0 + timedelta(days=6)),
        (r"\b(this )?weekend\b", max(today, week0 + timedelta(days=5)), week0 + timedelta(days=6)),
        (r"\bnext month\b", *_month_range(today, 1)),
        (r"\b(this month|later this month)\b", today, _month_range(today, 0)[1]),
        (r"\bend of (the|this) month\b", max(today, _month_range(today, 0)[1] - timedelta(days=6)),
         _month_range(today, 0)[1]),
    ]
    taken: list[tuple[int, int]] = []
    for pattern, start, end in fixed_ranges:
        for m in re.finditer(pattern, s):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            if m.group(0) == "next weekend":
                start, end = week0 + timedelta(days=12), week0 + timedelta(days=13)
            ranges.append((m.start(), start, end, m.group(0)))
    for m in re.finditer(r"\b(in|within|over) the next (\d+|couple(?: of)?|few) (day|days|week|weeks)\b", s):
        n = _count(m.group(2)) or 2
        span = n * 7 if m.group(3).startswith("week") else n
        ranges.append((m.start(), today, today + timedelta(days=span), m.group(0)))

    positive = [(a, b, d) for a, b, d in singles if not _NEGATORS.search(s[:a])]
    positive = sorted(set(positive))
    if ranges:
        _, r_start, r_end, label = ranges[-1]
        inside = [d for _, _, d in positive if r_start <= d <= r_end]
        if positive and not inside:
            # "tuesday next week": move the weekday into the range
            d = positive[-1][2]
            while d < r_start:
                d += timedelta(days=7)
            if d <= r_end:
                return DatePref(d, d, label=_day_label(d))
        if inside:
            return _from_days(inside, s)
        return DatePref(r_start, r_end, label=label)
    if positive:
        days = _joined_days(positive, s)
        return replace(_from_days(days, s), weekdays_only=all(d in bare_weekdays for d in days))
    if _SOONEST.search(s):
        return DatePref(today, today + timedelta(days=14), label="the soonest", soonest=True)
    return None


def within(new: DatePref, previous: DatePref | None) -> DatePref:
    """"tuesday or wednesday" said after "next week" means next week's: move weekdays into the earlier range."""
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
    return _from_days(shifted, "")


def _joined_days(positive: list[tuple[int, int, date]], s: str) -> list[date]:
    """"tuesday or thursday" keeps both; "not tuesday, thursday" and "tuesday, no, thursday" keep the last."""
    chosen = [positive[-1]]
    for prev in reversed(positive[:-1]):
        between = s[prev[1]:chosen[0][0]]
        if re.fullmatch(r"\s*(or|and|or maybe|maybe|and or|,)?\s*", between):
            chosen.insert(0, prev)
        else:
            break
    return sorted({d for _, _, d in chosen})


def _from_days(days: list[date], s: str) -> DatePref:
    days = sorted(set(days))
    if len(days) == 1:
        return DatePref(days[0], days[0], label=_day_label(days[0]))
    return DatePref(days[0], days[-1], days=tuple(days), label=" or ".join(_day_label(d) for d in days))


def _day_label(d: date) -> str:
    return f"{d:%A}, {d:%B} {d.day}"


def _month_range(today: date, offset: int) -> tuple[date, date]:
    y, m = today.year, today.month + offset
    while m > 12:
        y, m = y + 1, m - 12
    first = date(y, m, 1)
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return (max(first, today), nxt - timedelta(days=1))


def _numeric_date(raw: str, now: datetime) -> date | None:
    import dateparser

    parsed = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "DATE_ORDER": "MDY",
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "REQUIRE_PARTS": ["day", "month"],
        },
    )
    return parsed.date() if parsed else None


# --- times --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimePref:
    exact: time | None = None  # "nine thirty", "around 10"
    start: time | None = None  # window ("after 2", "in the morning")
    end: time | None = None
    earliest: bool = False  # "first thing"
    latest: bool = False  # "end of the day"
    label: str = ""

    def to_param(self) -> str:
        """The get_available_slots `time_preference` form: "09:30", "07:00-12:00", "earliest", "latest"."""
        if self.exact:
            return f"{self.exact:%H:%M}"
        if self.earliest:
            return "earliest"
        if self.start or self.end:
            return f"{(self.start or time(0)):%H:%M}-{(self.end or time(23, 59)):%H:%M}"
        if self.latest:
            return "latest"
        return ""

    def contains(self, t: time) -> bool:
        if self.exact:
            return t == self.exact
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)


_WINDOWS = [  # (pattern, start, end, flag, label)
    (r"\b(first thing|as early as (possible|you can)|earliest (time|slot|you have)|early morning|"
     r"first appointment|crack of dawn)\b", None, time(10), "earliest", "first thing in the morning"),
    (r"\blate morning\b", time(10), time(12), "", "late in the morning"),
    (r"\b(morning|mornings|am)\b", None, time(12), "", "in the morning"),
    (r"\b(lunch|lunchtime|lunch time)\b", time(11, 30), time(13, 30), "", "around lunchtime"),
    (r"\bearly afternoon\b", time(12), time(15), "", "early in the afternoon"),
    (r"\b(late afternoon|end of the day|after work|later in the day)\b", time(15), None, "latest",
     "late in the day"),
    (r"\b(afternoon|afternoons|pm)\b", time(12), time(17), "", "in the afternoon"),
    (r"\b(evening|tonight|night)\b", time(16), None, "latest", "late in the day"),
]


def _hour24(hour: int, ampm: str | None, context: str) -> int | None:
    if not 0 <= hour <= 23:
        return None
    if hour > 12:
        return hour
    if ampm == "am" or (ampm is None and re.search(r"\bmorning\b", context)):
        return 0 if hour == 12 else hour
    if ampm == "pm" or (ampm is None and re.search(r"\b(afternoon|evening|tonight|night)\b", context)):
        return hour if hour == 12 else hour + 12
    # No am/pm: a service shop's day runs 7 to 6, so 1-6 mean the afternoon.
    return hour + 12 if 1 <= hour <= 6 else hour


def _mk_time(hour: int, minute: int, ampm: str | None, context: str) -> time | None:
    h = _hour24(hour, ampm, context)
    if h is None or not 0 <= minute <= 59:
        return None
    return time(h, minute)


_MARKER = r"(?:at|around|about|by|after|before|til|till|until|from|between|say|like|maybe|is|for|and|to|or|it)"


def parse_time(text: str, *, bare_ok: bool = False) -> TimePref | None:
    """The time of day the caller means: an exact time, a window, or first thing / end of day.

    `bare_ok`: a lone number counts as an hour (the agent just asked "what time?").
    """
    s = numerize(text)
    found: list[tuple[int, time, bool]] = []  # (position, time, approximate)
    spans: list[tuple[int, int]] = []  # text already read as a time
    approx = bool(re.search(r"\b(around|about|ish|roughly|or so|somewhere around)\b", s))

    def ampm_after(end: int) -> str | None:
        m = re.match(r"\s*(?:oclock\s*)?(am|pm)\b", s[end:])
        return m.group(1) if m else None

    def add(pos: int, end: int, hour: int, minute: int, span_start: int | None = None) -> None:
        t = _mk_time(hour, minute, ampm_after(end), s[end:end + 25])
        if t is not None and not any(p == pos for p, _, _ in found):
            found.append((pos, t, approx))
            spans.append((pos if span_start is None else span_start, end))

    for m in re.finditer(r"\b(\d{1,2}):(\d{2})\b", s):
        add(m.start(), m.end(), int(m.group(1)), int(m.group(2)))
    for m in re.finditer(r"\b(\d{1,2}) 0 (\d)\b", s):
        add(m.start(), m.end(), int(m.group(1)), int(m.group(2)))
    for m in re.finditer(r"(?<![\d/] )\b(\d{1,2}) (\d{2})\b(?! \d)", s):
        hour, minute = int(m.group(1)), int(m.group(2))
        if 1 <= hour <= 12 and 10 <= minute <= 59:
            add(m.start(), m.end(), hour, minute)
    for m in re.finditer(r"\b(\d{1,2}) (?:oclock\s*)?(am|pm)\b|\b(\d{1,2}) oclock\b", s):
        hour = int(m.group(1) or m.group(3))
        add(m.start(), m.end(1) if m.group(1) else m.end(3), hour, 0)
    for m in re.finditer(r"\b(\d{1,2})(?= (in the|this|tomorrow) (morning|afternoon|evening)\b| at night\b)", s):
        add(m.start(), m.end(), int(m.group(1)), 0)
    for m in re.finditer(r"\bhalf (?:past|after) (\d{1,2})\b", s):
        add(m.start(), m.end(), int(m.group(1)), 30)
    for m in re.finditer(r"\b(?:a )?quarter (?:past|after) (\d{1,2})\b", s):
        add(m.start(), m.end(), int(m.group(1)), 15)
    for m in re.finditer(r"\b(?:a )?quarter (?:to|till|til|of) (\d{1,2})\b", s):
        add(m.start(), m.end(), int(m.group(1)) - 1 or 12, 45)
    for m in re.finditer(r"\b(noon|midday|12 noon)\b", s):
        found.append((m.start(), time(12), approx))
        spans.append(m.span())
    for m in re.finditer(rf"\b{_MARKER} (\d{{1,2}})\b(?!th| \d| (day|days|week|weeks|month|months|year|years|"
                         r"minutes|hours|of|people|cars|tires|miles)\b)", s):
        if not any(a < m.end() and m.start() < b for a, b in spans):
            add(m.start(1), m.end(1), int(m.group(1)), 0)
    if bare_ok and not found:
        lone = re.findall(r"(?<![\d/:])\b(\d{1,2})\b(?![\d/:]|th)", s)
        if len(lone) == 1:
            m = re.search(rf"\b{lone[0]}\b", s)
            add(m.start(), m.end(), int(lone[0]), 0)

    found.sort()
    between = re.search(r"\b(between|from) (.+?) (and|to|till|until) (.+)", s)
    if between and len(found) >= 2:
        a, b = sorted([found[0][1], found[1][1]])
        return TimePref(start=a, end=b, label=f"between {_spoken(a)} and {_spoken(b)}")
    if found:
        pos, t, _ = found[-1]
        before = s[:pos]
        if re.search(r"\b(after|later than|past|no earlier than)\s*$", before):
            return TimePref(start=t, label=f"after {_spoken(t)}")
        if re.search(r"\b(before|by|earlier than|no later than|until|till|til)\s*$", before):
            return TimePref(end=t, label=f"before {_spoken(t)}")
        return TimePref(exact=t, label=_spoken(t))
    for pattern, start, end, flag, label in _WINDOWS:
        if re.search(pattern, s):
            return TimePref(start=start, end=end, earliest=flag == "earliest", latest=flag == "latest", label=label)
    return None


def _spoken(t: time) -> str:
    return spoken_time(t)


# --- choices among offered options --------------------------------------------------------------

_ORDINAL_CHOICE = [
    (r"\b(1th|first)\b(?! thing| available| opening| of)|\b(earliest|top|former|option 1|number 1)\b|"
     r"\bthe earlier one\b", 0),
    (r"\b(2th|second|middle|option 2|number 2)\b", 1),
    (r"\b(3th|third|option 3|number 3)\b", 2),
    (r"\b(4th|fourth|option 4|number 4)\b", 3),
    (r"\b(last|latest|latter|bottom)\b|\bthe later one\b", -1),
]


def parse_ordinal_choice(text: str, count: int) -> int | None:
    """"the second one" -> 1; "the last one" -> count - 1; None when no ordinal (or out of range)."""
    s = numerize(text)
    for pattern, index in _ORDINAL_CHOICE:
        if re.search(pattern, s):
            if index == 1 and "middle" in s and count != 3:
                continue
            idx = count - 1 if index == -1 else index
            return idx if 0 <= idx < count else None
    return None


_ANY_CHOICE = re.compile(r"\b(either|any( of them| of those| one)?|whichever|doesnt matter|dont care|you pick|"
                         r"you choose|up to you)\b")


def any_choice(text: str) -> bool:
    return bool(_ANY_CHOICE.search(normalize(text)))


# --- names, postal codes, vehicles ---------------------------------------------------------------

_NOT_NAME = {
    "a", "an", "the", "and", "or", "i", "im", "my", "its", "it", "is", "this", "that", "here", "just", "calling",
    "looking", "trying", "wanting", "wondering", "hoping", "interested", "not", "sure", "good", "fine", "great",
    "having", "going", "gonna", "about", "need", "want", "with", "from", "for", "to", "in", "on", "at", "of", "so",
    "well", "um", "uh", "umm", "uhh", "er", "hmm", "yes", "yeah", "yep", "no", "nope", "ok", "okay", "hi",
    "hello", "hey", "name", "names", "last", "first", "call", "me", "speaking", "be", "was", "am", "are", "have",
    "had", "do", "did", "can", "could", "would", "like", "book", "cancel", "appointment", "oil", "change", "car",
    "sorry", "thanks", "thank", "you", "please", "again", "what", "who", "customer", "new", "already", "still",
    "actually", "really", "also", "too", "then", "there", "they", "we", "our", "your", "he", "she", "him", "her",
    "mr", "mrs", "ms", "miss", "dr", "doctor", "spelled", "spell", "s", "by", "bye", "goodbye",
}
_NAME_LEAD = re.compile(
    r"\b(my name is|my names|the name is|name is|names|this is|its|it is|im|i am|call me|"
    r"youre speaking (with|to)|you are speaking (with|to)|first name is|last name is)\s+"
)


_NAME_FILLERS = {
    "um", "uh", "umm", "uhh", "er", "hmm", "yes", "yeah", "yep", "ok", "okay", "sure", "well", "so", "hi", "hello",
    "hey", "its", "it", "is", "my", "name", "names", "this", "the", "first", "last", "mr", "mrs", "ms", "miss", "dr",
    "and",
}


def _name_words(tokens: list[str]) -> list[str]:
    """The name at the start of `tokens` (after fillers); stops at the first word that is no name."""
    words: list[str] = []
    letters: list[str] = []
    for tok in tokens:
        if len(tok) == 1 and tok.isalpha() and (letters or tok not in ("a", "i")):
            letters.append(tok)  # spelled out: "s m i t h"
            continue
        if letters:
            if len(letters) >= 2:
                words.append("".join(letters))
            letters = []
        if not words and tok in _NAME_FILLERS:
            continue
        if tok in _NOT_NAME or not tok.isalpha() or len(tok) < 2:
            break
        words.append(tok)
        if len(words) == 3:
            break
    if len(letters) >= 2:
        words.append("".join(letters))
    return words


def parse_name(text: str, *, bare_ok: bool = False) -> tuple[str, str] | None:
    """(first, last) from "my name is john smith" / "it's john" / (bare_ok) "john smith". last may be ""."""
    t = normalize(text)
    m = _NAME_LEAD.search(t)
    words = _name_words(t[m.end():].split()) if m else []
    if not words and bare_ok:
        words = _name_words(t.split())
    if not words:
        return None
    words = [w.capitalize() for w in words]
    if len(words) == 1:
        return (words[0], "")
    return (" ".join(words[:-1]), words[-1])


def parse_postal_code(text: str) -> str | None:
    """US ZIP from digits or digit words ("six oh six oh one" -> "60601"); Canadian "M5V 2T6" as typed."""
    raw = (text or "").upper()
    ca = re.search(r"\b([A-Z]\d[A-Z])\s?(\d[A-Z]\d)\b", raw)
    if ca:
        return f"{ca.group(1)} {ca.group(2)}"
    digits = ""
    for tok in numerize(text).split():
        if tok.isdigit():
            digits += tok
        elif digits and tok not in ("dash", "hyphen"):
            if len(digits) >= 5:
                break
            digits = ""
    if len(digits) in (5, 9):
        return digits[:5]
    return None


@dataclass(frozen=True)
class VehicleMention:
    year: int | None = None
    make: str = ""
    model: str = ""

    @property
    def label(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model) if p)


# Common passenger-car makes with the spoken forms callers use; models come from the vin package's vPIC subset.
MAKES: dict[str, tuple[str, ...]] = {
    "Acura": ("acura",), "Alfa Romeo": ("alfa romeo", "alfa"), "Audi": ("audi",), "BMW": ("bmw", "b m w", "beamer"),
    "Buick": ("buick",), "Cadillac": ("cadillac", "caddy"), "Chevrolet": ("chevrolet", "chevy"),
    "Chrysler": ("chrysler",), "Dodge": ("dodge",), "Fiat": ("fiat",), "Ford": ("ford",), "Genesis": ("genesis",),
    "GMC": ("gmc", "g m c"), "Honda": ("honda",), "Hyundai": ("hyundai", "hundai", "hyundia"),
    "Infiniti": ("infiniti", "infinity"), "Jaguar": ("jaguar",), "Jeep": ("jeep",), "Kia": ("kia",),
    "Land Rover": ("land rover", "range rover"), "Lexus": ("lexus",), "Lincoln": ("lincoln",), "Mazda": ("mazda",),
    "Mercedes-Benz": ("mercedes benz", "mercedes", "benz"), "Mini": ("mini cooper", "mini"),
    "Mitsubishi": ("mitsubishi",), "Nissan": ("nissan",), "Polestar": ("polestar",), "Porsche": ("porsche",),
    "Ram": ("ram",), "Rivian": ("rivian",), "Subaru": ("subaru",), "Tesla": ("tesla",), "Toyota": ("toyota",),
    "Volkswagen": ("volkswagen", "volkswagon", "vw", "v w"), "Volvo": ("volvo",), "Pontiac": ("pontiac",),
    "Saturn": ("saturn",), "Mercury": ("mercury",), "Hummer": ("hummer",), "Saab": ("saab",), "Suzuki": ("suzuki",),
    "Scion": ("scion",),
}
_MAKE_ALIASES = sorted(((alias, make) for make, aliases in MAKES.items() for alias in aliases),
                       key=lambda p: -len(p[0]))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=64)
def models_for_make(make: str) -> dict[str, str]:
    """{compact key: model name} for a make, from the vin package's vPIC snapshot (empty if unreadable)."""
    import sqlite3
    from contextlib import closing

    from vin.database import DATABASE_PATH

    # Our own short-lived read-only connection: the package's shared one is not ours to use across threads.
    try:
        with closing(sqlite3.connect(f"file:{DATABASE_PATH}?immutable=1", uri=True)) as conn:
            rows = conn.execute(
                "SELECT m.name FROM model m JOIN make_model mm ON mm.model_id = m.id JOIN make k ON k.id = mm.make_id "
                "WHERE k.name = ? COLLATE NOCASE",
                (make,),
            ).fetchall()
    except sqlite3.Error:
        rows = []
    models: dict[str, str] = {}
    for (name,) in rows:
        key = _key(name)
        if key and not key.isdigit() and key not in models:
            models[key] = name
    if make == "Land Rover":
        models.setdefault("rangerover", "Range Rover")
    return models


@lru_cache(maxsize=1)
def _model_index() -> dict[str, str]:
    """{model key: make} for models that belong to exactly one of the common makes ("civic" -> Honda)."""
    seen: dict[str, set[str]] = {}
    for make in MAKES:
        for key in models_for_make(make):
            seen.setdefault(key, set()).add(make)
    return {key: next(iter(makes)) for key, makes in seen.items() if len(makes) == 1 and len(key) >= 3}


def _match_model(make: str, tokens: list[str]) -> tuple[str, int]:
    models = models_for_make(make)
    for n in (3, 2, 1):
        if len(tokens) >= n:
            key = _key("".join(tokens[:n]))
            if key in models:
                return models[key], n
    return "", 0


def parse_vehicle(text: str, *, bare_ok: bool = False, now: datetime | None = None) -> VehicleMention | None:
    """Year, make and model from "a 2018 honda civic" / "twenty eighteen honda civic" / (bare_ok) "2018 civic"."""
    s = numerize(text)
    max_year = (now or datetime.now()).year + 1
    year = None
    for m in re.finditer(r"\b(19[5-9]\d|20\d\d)\b|\b(19|20) (\d{2})\b", s):
        value = int(m.group(1)) if m.group(1) else int(m.group(2)) * 100 + int(m.group(3))
        if 1950 <= value <= max_year:
            year = value
            s = s[:m.start()] + " " + s[m.end():]
            break
    tokens = s.split()
    make = model = ""
    for i in range(len(tokens)):
        for alias, canonical in _MAKE_ALIASES:
            n = len(alias.split())
            if tokens[i:i + n] == alias.split():
                make = canonical
                rest = tokens[i + n:]
                if alias == "range rover":
                    model = "Range Rover"
                else:
                    model, _ = _match_model(make, rest[:3])
                if not model and rest and rest[0].isalnum() and rest[0] not in _NOT_NAME:
                    model = rest[0].upper() if len(rest[0]) <= 3 else rest[0].capitalize()
                break
        if make:
            break
    if not make and (bare_ok or year):
        index = _model_index()
        for i in range(len(tokens)):
            for n in (3, 2, 1):
                key = _key("".join(tokens[i:i + n]))
                if len(tokens) >= i + n and key in index:
                    make = index[key]
                    model = models_for_make(make)[key]
                    break
            if make:
                break
    if not (make or model):
        return None
    return VehicleMention(year=year, make=make, model=model)


# Words of model names too common to pick a car by on their own ("grand" in "that'd be grand").
_WEAK_MODEL_WORDS = _NOT_NAME | {
    "model", "series", "class", "grand", "sport", "limited", "touring", "base", "new", "old", "car", "truck", "van",
    "suv", "one", "two", "plus", "hybrid", "coupe", "sedan", "wagon", "super", "duty", "cab", "crew",
}


def _spoken_years(s: str) -> set[int]:
    """Model years in numerized text: "2019", "20 19", "19 99", "20 0 3", "oh 3" / "03" (2003)."""
    years = {int(y) for y in re.findall(r"\b(19[5-9]\d|20\d\d)\b", s)}
    years |= {int(a) * 100 + int(b) for a, b in re.findall(r"\b(19|20) (\d{2})\b", s)}
    # "oh three" is a year, "nine oh five" (9 0 5) and "9:05" are times
    years |= {2000 + int(d) for d in re.findall(r"(?:\b20 0|(?<!\d )\b(?:oh|o|0)) (\d)\b", s)}
    years |= {2000 + int(d) for d in re.findall(r"(?<![\d:])\b0(\d)\b", s)}
    return years


def pick_vehicle(text: str, vehicles: list[dict]) -> int | None:
    """Which of the caller's vehicles ({year, make, model}) the text names: "the jeep", "my 2019", "the accord".

    Each vehicle scores for its year, make (or a spoken alias: "chevy") and model (whole: "grand cherokee",
    "rav 4", or a distinctive word: "cherokee"); the single best scorer wins. None when nothing is named or
    two vehicles fit equally ("the honda" with two Hondas).
    """
    s = numerize(text)
    tokens = s.split()
    padded = f" {s} "
    years = _spoken_years(s)
    grams = {_key("".join(tokens[i:i + n])) for n in (1, 2, 3, 4) for i in range(len(tokens) - n + 1)}
    scores: list[int] = []
    for v in vehicles:
        score = 0
        if v.get("year") and v["year"] in years:
            score += 1
        make = (v.get("make") or "").strip()
        aliases = set(MAKES.get(next((m for m in MAKES if m.lower() == make.lower()), ""), ()))
        aliases |= {normalize(make)} - {""}
        if any(f" {a} " in padded for a in aliases):
            score += 1
        model = (v.get("model") or "").strip()
        if model and _key(model) in grams and not _key(model).isdigit():
            score += 2
        elif model and any(w in tokens for w in normalize(model).split()
                           if len(w) >= 3 and w not in _WEAK_MODEL_WORDS and not w.isdigit()):
            score += 1
        scores.append(score)
    best = max(scores, default=0)
    if best == 0 or scores.count(best) != 1:
        return None
    return scores.index(best)


# --- services -----------------------------------------------------------------------------------

# What callers say about symptoms -> words a shop's service keywords are likely to contain.
SERVICE_SYNONYMS: list[tuple[str, str]] = [
    (r"\b(brake|brakes|squeak\w*|squeal\w*|grinding|rotors?|pads|stopping)\b", "brakes"),
    (r"\b(check engine|engine light|warning light|dashboard light|diagnos\w*|strange noise|weird noise|"
     r"making (a|a weird|a strange|a funny) noise|runs rough|running rough|misfir\w*|stalls|stalling)\b",
     "diagnostic"),
    (r"\b(oil|lube|synthetic)\b", "oil change"),
    (r"\b(rotat\w* (the |my |your )?tires|tires? rotat\w*|tire rotation|tyre rotation)\b", "tire rotation"),
    (r"\b(flat tire|new tires|tire replacement|tires)\b", "tires"),
    (r"\b(alignment|pulls? to the (left|right)|pulling to the (left|right))\b", "alignment"),
    (r"\b(battery|wont start|doesnt start|dead)\b", "battery"),
    (r"\b(ac|a c|air conditioning|air conditioner|blowing (warm|hot) air)\b", "air conditioning"),
    (r"\b(inspection|emissions|smog)\b", "inspection"),
    (r"\b(transmission|shifting|slipping gears)\b", "transmission"),
    (r"\b(tune up|tuneup|spark plugs?)\b", "tune-up"),
    (r"\b(recall)\b", "recall"),
]


def match_services(text: str) -> list:
    """Active ServiceType rows the caller mentions, directly or through a symptom; most specific first."""
    from scheduling.selectors import find_service_types

    t = normalize(text)
    found: list = []

    def extend(items) -> None:
        for st in items:
            if st.pk not in {f.pk for f in found}:
                found.append(st)

    extend(find_service_types(t))
    for pattern, canonical in SERVICE_SYNONYMS:
        if re.search(pattern, t):
            extend(find_service_types(canonical))
    return [st for st in found if st.active]


# --- everything at once -------------------------------------------------------------------------

_REPEAT = re.compile(r"^(what|pardon|sorry|huh|come again|say (that|it) again|(can you |could you )?repeat( that| it)?"
                     r"( please)?|i didnt (catch|hear|get) (that|it)|one more time|what did you say|excuse me)\W*$")
_TRANSPORT = [
    (re.compile(r"\b(loaner|rental|courtesy car)\b"), "loaner"),
    (re.compile(r"\b(shuttle|ride (home|to work|back)|drive me|give me a ride)\b"), "shuttle"),
    (re.compile(r"\b(ill wait|i will wait|wait for it|wait there|wait at the shop|waiting|stay (there|with it))\b"),
     "waiter"),
    (re.compile(r"\b(drop (it|her|him|the car|my car|the truck) off|drop off|dropping (it )?off|"
                r"leave (it|the car))\b"), "drop_off"),
]
_APPOINTMENT_REF = re.compile(
    r"\b(?:appointment|appt|booking|confirmation|reservation)\s+(?:number\s+|no\s+|id\s+|#\s*)?(\d{1,9})\b"
)


def parse_transport(text: str) -> str | None:
    t = normalize(text)
    for rx, value in _TRANSPORT:
        if rx.search(t):
            return value
    return None


def parse_appointment_ref(text: str) -> int | None:
    m = _APPOINTMENT_REF.search(numerize(text))
    return int(m.group(1)) if m else None


def wants_repeat(text: str) -> bool:
    return bool(_REPEAT.match(normalize(text)))


@dataclass
class Understanding:
    text: str
    intent: str
    scores: dict[str, int]
    yes_no: str | None
    date: DatePref | None
    time: TimePref | None
    transport: str | None
    appointment_ref: int | None
    repeat: bool
    services: list = field(default_factory=list)

    @property
    def has_when(self) -> bool:
        return self.date is not None or self.time is not None


def understand(text: str, now: datetime, *, expect_time: bool = False, services: bool = True,
               named_days: Mapping[str, date] | None = None) -> Understanding:
    """Everything the rule policy wants from one caller line. `expect_time`: a bare number is an hour.

    `services` and `named_days` left to their defaults read the shop's service types and named closures."""
    if named_days is None and services:
        named_days = closure_days(now.date())
    return Understanding(
        text=text,
        intent=detect_intent(text),
        scores=intent_scores(text),
        yes_no=yes_no(text),
        date=parse_date(text, now, named_days=named_days),
        time=parse_time(text, bare_ok=expect_time),
        transport=parse_transport(text),
        appointment_ref=parse_appointment_ref(text),
        repeat=wants_repeat(text),
        services=match_services(text) if services else [],
    )
