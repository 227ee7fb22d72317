"""Which of the options just offered the caller takes: "the first one", "the earliest", "the last one", "that one",
"either". Ordinals come from Duckling (through numerize: "the second" -> "2th"); the words are ours."""

from __future__ import annotations

import re

from calls.agent.understanding.text import normalize, numerize

_ORDINAL_CHOICE = [
    (r"\b(1th)\b(?! of)|\b(earliest|soonest|top|former|option 1|number 1)\b|\bthe (earlier|sooner) one\b", 0),
    (r"\b(2th|middle|option 2|number 2)\b", 1),
    (r"\b(3th|option 3|number 3)\b", 2),
    (r"\b(4th|option 4|number 4)\b", 3),
    (r"\b(last|latest|latter|bottom)\b|\bthe later one\b", -1),
]
_ORDINAL_RES = [(re.compile(p), i) for p, i in _ORDINAL_CHOICE]
_THAT_ONE = re.compile(r"\b(that|this|the) one\b|\bthat (time|slot|day)\b")
_ANY_CHOICE = re.compile(
    r"\b(either|any( of them| of those| one)?|whichever|doesnt matter|dont care|you pick|"
    r"you choose|up to you)\b"
)


def parse_ordinal_choice(text: str, count: int) -> int | None:
    """ "the second one" -> 1; "the last one" -> count - 1; "that one" -> 0 when only one was offered;
    None when no choice is named (or it is out of range)."""
    s = numerize(text)
    for rx, index in _ORDINAL_RES:
        if rx.search(s):
            if index == 1 and "middle" in s and count != 3:
                continue
            idx = count - 1 if index == -1 else index
            return idx if 0 <= idx < count else None
    if count == 1 and _THAT_ONE.search(s):
        return 0
    return None


def any_choice(text: str) -> bool:
    return bool(_ANY_CHOICE.search(normalize(text)))


# "anytime" / "whenever" and nothing else, said to times offered on the day the caller gave: any of those times,
# not the soonest day the shop has ("I'm off on Friday" ... "anytime" is Friday).
_ANY_TIME_ONLY = re.compile(
    r"^((uh|um|oh|oh|well|yeah|yes|sure|honestly) )*(any ?time|whenever|any of those times|all of those work)"
    r"( (that day|then|really|at all))?( (is|s|works|would work|would be) (fine|good|ok|okay|great|for me))?"
    r"( (really|for me|thanks|thank you))?$"
)


def any_time_of_the_offers(text: str) -> bool:
    return bool(_ANY_TIME_ONLY.search(normalize(text)))


# An hour said beside a window ("after work, like 5?", "afternoon, say three thirty"): the time the caller has in mind.
_NAMED_HOUR = re.compile(r"\b(like|around|about|say|maybe|ideally|preferably|at)\s+(\d{1,2})(?:[: ](\d{2}))?\b")


def named_hour(text: str) -> tuple[int, int] | None:
    """(hour on a 12-hour clock, minute) of the one time named that way in the line, else None."""
    found = {
        (int(h) % 12, int(m or 0))
        for _, h, m in _NAMED_HOUR.findall(numerize(text))
        if 1 <= int(h) <= 12 and int(m or 0) < 60
    }
    return found.pop() if len(found) == 1 else None


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") else word


def named_among(text: str, options: list[tuple[str, str]]) -> list[str]:
    """The codes of the options (code, name) the caller names by a word of its name no other option shares: "the
    inspection" of a brake inspection and a brake pad replacement, "the state one". Empty when none is."""
    said = {_stem(w) for w in normalize(text).split() if len(w) >= 4}
    words = {code: {_stem(w) for w in normalize(name).split() if len(w) >= 4} for code, name in options}
    return [
        code
        for code, own in words.items()
        if own & said and not any(own & said & other for c, other in words.items() if c != code)
    ]
