"""Did the call end as the caller wanted? The database after the call against the scenario's `expect`, and the
agent's words against `say` / `never_say`.

Everything not expected is checked too: an appointment nobody asked for, a given appointment that moved or
was cancelled without being expected to, a customer registered by accident, a transfer or a call-back that
should not have happened. Each failure has a code (grouped in the summary: the dialogue work's to-do list)
and a sentence a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from calls.evals.driver import CallRecord
from calls.evals.scenario import PARTS_OF_DAY, BookedExpect, Scenario
from calls.evals.world import World
from calls.models import Call
from crm.models import Customer
from crm.phones import try_normalize_phone
from scheduling.availability import shop_tz
from scheduling.models import Appointment, BusinessHours


@dataclass(frozen=True)
class Failure:
    code: str  # e.g. "not-booked", "wrong-booking:day", "unexpected-question:zip"
    message: str

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def _when(appt: Appointment) -> str:
    local = appt.start.astimezone(shop_tz())
    return f"{local:%a %Y-%m-%d %H:%M}"


def _codes(appt: Appointment) -> list[str]:
    return sorted(st.code for st in appt.service_types.all())


def _car_label(vehicle) -> str:
    if vehicle is None:
        return "no car"
    return " ".join(str(p) for p in (vehicle.year, vehicle.make, vehicle.model) if p) or "a car"


def describe(appt: Appointment) -> str:
    who = appt.customer.full_name
    return f"{'+'.join(_codes(appt))} on {_when(appt)} for {who}'s {_car_label(appt.vehicle)} [{appt.status}]"


def _opening(day) -> time | None:
    opens = BusinessHours.objects.filter(weekday=day.weekday()).order_by("opens").values_list("opens", flat=True)
    return opens[0] if opens else None


def part_ok(part: str, local) -> bool:
    if part == "first_thing":
        return local.time() == _opening(local.date())
    lo, hi = PARTS_OF_DAY[part]
    t = local.time()
    return (lo is None or t >= lo) and (hi is None or t < hi)


class _Checker:
    def __init__(self, sc: Scenario, world: World, record: CallRecord):
        self.sc, self.world, self.record = sc, world, record
        self.failures: list[Failure] = []
        self.key_of = {a.pk: key for key, a in world.appointments.items()}
        caller_number = try_normalize_phone(sc.caller.number) if sc.caller.number else None
        self.caller_number = caller_number

    def fail(self, code: str, message: str) -> None:
        self.failures.append(Failure(code, message))

    def caller_customer(self) -> Customer | None:
        if self.sc.caller.customer:
            return self.world.customers[self.sc.caller.customer]
        if self.caller_number:
            return Customer.objects.filter(phone=self.caller_number).first()
        return None

    # --- bookings -----------------------------------------------------------------------------------------
    def booking_mismatches(self, exp: BookedExpect, appt: Appointment) -> list[tuple[str, str]]:
        out = []
        local = appt.start.astimezone(shop_tz())
        customer = self.caller_customer() if exp.customer == "caller" else self.world.customers[exp.customer]
        if customer is None or appt.customer_id != customer.pk:
            got, wanted = appt.customer.full_name, customer.full_name if customer else "the caller"
            if got == wanted:  # a second record of the same person: registered instead of found
                got = f"a new record of {got} (#{appt.customer_id})"
            out.append(("customer", f"for {got}, not {wanted} (#{customer.pk if customer else '-'})"))
        if exp.services and set(_codes(appt)) != set(exp.services):
            out.append(("service", f"{'+'.join(_codes(appt))} instead of {'+'.join(sorted(exp.services))}"))
        if exp.days and local.date() not in exp.days:
            wanted = " or ".join(f"{d:%a %Y-%m-%d}" for d in exp.days)
            out.append(("day", f"on {local:%a %Y-%m-%d} instead of {wanted}"))
        if exp.times and local.time() not in exp.times:
            wanted = " or ".join(f"{t:%H:%M}" for t in exp.times)
            out.append(("time", f"at {local:%H:%M} instead of {wanted}"))
        if exp.part and not part_ok(exp.part, local):
            out.append(("part", f"at {local:%H:%M}, not {exp.part.replace('_', ' ')}"))
        if exp.car:
            out.extend(self.car_mismatch(exp, appt))
        if exp.transport and appt.transport != exp.transport:
            out.append(("transport", f"transport {appt.transport} instead of {exp.transport}"))
        if appt.status not in Appointment.ACTIVE_STATUSES:
            out.append(("status", f"status {appt.status}"))
        return out

    def car_mismatch(self, exp: BookedExpect, appt: Appointment) -> list[tuple[str, str]]:
        owner = self.sc.caller.customer if exp.customer == "caller" else exp.customer
        wanted = self.world.vehicles.get((owner, exp.car)) if owner else None
        if wanted is not None:
            if appt.vehicle_id != wanted.pk:
                return [("car", f"for the {_car_label(appt.vehicle)} instead of the {_car_label(wanted)}")]
            return []
        label = _car_label(appt.vehicle).lower()
        if not all(word in label for word in exp.car.lower().split()):
            return [("car", f"for {_car_label(appt.vehicle)} instead of a {exp.car}")]
        return []

    def check_bookings(self) -> None:
        new = list(
            Appointment.objects.exclude(pk__in=self.world.before.keys())
            .select_related("customer", "vehicle")
            .prefetch_related("service_types")
            .order_by("pk")
        )
        unmatched = list(new)
        for exp in self.sc.expect.booked:
            wanted = self.expected_text(exp)
            if not unmatched:
                self.fail("not-booked", f"nothing booked; expected {wanted}")
                continue
            scored = sorted(((self.booking_mismatches(exp, a), a) for a in unmatched), key=lambda x: len(x[0]))
            mismatches, best = scored[0]
            unmatched.remove(best)
            if mismatches:
                fields = ",".join(sorted({f for f, _ in mismatches}))
                self.fail(
                    f"wrong-booking:{fields}",
                    f"booked {describe(best)}: " + "; ".join(m for _, m in mismatches) + f" (expected {wanted})",
                )
        for appt in unmatched:
            self.fail("unexpected-booking", f"booked {describe(appt)}, which the caller did not ask for")

    def expected_text(self, exp: BookedExpect) -> str:
        parts = ["+".join(exp.services) or "a visit"]
        if exp.days:
            parts.append("on " + " or ".join(f"{d:%a %Y-%m-%d}" for d in exp.days))
        if exp.times:
            parts.append("at " + " or ".join(f"{t:%H:%M}" for t in exp.times))
        if exp.part:
            parts.append(exp.part.replace("_", " "))
        if exp.car:
            parts.append(f"for the {exp.car}")
        return " ".join(parts)

    # --- given appointments ----------------------------------------------------------------------------------
    def check_given(self) -> None:
        moved = {m.appointment: m for m in self.sc.expect.moved}
        cancelled = set(self.sc.expect.cancelled)
        rows = {
            a.pk: a
            for a in Appointment.objects.filter(pk__in=self.world.before.keys())
            .select_related("customer", "vehicle")
            .prefetch_related("service_types")
        }
        for pk, (start, status) in self.world.before.items():
            row = rows.get(pk)
            key = self.key_of.get(pk)
            name = f"`{key}`" if key else "a fleet booking"
            if row is None:
                self.fail("deleted", f"{name} was deleted")
                continue
            if key in moved:
                self.check_moved(key, row, start, moved[key])
            elif key in cancelled:
                if row.status != Appointment.Status.CANCELLED:
                    self.fail("not-cancelled", f"`{key}` is still {row.status} ({describe(row)})")
                elif row.start != start:
                    self.fail("changed-wrongly", f"`{key}` was cancelled and also moved to {_when(row)}")
            elif key in self.sc.expect.confirmed:
                if row.status != Appointment.Status.CONFIRMED:
                    self.fail("not-confirmed", f"`{key}` is still {row.status} ({describe(row)})")
                elif row.start != start:
                    self.fail("changed-wrongly", f"`{key}` was confirmed but also moved to {_when(row)}")
            elif (row.start, row.status) != (start, status):
                change = []
                if row.start != start:
                    change.append(f"moved from {start.astimezone(shop_tz()):%a %Y-%m-%d %H:%M} to {_when(row)}")
                if row.status != status:
                    change.append(f"{status} -> {row.status}")
                self.fail("changed-wrongly", f"{name} changed, nobody asked for that: {', '.join(change)}")

    def check_moved(self, key: str, row: Appointment, before, exp) -> None:
        local = row.start.astimezone(shop_tz())
        if row.status not in Appointment.ACTIVE_STATUSES:
            self.fail("not-moved", f"`{key}` was {row.status} instead of moved")
            return
        if row.start == before:
            self.fail("not-moved", f"`{key}` is still on {_when(row)}")
            return
        problems = []
        if exp.days and local.date() not in exp.days:
            problems.append(
                ("day", f"{local:%a %Y-%m-%d} instead of " + " or ".join(f"{d:%a %Y-%m-%d}" for d in exp.days))
            )
        if exp.times and local.time() not in exp.times:
            problems.append(("time", f"{local:%H:%M} instead of " + " or ".join(f"{t:%H:%M}" for t in exp.times)))
        if exp.part and not part_ok(exp.part, local):
            problems.append(("part", f"{local:%H:%M} is not {exp.part.replace('_', ' ')}"))
        if problems:
            fields = ",".join(sorted({f for f, _ in problems}))
            self.fail(f"wrong-move:{fields}", f"`{key}` moved to {_when(row)}: " + "; ".join(m for _, m in problems))

    # --- people, hand-overs, outcome ------------------------------------------------------------------------
    def check_customers(self) -> None:
        known = {c.pk for c in self.world.customers.values()}
        new = [
            c for c in Customer.objects.exclude(pk__in=known).prefetch_related("vehicles") if c.first_name != "Fleet"
        ]
        reg = self.sc.expect.registered
        booking_for_new_caller = (
            any(b.customer == "caller" for b in self.sc.expect.booked) and not self.sc.caller.customer
        )
        if reg is None:
            if new and not booking_for_new_caller:
                self.fail(
                    "unexpected-customer",
                    "registered "
                    + ", ".join(c.full_name for c in new)
                    + " although the scenario expects no new customer",
                )
            return
        mine = [c for c in new if self.caller_number and c.phone == self.caller_number]
        if not mine:
            self.fail("not-registered", f"no customer was registered for {self.sc.caller.number or 'the caller'}")
            return
        customer = mine[0]
        if reg.name and customer.full_name.lower() != reg.name.lower():
            self.fail("wrong-registration:name", f"registered as “{customer.full_name}” instead of “{reg.name}”")
        cars = list(customer.vehicles.all())
        if reg.car and not any(all(w in _car_label(v).lower() for w in reg.car.lower().split()) for v in cars):
            got = ", ".join(_car_label(v) for v in cars) or "no car"
            self.fail("wrong-registration:car", f"car on file is {got} instead of a {reg.car}")
        if reg.vin and not any(v.vin == reg.vin.upper() for v in cars):
            got = ", ".join(v.vin or "no VIN" for v in cars) or "no car"
            self.fail("wrong-registration:vin", f"VIN on file is {got} instead of {reg.vin}")

    def check_handover(self) -> None:
        exp, rec, call = self.sc.expect, self.record, self.record.call
        transferred = bool(rec.transferred_to)
        if exp.transferred is True and not transferred:
            self.fail("not-transferred", "the caller was never put through to an advisor")
        elif not exp.transferred and transferred:
            reason = next((s for s in call.summary.split("; ") if s.startswith("transferred")), "")
            self.fail("unexpected-transfer", f"handed to an advisor ({reason or 'no reason given'})")
        if exp.callback is True and not call.callback_requested:
            self.fail("no-callback", "no call-back was flagged for an advisor")
        elif not exp.callback and call.callback_requested:
            self.fail("unexpected-callback", "flagged the caller for a call-back")
        if exp.hung_up is not None and rec.hung_up != exp.hung_up:
            self.fail("hang-up", "the agent hung up" if rec.hung_up else "the agent never ended the call")
        if exp.outcome and call.outcome != exp.outcome:
            self.fail("outcome", f"call outcome {call.outcome or '(none)'} instead of {exp.outcome}")
        if call.status == Call.Status.FAILED:
            self.fail("session-failed", "the call ended as failed (an error in the session, brain or tools)")

    def check_phrases(self) -> None:
        said = self.record.agent_text
        for phrase in self.sc.say:
            if not phrase.found_in(said):
                self.fail("missing-phrase", f"never said “{phrase.text}”")
        for phrase in self.sc.never_say:
            if phrase.found_in(said):
                self.fail("forbidden-phrase", f"said “{phrase.text}”")


def check(sc: Scenario, world: World, record: CallRecord) -> list[Failure]:
    checker = _Checker(sc, world, record)
    if record.stuck is not None:
        checker.fail(record.stuck.code, record.stuck.message)
    checker.check_bookings()
    checker.check_given()
    checker.check_customers()
    checker.check_handover()
    checker.check_phrases()
    return checker.failures
