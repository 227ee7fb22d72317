"""What the rule policy's last question expects, as a `ListenHint` for the recogniser.

Kept apart from the dialogue rules: it only reads the state (`RuleState.expect` and what was offered), so the
flows can change without touching how the recogniser is told what to listen for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calls.agent.flows.state import Expect as Asked
from calls.voice.listen_hint import Expect, ListenHint

# What the last question asked for -> the kind of answer. Absent (ended, transferred): anything goes.
_EXPECTS = {
    Asked.REQUEST: Expect.REQUEST,
    Asked.ANYTHING_ELSE: Expect.ANYTHING_ELSE,
    Asked.CONFIRM: Expect.CONFIRM,
    Asked.OFFER_BOOK: Expect.CONFIRM,
    Asked.REMINDER_CONFIRM: Expect.CONFIRM,
    Asked.REMINDER_EDIT: Expect.CONFIRM,
    Asked.REMINDER_SECOND_VISIT: Expect.CONFIRM,
    Asked.REMINDER_SECOND_CAR: Expect.CHOICE,
    Asked.VIN_CONFIRM: Expect.CONFIRM,
    Asked.ADD_CAR: Expect.CONFIRM,
    Asked.SLOT_CHOICE: Expect.CHOICE,
    Asked.APPOINTMENT_CHOICE: Expect.CHOICE,
    Asked.VEHICLE_CHOICE: Expect.CHOICE,
    Asked.WHEN: Expect.WHEN,
    Asked.REMINDER_CHANGE: Expect.WHEN,  # "move it to Friday" (or "cancel it", which the general part still hears)
    Asked.NAME: Expect.NAME,
    Asked.LAST_NAME: Expect.NAME,
    Asked.POSTAL_CODE: Expect.POSTAL_CODE,
    Asked.VEHICLE: Expect.VEHICLE,
    Asked.VEHICLE_AFTER_VIN: Expect.VEHICLE,
    Asked.NEW_CAR: Expect.VEHICLE,
    Asked.RECALL_VIN: Expect.VEHICLE,  # the VIN of a car with a recall notice (or "put me through")
    Asked.SERVICE: Expect.SERVICE,
}


def listening_hint(state: Any) -> ListenHint | None:
    """The hint for the question `state` (a RuleState) has just asked; None when the answer is open."""
    key = state.expect
    if key == Asked.EXTRA_FACT:  # proving who they are: a car's make, or the day of their appointment
        kind = Expect.WHEN if state.asked_day else Expect.VEHICLE
    else:
        kind = _EXPECTS.get(key)
    if kind is None:
        return None
    task = getattr(state, "task", None)
    if key == Asked.SLOT_CHOICE and task is not None:
        return _at_times(kind, task.offers or [])
    if key == Asked.APPOINTMENT_CHOICE and task is not None:
        return _at_times(kind, task.appointments or [])
    if key in (Asked.VEHICLE_CHOICE, Asked.REMINDER_SECOND_CAR):
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
