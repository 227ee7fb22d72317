"""Days a caller rules out: "any day but Monday", "not Friday", "I can't do Mondays", "Tuesdays are bad".

A day said that way is no day to book but a constraint on every offer: the period under discussion (or, when
none was, the next two weeks) without those weekdays or dates. `when` finds the days said; this module tells
which of them are ruled out and folds them into the DatePref the policy searches with.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

# Before the day: "not", "except", "any day but", "I can't do", "anything other than".
_RULED_OUT_BEFORE = re.compile(
    r"\b(not|except|excepting|excluding|besides|apart from|other than|instead of|rather than|no longer|avoid|"
    r"(any ?day|any ?time|anything|whenever|everything|every day|all) but|"
    r"(cant|cannot|can not|couldnt|wont be able to) (do|make|come( in)?|get (in|there)|go)|"
    r"(dont|do not) (do|want|like)|never|(i|we) (work|am working|m working|have work)|(im|i am|were) (busy|away|"
    r"out|out of town|working))\s*(on )?(the )?(a )?(all )?$"
)
# After the day: "Mondays are bad", "Friday doesn't work", "Tuesday's out".
_RULED_OUT_AFTER = re.compile(
    r"^\s*((is|are|s)\s+)?(no good|not good|bad|out|a no go|no go|not great|not possible|impossible|tough|hard|"
    r"difficult|doesnt work|dont work|wont work|does not work|do not work|isnt good|arent good|(is|are) out)\b"
)
_BARE_WEEKDAY = re.compile(
    r"^(on )?(the )?(monday|tuesday|tues|wednesday|weds|thursday|thurs|friday|saturday|sunday)s?$"
)

OPEN_DAYS = 14  # "any day but Monday" with no period said: the next two weeks


def ruled_out(s: str, start: int, end: int) -> bool:
    """Is the day said at s[start:end] one the caller cannot do?"""
    return bool(_RULED_OUT_BEFORE.search(s[:start]) or _RULED_OUT_AFTER.match(s[end:]))


def ruled_out_days(s: str, said: list[tuple[int, int, date]]) -> list[tuple[int, int, date]]:
    """The days said that are ruled out; "not Monday or Tuesday" rules out both, and "I work Mondays, so any day but
    Monday" rules out every mention of that day."""
    out: list[tuple[int, int, date]] = []
    for a, b, d in sorted(set(said)):
        joined = bool(out) and re.fullmatch(r"\s*(or|and|nor|and or)\s+(on )?(the )?", s[out[-1][1] : a])
        if joined or ruled_out(s, a, b):
            out.append((a, b, d))
    days = {d for _, _, d in out}
    return sorted({*out, *((a, b, d) for a, b, d in said if d in days)})


def avoiding(pref, days: list[tuple[int, int, date]], s: str, today: date):
    """`pref` (a DatePref, or None when only ruled-out days were said) without the days ruled out: weekdays said
    bare ("not Monday") rule out every such weekday, dated ones ("not the 7th") that date."""
    if not days:
        return pref
    from calls.agent.understanding.when import DatePref

    weekdays = frozenset(d.weekday() for a, b, d in days if _BARE_WEEKDAY.match(s[a:b].strip()))
    dated = tuple(sorted({d for a, b, d in days if not _BARE_WEEKDAY.match(s[a:b].strip())}))
    if pref is None:
        names = sorted(
            {f"{d:%A}" for _, _, d in days if d.weekday() in weekdays} | {f"{d:%A, %B} {d.day}" for d in dated}
        )
        return DatePref(
            today,
            today + timedelta(days=OPEN_DAYS - 1),
            label=f"on a day other than {' or '.join(names)}",
            soonest=True,
            avoid_weekdays=weekdays,
            avoid_days=dated,
            only_avoids=True,
        )
    return replace(
        pref, avoid_weekdays=pref.avoid_weekdays | weekdays, avoid_days=tuple(sorted(set(pref.avoid_days) | set(dated)))
    )


def combined(new, previous):
    """Ruled-out days said after a period ("next week" ... "but not Monday") narrow that period; a new period keeps
    the days ruled out before ("not Fridays" ... "how about next week?"). None when neither applies."""
    if previous is None:
        return None
    if new.only_avoids:
        if previous.start == previous.end or not previous.dates():
            return None  # "not Monday" after Monday was offered: any other day, from today
        narrowed = replace(
            previous,
            avoid_weekdays=previous.avoid_weekdays | new.avoid_weekdays,
            avoid_days=tuple(sorted(set(previous.avoid_days) | set(new.avoid_days))),
        )
        return narrowed if narrowed.dates() else None
    if (previous.avoid_weekdays or previous.avoid_days) and new.start != new.end and not new.days:
        return replace(
            new,
            avoid_weekdays=new.avoid_weekdays | previous.avoid_weekdays,
            avoid_days=tuple(sorted(set(new.avoid_days) | set(previous.avoid_days))),
        )
    return None


def search_args(pref) -> dict:
    """The get_available_slots arguments that keep ruled-out days out of the offers."""
    if pref is None:
        return {}
    args: dict = {}
    if pref.avoid_weekdays:
        args["exclude_weekdays"] = [f"{date(2024, 1, 1 + w):%A}".lower() for w in sorted(pref.avoid_weekdays)]
    if pref.avoid_days:
        args["exclude_dates"] = [d.isoformat() for d in pref.avoid_days]
    return args
