"""`manage.py simulate_call`: text conversations through the real CallSession, rule brain and tools,
stored like real calls. One script per thing callers do; the brain's wording is tested in test_policy."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bartsvoice.tests.factories import EVERY_DAY, build_shop
from calls.models import Call
from crm.models import Customer, Vehicle
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)

MARIA = "+13125550142"
LUIS = "+13125550177"
STRANGER = "+13125550123"


SERVICES = [
    dict(code="oil-change", name="Oil change", duration_minutes=30, price="49.99", keywords="oil, lube"),
    dict(code="brakes", name="Brake service", duration_minutes=90, keywords="brakes, brake"),
]


@pytest.fixture
def shop():
    # Open every day (scripts say "tomorrow" whatever today is), one bay.
    oil = build_shop(hours=EVERY_DAY, bays=1, services=SERVICES).services["oil-change"]
    maria = Customer.objects.create(first_name="Maria", last_name="Garcia", phone=MARIA, postal_code="60601")
    Vehicle.objects.create(customer=maria, year=2018, make="Honda", model="Civic")
    luis = Customer.objects.create(first_name="Luis", last_name="Ortiz", phone=LUIS, postal_code="60602")
    return {"maria": maria, "luis": luis, "oil": oil}


def _tomorrow_at(hour: int, minute: int = 0) -> dt.datetime:
    local = timezone.localtime() + dt.timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _appointment(customer, start, service) -> Appointment:
    appt = Appointment.objects.create(customer=customer, start=start, end=start + dt.timedelta(minutes=30))
    appt.service_types.set([service])
    return appt


def simulate(tmp_path, caller: str, lines: list[str]) -> tuple[str, Call, bool]:
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()
    try:
        call_command("simulate_call", caller=caller, script=str(script), stdout=out, stderr=err)
        ended_normally = True
    except CommandError:
        ended_normally = False
    call = Call.objects.filter(transport=Call.Transport.SIMULATOR).latest("started_at")
    return out.getvalue(), call, ended_normally


def test_known_caller_books(tmp_path, shop):
    out, call, ok = simulate(
        tmp_path, "(312) 555-0142", ["I need an oil change", "tomorrow at nine thirty", "yes", "no thanks"]
    )
    assert ok and out.startswith("AGENT: Hi Maria")
    assert "CALLER: tomorrow at nine thirty" in out
    appt = Appointment.objects.get(customer=shop["maria"])
    assert appt.start == _tomorrow_at(9, 30) and appt.source == "phone"
    assert call.outcome == "booked" and call.customer == shop["maria"]
    assert call.turns.count() == 9  # greeting + 4 caller turns + 4 replies
    assert call.tool_calls.filter(name="book_appointment", ok=True).exists()


def test_new_caller_is_registered_then_books(tmp_path, shop):
    out, call, ok = simulate(
        tmp_path,
        STRANGER,
        [
            "I'd like to book a brake service",
            "John Smith",
            "a twenty fifteen toyota camry",
            "tomorrow at ten",
            "yes",
            "bye",
        ],
    )
    assert ok, out
    john = Customer.objects.get(phone=STRANGER)
    assert john.full_name == "John Smith"
    vehicle = john.vehicles.get()
    assert (vehicle.year, vehicle.make, vehicle.model) == (2015, "Toyota", "Camry")
    assert Appointment.objects.get(customer=john).start == _tomorrow_at(10)
    assert call.outcome == "booked" and call.customer == john


def test_correction_then_booking(tmp_path, shop):
    out, _call, ok = simulate(tmp_path, MARIA, ["oil change tomorrow at nine", "no, at eleven", "yes", "bye"])
    assert ok, out
    assert Appointment.objects.get(customer=shop["maria"]).start == _tomorrow_at(11)


def test_unavailable_time_gets_alternatives(tmp_path, shop):
    _appointment(shop["luis"], _tomorrow_at(9, 30), shop["oil"])  # the only bay is taken
    out, _call, ok = simulate(tmp_path, MARIA, ["an oil change tomorrow at 9:30", "the first one", "yes", "bye"])
    assert ok, out
    assert "isn't available" in out
    booked = Appointment.objects.get(customer=shop["maria"])
    assert booked.start != _tomorrow_at(9, 30) and booked.start.date() == _tomorrow_at(9).date()


def test_cancel(tmp_path, shop):
    appt = _appointment(shop["maria"], _tomorrow_at(8), shop["oil"])
    out, call, ok = simulate(tmp_path, MARIA, ["I need to cancel my appointment", "yes", "no thanks"])
    assert ok, out
    appt.refresh_from_db()
    assert appt.status == "cancelled"
    assert call.outcome == "cancelled" and call.appointment == appt


def test_reschedule(tmp_path, shop):
    appt = _appointment(shop["maria"], _tomorrow_at(8), shop["oil"])
    out, call, ok = simulate(tmp_path, MARIA, ["can I move my appointment", "tomorrow at two", "yes", "bye"])
    assert ok, out
    appt.refresh_from_db()
    assert appt.start == _tomorrow_at(14) and call.outcome == "rescheduled"


def test_check_hours_and_service_questions(tmp_path, shop):
    _appointment(shop["maria"], _tomorrow_at(8), shop["oil"])
    out, call, ok = simulate(
        tmp_path, MARIA, ["when is my appointment", "what are your hours", "how much is an oil change", "no", "goodbye"]
    )
    assert ok, out
    assert "You have an oil change on" in out
    assert "7:00 AM to 6:00 PM" in out
    assert "$49.99" in out
    assert call.outcome == "info"


def test_asking_for_a_person_is_a_transfer(tmp_path, shop):
    out, call, ok = simulate(tmp_path, MARIA, ["can I talk to a real person"])
    assert ok, out
    assert call.outcome == "transferred" and call.ended_at is not None


def test_cancelling_somebody_elses_appointment_is_refused(tmp_path, shop):
    theirs = _appointment(shop["luis"], _tomorrow_at(8), shop["oil"])
    out, call, ok = simulate(tmp_path, MARIA, [f"cancel appointment number {theirs.pk}", "no", "bye"])
    assert ok, out
    assert "can't find that appointment on your account" in out
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"
    assert not call.tool_calls.filter(name="cancel_appointment", ok=True).exists()


def test_a_conversation_that_just_stops_is_abandoned(tmp_path, shop):
    _out, call, ok = simulate(tmp_path, MARIA, ["I need an oil change"])
    assert not ok
    assert call.outcome == "abandoned" and call.ended_at is not None


def test_invalid_caller_number_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="--caller"):
        call_command("simulate_call", caller="12", script=str(tmp_path / "missing.txt"))


def test_pressing_0_in_the_simulator_asks_for_an_advisor(tmp_path, shop):
    out, call, ok = simulate(tmp_path, MARIA, ["/dtmf 0"])
    assert ok, out
    assert "transferring you to a service advisor" in out
    assert "call you back" in out  # no advisor number configured: a call-back is requested instead
    assert call.outcome == "transferred" and call.callback_requested
