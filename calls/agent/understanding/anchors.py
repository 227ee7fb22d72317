"""A visit the caller already has, named as the place of what they ask: "an oil change on the Silverado, same day as
the inspection on my Outback", "add a tire rotation to my appointment on Thursday", "while my car is in on
Wednesday, could you also do the wipers".

The words that describe that visit say nothing about the new request: "the inspection on my Outback" is no
inspection to book and no Outback to book it for, "Thursday" is no day asked for. This module finds them, so the
understanding layer reads the rest of the line on its own and the dialogue picks the visit from the description
(calls.agent.flows.visit_additions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calls.agent.understanding.text import normalize


@dataclass(frozen=True)
class VisitAnchor:
    # "day" / "time": the new visit on that visit's day (at its time); "visit": onto that visit itself ("add ...
    # to my appointment", "while it's in"), or beside it when the request is for another car
    same: str
    described: str  # the words describing the visit they have, normalized ("the inspection on my outback")
    kept: str  # the line without the phrase, as said
    # a car alone describes a visit ("while my Outback is in"); after "put ... on" it is the car asked for ("put the
    # tire rotation on the Jeep")
    car_enough: bool = True


_OWNER = r"(?:my|the|our|his|her|that|this)"
_SAME_AS = re.compile(
    rf"\b(?:(?:on|for|at|around) )?(?:the )?same (?P<same>day|date|time|morning|afternoon)(?: and time)? as "
    rf"(?P<desc>{_OWNER}\b[^,.;!?]*)",
    re.IGNORECASE,
)
# "the day of my Outback's inspection", "the same day my Outback comes in"
_DAY_OF = re.compile(
    rf"\b(?:on )?the (?:same )?day (?:of |that |when )?(?P<desc>{_OWNER}\b[^,.;!?]*)",
    re.IGNORECASE,
)
# "while my car is in on Wednesday", "when the Outback comes in for its inspection"
_WHILE_IN = re.compile(
    rf"\b(?:while|when) (?P<desc>{_OWNER} [^,.;!?]*?\b(?:is|s|comes|goes|will be|gets)\b (?:in|there)\b[^,.;!?]*)",
    re.IGNORECASE,
)
# "add a tire rotation to my appointment on Thursday", "put an oil change on my Friday visit"
_ADD_TO = re.compile(
    rf"\b(?:add|adding|put|tack|throw|include|squeeze|fit)\b[^,.;!?]{{0,40}}?\b(?:to|on|onto|into|with|in with) "
    rf"(?P<desc>{_OWNER}\b[^,.;!?]*)",
    re.IGNORECASE,
)
# Where the description ends: the next part of the request ("..., can you do that?", "... please").
_DESC_END = re.compile(
    r"\s+\b(?:please|if|thanks|thank|can|could|would|will|is that|does that|do you|so|too|also|as well|and (?:can|"
    r"could|would|also|i|please|then)|while|when|for (?:me|us|a|an|some))\b",
    re.IGNORECASE,
)
# "same time as the last one", "the same day as my old appointment": the one being moved, not another visit
_ITSELF = re.compile(r"^(?:the|my|that) (?:original|old|current|last|usual|previous|other|same)\b|^(?:that|this)$")
# Words that make a description one of a visit: a visit, a day, a time. (Services and cars are checked by the
# understanding layer, which knows the shop's words.)
VISIT_WORDS = re.compile(
    r"\b(?:appointment|appt|booking|visit|reservation|(?:mon|tues|wednes|thurs|fri|satur|sun)day|today|tomorrow|"
    r"morning|afternoon|\d+(?:st|nd|rd|th)|\d{1,2}(?::\d\d)?(?: ?[ap] ?m)?|noon)\b"
)


def visit_anchor(text: str) -> VisitAnchor | None:
    """The visit the caller already has that the line names as where (or when) the request goes, or None."""
    text = text or ""
    for rx, same in ((_SAME_AS, ""), (_ADD_TO, "visit"), (_WHILE_IN, "visit"), (_DAY_OF, "day")):
        m = rx.search(text)
        if m is None:
            continue
        desc_start = m.start("desc")
        end = m.end("desc")
        stop = _DESC_END.search(text, desc_start, end)
        if stop is not None:
            end = stop.start()
        described = normalize(re.sub(r"['’]s\b", "", text[desc_start:end]))  # "my Jeep's inspection"
        if not described or _ITSELF.search(described):
            continue
        # (the phrase taken out runs from its lead words to the end of the description; for "add X to my ...",
        # only the part naming the visit: X is what is asked for)
        start = desc_start if rx is _ADD_TO else m.start()
        kept = " ".join(f"{text[:start]} {text[end:]}".split())
        kind = same or ("time" if m.group("same").lower() == "time" else "day")
        return VisitAnchor(same=kind, described=described, kept=kept, car_enough=rx is not _ADD_TO)
    return None
