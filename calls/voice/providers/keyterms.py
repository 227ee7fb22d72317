"""Which words a cloud recogniser should listen hardest for, given what the agent just asked (a `ListenHint`).

Deepgram's key term prompting (Nova-3) takes a list of plain terms, at most 500 tokens in all, and works best with
a few dozen words that matter: the options the caller was just offered come first, then the shop's words of the
kind that was asked for (its services when a service was asked, the makes when a car was), then the caller's own
(their name, their cars), then the rest of the shop's vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time

from calls.voice.listen_hint import Expect, ListenHint

MAX_KEYTERMS = 50
MAX_KEYTERM_WORDS = 200  # well inside the 500-token limit (a word is one to three tokens)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def spoken_time(at: time) -> str:
    """As a smart-formatted transcript writes it: "9:30 AM", "2 PM"."""
    hour = at.hour % 12 or 12
    suffix = "AM" if at.hour < 12 else "PM"
    return f"{hour}:{at.minute:02d} {suffix}" if at.minute else f"{hour} {suffix}"


def keyterms(
    hint: ListenHint | None,
    *,
    caller: Iterable[str] = (),
    services: Iterable[str] = (),
    makes: Iterable[str] = (),
) -> list[str]:
    """The terms for the caller's next answer, most useful first, deduplicated and cut to Deepgram's limits."""
    offered: list[str] = []
    services, makes = list(services), list(makes)
    first_kind: list[str] = []
    if hint is not None:
        offered += hint.phrases
        offered += [WEEKDAYS[d] for d in hint.weekdays if 0 <= d < 7]
        offered += [spoken_time(t) for t in hint.times]
        if hint.expect == Expect.SERVICE:
            first_kind = services
        elif hint.expect in (Expect.VEHICLE, Expect.CHOICE):
            first_kind = makes
    ordered = [*offered, *first_kind, *caller, *services, *makes]
    out: list[str] = []
    seen: set[str] = set()
    words = 0
    for term in ordered:
        term = " ".join((term or "").split())
        if not term or term.lower() in seen:
            continue
        size = len(term.split())
        if len(out) >= MAX_KEYTERMS or words + size > MAX_KEYTERM_WORDS:
            break
        seen.add(term.lower())
        out.append(term)
        words += size
    return out
