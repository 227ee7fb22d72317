"""Which lines can hold what Duckling looks for, decided in microseconds: most caller lines ("yes", "my name is
John Smith", "the check engine light is on") name no day, time or number, and Duckling costs milliseconds a line.

A line reaches Duckling when it holds a digit or a word that is the core of an English time expression or number:
a weekday, a month, a part of day, a unit of time, a holiday, a number or an ordinal. The modifiers ("next",
"after", "end of") never make one alone. The lists are wide on purpose: a word too many costs a parse, a word
missing would lose a day. Other languages always go to Duckling.
"""

from __future__ import annotations

import re

from calls.agent.understanding.text import _NUMBER_WORDS, ORDINAL_WORDS

_NUMBERS = (
    frozenset(_NUMBER_WORDS - {"and"})
    | frozenset(ORDINAL_WORDS)
    | {
        "dozen",
        "couple",
        "half",
        "quarter",
        "oh",
        "o",
        "zero",
        "nil",
        "none",
        "single",
        "pair",
        "few",
        "several",
        "twenty",
        "thirty",
        "forty",
        "fourty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
    }
)
_TIME = _NUMBERS | frozenset(
    """
    monday mondays mon tuesday tuesdays tue tues wednesday wednesdays wed weds thursday thursdays thu thur thurs
    friday fridays fri saturday saturdays sat sunday sundays sun weekday weekdays weekend weekends
    january jan february feb march mar april apr may june jun july jul august aug september sep sept october oct
    november nov december dec
    today tomorrow tonight yesterday now day days daily week weeks weekly month months monthly year years
    fortnight hour hours hr hrs minute minutes min mins second seconds sec morning mornings afternoon afternoons
    evening evenings night nights noon midday midnight lunch lunchtime dawn dusk sunrise sunset oclock am pm
    christmas xmas thanksgiving halloween easter new years year eve valentine valentines memorial labor
    independence veterans columbus presidents president mlk king mothers fathers patrick patricks
    spring summer fall autumn winter season holiday holidays
    """.split()
)
_DIGIT = re.compile(r"\d")


def may_hold(norm: str, dims: tuple[str, ...]) -> bool:
    """Could Duckling find any of `dims` in this normalized English line?"""
    if _DIGIT.search(norm):
        return True
    words = set(norm.split())
    if "phone-number" in dims or "duration" in dims:
        return bool(words & _TIME)
    if "time" in dims:
        return bool(words & _TIME)
    return bool(words & _NUMBERS)
