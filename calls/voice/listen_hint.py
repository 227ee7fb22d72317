"""What the agent's last question expects the caller to answer, for the recogniser to listen for.

A brain returns a `ListenHint` after each reply (`Brain.listening_hint`); the session passes it to the speech
stream (`STTStream.expect`), which may weight its language model toward those answers for the caller's next
utterance. A hint is advice, never a filter: the recogniser must still hear an answer to something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import Enum


class Expect(Enum):
    REQUEST = "request"  # what they are calling about: book, move, cancel or check a visit, a question, a person
    ANYTHING_ELSE = "anything_else"  # "anything else?": done and goodbye, or one more request
    CONFIRM = "confirm"  # a yes/no question ("Shall I book it?")
    CHOICE = "choice"  # one of the options just offered ("9:00 AM, 11:30 AM or 2:00 PM?"), or yes/no, or another time
    WHEN = "when"  # a day and/or a time
    NAME = "name"  # the caller's first and/or last name
    VEHICLE = "vehicle"  # year, make and model, or VIN characters
    POSTAL_CODE = "postal_code"  # a ZIP code, digit by digit
    SERVICE = "service"  # a service or a symptom


@dataclass(frozen=True)
class ListenHint:
    expect: Expect
    # Concrete options the caller was just offered, so the recogniser can favour exactly those.
    times: tuple[time, ...] = ()
    weekdays: tuple[int, ...] = ()  # 0 = Monday, as date.weekday()
    phrases: tuple[str, ...] = ()  # names of offered things in plain words ("Honda Accord", "oil change")
