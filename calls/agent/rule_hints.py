"""What the rule policy's last question expects, as a `ListenHint` for the recogniser.

Kept apart from the dialogue rules: it only reads the state (`RuleState.expect` and what was offered), so the
flows can change without touching how the recogniser is told what to listen for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calls.voice.listen_hint import Expect, ListenHint

# RuleState.expect -> the kind of answer. Absent (request, anything_else, ended, transferred): anything goes.
_EXPECTS = {
    "confirm": Expect.CONFIRM,
    "offer_book": Expect.CONFIRM,
    "reminder_confirm": Expect.CONFIRM,
    "slot_choice": Expect.CHOICE,
    "appointment_choice": Expect.CHOICE,
    "vehicle_choice": Expect.CHOICE,
    "when": Expect.WHEN,
    "reminder_change": Expect.WHEN,  # "move it to Friday" (or "cancel it", which the general part still hears)
    "name": Expect.NAME,
    "last_name": Expect.NAME,
    "postal_code": Expect.POSTAL_CODE,
    "vehicle": Expect.VEHICLE,
    "service": Expect.SERVICE,
}


def listening_hint(state: Any) -> ListenHint | None:
    """The hint for the question `state` (a RuleState) has just asked; None when the answer is open."""
    expect = getattr(state, "expect", None)
    key = str(getattr(expect, "value", expect) or "").lower()  # a plain string today, an Enum tomorrow
    kind = _EXPECTS.get(key)
    if kind is None:
        return None
    task = getattr(state, "task", None)
    if key == "slot_choice" and task is not None:
        return _at_times(kind, task.offers or [])
    if key == "appointment_choice" and task is not None:
        return _at_times(kind, task.appointments or [])
    if key == "vehicle_choice":
        vehicles = (getattr(state, "customer", None) or {}).get("vehicles", [])
        return ListenHint(kind, phrases=tuple(_vehicle_phrases(vehicles)))
    return ListenHint(kind)


def _at_times(kind: Expect, options: list[dict]) -> ListenHint:
    starts = []
    for option in options:
        try:
            starts.append(datetime.fromisoformat(option["start"]))
        except (KeyError, TypeError, ValueError):
            continue
    return ListenHint(
        kind,
        times=tuple(dict.fromkeys(s.time() for s in starts)),  # wall-clock time in the shop
        weekdays=tuple(dict.fromkeys(s.weekday() for s in starts)),
    )


def _vehicle_phrases(vehicles: list[dict]) -> list[str]:
    phrases: list[str] = []
    for vehicle in vehicles:
        make, model = vehicle.get("make") or "", vehicle.get("model") or ""
        phrases += [p for p in (f"{make} {model}".strip(), model, make) if p]
    return list(dict.fromkeys(phrases))
