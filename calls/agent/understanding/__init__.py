"""Understanding a caller line: Duckling for days, times and numbers, and the shop's own words for the rest.

    understand(text, now) -> Understanding(intent, yes/no, date, time, services, transport, ...)

- engine: Duckling, set up once per process (time, number, ordinal, duration, phone number; EN and ES).
- when: the day and time of day meant, with the shop's parts of day, holidays and closures by name.
- text: normalising recogniser text, numbers as digits.
- intents: what the caller wants, yes and no, small requests.
- services: the shop's services named, fuzzily, from the database's names and keywords.
- choices: "the first one", "the earliest" among options just offered.
- relative: moves against the slot being discussed ("push it back a day", "an hour later", "same time next week").
- corrections: what a correction turns down ("brakes, not an oil change", "10 instead of 9").

Language is a parameter (`lang`, "EN" by default): Duckling reads Spanish days, times and numbers; the rules of
the other modules are English for now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from calls.agent.understanding import engine
from calls.agent.understanding.anchors import VISIT_WORDS, VisitAnchor, visit_anchor
from calls.agent.understanding.choices import any_choice, any_time_of_the_offers, named_hour, parse_ordinal_choice
from calls.agent.understanding.corrections import already_done, inside, turned_down
from calls.agent.understanding.intents import (
    INTENTS,
    adds_to_request,
    best_intent,
    detect_intent,
    intent_scores,
    parse_appointment_ref,
    parse_transport,
    person_asked_for,
    service_question,
    transport_phrase,
    wants_repeat,
    without_phrases,
    yes_no,
)
from calls.agent.understanding.named_days import HOLIDAYS, closure_days, named_day_phrases
from calls.agent.understanding.questions import shop_question
from calls.agent.understanding.relative import RelativeMove, read_relative, without_move
from calls.agent.understanding.services import (
    SERVICE_SYNONYMS,
    find_services,
    match_services,
    unoffered_work,
    work_of_several,
)
from calls.agent.understanding.text import HOUR_WORDS, normalize, numerize
from calls.agent.understanding.when import DatePref, TimePref, parse_date, parse_time, read_when, within

__all__ = [
    "HOLIDAYS",
    "INTENTS",
    "SERVICE_SYNONYMS",
    "DatePref",
    "RelativeMove",
    "TimePref",
    "Understanding",
    "VisitAnchor",
    "adds_to_request",
    "any_choice",
    "any_time_of_the_offers",
    "closure_days",
    "detect_intent",
    "find_services",
    "intent_scores",
    "match_services",
    "named_day_phrases",
    "named_hour",
    "normalize",
    "numerize",
    "parse_appointment_ref",
    "parse_date",
    "parse_ordinal_choice",
    "parse_phone",
    "parse_time",
    "parse_transport",
    "person_asked_for",
    "shop_question",
    "understand",
    "wants_repeat",
    "warm_up",
    "within",
    "yes_no",
]


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
    phone: str | None = None  # a phone number said, E.164
    lang: str = "EN"
    adding: bool = False  # services said "also", "too": on top of those asked for, not instead
    asks: str | None = None  # a question about a service: "contents", "price", "duration"
    relative: RelativeMove | None = None  # a move against the slot being discussed: "push it back a day"
    kept: str = ""  # the line without what it turns down ("the Civic, not the Accord" -> "the Civic,")
    question: str | None = None  # a question about the shop or their visit (understanding.questions)
    not_offered: list[str] = field(default_factory=list)  # the caller's words for work the shop has no service for
    service_words: list[str] = field(default_factory=list)  # the caller's words for the services named
    # A visit they have, named as where the request goes ("same day as my Outback's inspection"): its words are
    # not read as the request's services, car or day (understanding.anchors)
    anchor: VisitAnchor | None = None
    # the services a general word could mean ("an inspection": brake, multi-point, state): which one is asked
    candidates: list = field(default_factory=list)

    @property
    def unnamed(self) -> str:
        """The normalized line with the services' words masked: "just the oil change" holds no "change" to make."""
        return without_phrases(normalize(self.text), self.service_words)

    @property
    def has_when(self) -> bool:
        return self.date is not None or self.time is not None


def parse_phone(text: str, *, lang: str = "EN") -> str | None:
    """A phone number said in the line, as E.164 ("my number is three one two, five five five ..." -> "+1312...")."""
    from crm.phones import try_normalize_phone

    said = normalize(text).split()
    if sum(len(w) if w.isdigit() else w in HOUR_WORDS or w in ("zero", "oh") for w in said) < 7:
        return None  # fewer than seven digits, written or spoken
    digits = numerize(text)
    if sum(c.isdigit() for c in digits) < 7:
        return None
    for e in engine.parse(digits, lang=lang, dims=("phone-number",)):
        number = try_normalize_phone(str(e.value.get("value", "")))
        if number:
            return number
    return None


def understand(
    text: str,
    now: datetime,
    *,
    expect_time: bool = False,
    services: bool = True,
    named_days: Mapping[str, date] | None = None,
    lang: str = "EN",
) -> Understanding:
    """Everything a dialogue policy wants from one caller line. `expect_time`: a bare number is an hour.

    `services` and `named_days` left to their defaults read the shop's service types and named closures."""
    lang = lang.upper()
    named: list = []
    not_offered: list[str] = []
    words = None
    candidates: list = []
    if services:
        from calls.agent.understanding.shop_words import shop_words

        words = shop_words(now.date())
        if named_days is None:
            named_days = words.closures
    whole = text
    anchor = _visit_anchor(text, words) if lang == "EN" else None
    if anchor is not None:
        text = anchor.kept  # the rest of the line is the request
    if words is not None:
        named = find_services(text, words.services, words.vocabulary)
        not_offered = unoffered_work(text, words.services, words.vocabulary)
        candidates = work_of_several(text, words.services, words.vocabulary)
        if any(c in [m.service for m in named] for c in candidates):
            candidates = []  # "get my brakes inspected": the brake inspection, named as well
    turned = turned_down(text)
    done = already_done(text)
    if turned.any or done:
        # "brakes, not an oil change", "a tire rotation, I just had the oil done": the service turned down (or
        # done already) is not asked for, when another one is
        wanted = [m for m in named if not inside(m.said, turned.dropped + done)]
        named = wanted or named
    relative = read_relative(text, lang=lang)
    # "it squeals when I start it up in the morning": that morning is when the trouble shows, not when they come
    heard_when = _TROUBLE_WHEN.sub(" ", text) if named else text
    when = _when(heard_when, now, relative, named_days=named_days, bare_ok=expect_time, lang=lang)
    if turned.any:
        # "10 instead of 9": read whole, the time said last wins (or no lone hour at all); "not this Thursday, next
        # Thursday" is one Duckling reading (this week's). What the caller kept is what they mean.
        kept = _when(turned.kept, now, relative, named_days=named_days, bare_ok=expect_time, lang=lang)
        down = [read_when(d, now, named_days=named_days, bare_ok=expect_time, lang=lang) for d in turned.dropped]
        if kept.time is not None and any(d.time for d in down):
            when = replace(when, time=kept.time)
        # ("next week, but not Monday" read whole is next week without Monday: a day ruled out, not a correction)
        ruled_out = (
            kept.date is not None
            and when.date is not None
            and (when.date.avoid_weekdays or when.date.avoid_days)
            and (when.date.start, when.date.end) == (kept.date.start, kept.date.end)
        )
        if kept.date is not None and any(d.date for d in down) and not ruled_out:
            when = replace(when, date=kept.date)
    transport = transport_phrase(text)
    # (the visit's own services are masked too: "add it to my oil change appointment" changes no appointment)
    anchored = find_services(anchor.described, words.services, words.vocabulary) if anchor and words else []
    scores = intent_scores(whole, service_phrases=[m.said for m in [*named, *anchored]])
    understood = (
        [m.said for m in named]
        + ([transport[1]] if transport else [])
        + list(when.said)
        + list(relative.said if relative else ())
    )
    return Understanding(
        text=whole,
        intent=best_intent(scores),
        scores=scores,
        yes_no=yes_no(when.heard, understood=understood),
        date=when.date,
        time=when.time,
        transport=transport[0] if transport else None,
        appointment_ref=parse_appointment_ref(whole),
        repeat=wants_repeat(whole),
        services=[m.service for m in named],
        phone=parse_phone(whole, lang=lang),
        lang=lang,
        adding=bool(named) and adds_to_request(whole),
        asks=service_question(whole) if scores.get("service_inquiry") else None,
        relative=relative,
        kept=turned.kept,
        question=shop_question(whole),
        not_offered=not_offered,
        service_words=[m.said for m in named],
        anchor=anchor,
        candidates=candidates,
    )


def _visit_anchor(text: str, words) -> VisitAnchor | None:
    """The visit the line names as where its request goes, when its words describe a visit: a day, a time or
    "appointment", a service of the shop's, or a car."""
    anchor = visit_anchor(text)
    if anchor is None:
        return None
    described = anchor.described
    if VISIT_WORDS.search(described):
        return anchor
    if words is not None and (
        find_services(described, words.services, words.vocabulary)
        or unoffered_work(described, words.services, words.vocabulary)  # "the inspection": which one, unsaid
    ):
        return anchor
    from calls.agent.nlu import parse_vehicle

    return anchor if anchor.car_enough and parse_vehicle(described, bare_ok=True) is not None else None


def _when(text: str, now: datetime, relative: RelativeMove | None, **kw):
    """The days and times said outright: the words of a relative move are read by the dialogue, against its
    anchor ("two days later" is no 2 o'clock, "same time next week" no week-long range)."""
    if relative is not None and relative.said:
        text = without_move(text, relative)
    text = _ONE_AS_NOUN.sub(r"\1 appointment", text)
    return read_when(text, now, **kw)


# When the car's trouble shows: "when I start it up in the morning", "every time she brakes on the highway".
_TROUBLE_WHEN = re.compile(
    r"\b(?:when|whenever|every time|each time|if) (?:i|she|he|we|you|it|the car)(?: first)? (?:start|turn|brake|"
    r"drive|stop|accelerat|hit|shift|park|idl|press|step|back|pull|speed|slow|warm|run|go)\w*\b[^,.;!?]*",
    re.IGNORECASE,
)

# "make the Tacoma one 10 instead": "one" stands for the appointment there, it is no 1 o'clock ("one 10" = 1:10)
_ONE_AS_NOUN = re.compile(r"\b((?:the|that|this|my) (?!first|1st)[a-z][\w-]*) one\b(?= (?:at )?\d)", re.IGNORECASE)


def warm_up() -> None:
    """Load Duckling's tables before the first caller needs them, and read one line through every rule (regular
    expressions compile on first use, rapidfuzz loads its kernels): the first caller's line costs what any other
    does. (Without the shop's services: the database may not be reachable yet.)"""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    engine.warm_up()
    now = datetime.now(ZoneInfo(settings.SHOP_TIMEZONE))
    for line in (
        "hi can i bring my car in for an oil change the day after tomorrow at quarter past nine",
        "yes the first one please, my number is three one two five five five zero one four two",
    ):
        understand(line, now, expect_time=True, services=False, named_days={})
        numerize(line)
    from django.core.exceptions import SynchronousOnlyOperation
    from django.db import DatabaseError

    from calls.agent.understanding.shop_words import shop_words

    try:
        shop_words(now.date())  # the shop's services and closures, and their fuzzy vocabulary
    except (DatabaseError, SynchronousOnlyOperation):
        pass  # read by the first caller's line instead
