"""An appointment moved after its reminder (issue 9): the ledger no longer says "confirmed" for a day that no longer
holds, and the new day gets a reminder of its own, exactly once, whoever moved it (scheduling.services)."""

from datetime import timedelta

import pytest

from scheduling import reminders, services
from scheduling.models import Appointment, ReminderAttempt
from scheduling.tests.conftest import local
from scheduling.tests.test_reminders import MONDAY, NOW, _rules, _together, appointment  # noqa: F401

Status = ReminderAttempt.Status
TUESDAY, WEDNESDAY, THURSDAY = (MONDAY + timedelta(days=n) for n in (1, 2, 3))


def called(reminder, outcome, *, at=NOW, sid="CA1"):
    """The reminder's call was placed at `at` and ended with `outcome`."""
    claimed = reminders.claim(reminder.pk, now=at)
    reminders.mark_placed(claimed, call_sid=sid, now=at)
    assert reminders.settle(reminder.pk, call_sid=sid, outcome=outcome, result=f"{outcome} on the call.", now=at)


def day(d):
    return {"start": local(d, 0), "end": local(d + timedelta(days=1), 0)}


@pytest.fixture
def tuesday(shop, customer):
    """Dana's appointment Tuesday 10:00, its reminder made by Monday 10:00's sweep."""
    appt = appointment(customer, local(TUESDAY, 10))
    reminders.create_due_reminders(now=NOW)
    return appt


@pytest.mark.django_db
def test_a_move_after_a_confirmed_reminder_reads_moved_and_the_new_day_is_reminded_once(tuesday):
    old = ReminderAttempt.objects.get(appointment=tuesday)
    called(old, "confirmed")
    services.reschedule_appointment(appointment=tuesday, start=local(THURSDAY, 10), now=NOW + timedelta(hours=1))

    old.refresh_from_db()
    assert (old.status, old.outcome) == (Status.DONE, "rescheduled")
    assert old.result == "Moved after the reminder call (confirmed), to Thursday, March 5 at 10:00 AM."
    assert old.appointment_start == local(TUESDAY, 10)  # history: about the day it was about

    # The new day's reminder, a day before it: made by the first sweep that finds it due, by no other.
    assert reminders.create_due_reminders(now=NOW + timedelta(hours=1)) == 0  # Thursday is not due yet
    due_at = local(WEDNESDAY, 10)
    assert reminders.create_due_reminders(now=due_at) == 1
    assert reminders.create_due_reminders(now=due_at + timedelta(minutes=5)) == 0
    new = ReminderAttempt.objects.exclude(pk=old.pk).get(appointment=tuesday)
    assert (new.status, new.appointment_start, new.next_attempt_at) == (Status.PENDING, tuesday.start, due_at)
    assert reminders.take_due(now=due_at) == [new.pk]

    # The dashboard: Tuesday's reminder was moved; Thursday's is still to call (then its own result).
    assert reminders.results_summary(**day(TUESDAY))["rescheduled"] == 1
    thursday = reminders.results_summary(**day(THURSDAY))
    assert thursday["pending"] == 1 and thursday["confirmed"] == 0
    called(new, "confirmed", at=due_at, sid="CA2")
    assert reminders.results_summary(**day(THURSDAY))["confirmed"] == 1
    assert reminders.results_summary(**day(TUESDAY))["rescheduled"] == 1  # unchanged by the second call


@pytest.mark.django_db
def test_an_advisor_moving_it_in_the_admin_does_the_same(tuesday):
    old = ReminderAttempt.objects.get(appointment=tuesday)
    called(old, "voicemail")
    start = local(WEDNESDAY, 14)
    services.update_appointment(appointment=tuesday, start=start, now=NOW + timedelta(hours=2))
    old.refresh_from_db()
    assert old.outcome == "rescheduled"
    assert old.result == "Moved after the reminder call (voicemail), to Wednesday, March 4 at 2:00 PM."
    assert reminders.create_due_reminders(now=local(TUESDAY, 14)) == 1
    assert ReminderAttempt.objects.filter(appointment=tuesday, appointment_start=start, status=Status.PENDING).exists()


@pytest.mark.django_db
def test_moved_on_the_reminder_call_itself_the_new_time_gets_its_own_reminder_a_day_later(tuesday):
    """The customer moves it on the reminder call: the call settles "moved" (its own result), then the new time is
    reminded -- but not within a day of that call, and not at all when no calling hours are left by then."""
    old = ReminderAttempt.objects.get(appointment=tuesday)
    claimed = reminders.claim(old.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1", now=NOW)
    services.reschedule_appointment(appointment=tuesday, start=local(TUESDAY, 15), now=NOW + timedelta(minutes=2))
    assert ReminderAttempt.objects.get(pk=old.pk).status == Status.DIALING  # the call is still on: left to it
    reminders.settle(old.pk, call_sid="CA1", outcome="rescheduled", result="Moved by the customer.", now=NOW)
    old.refresh_from_db()
    assert (old.outcome, old.result) == ("rescheduled", "Moved by the customer.")

    assert reminders.create_due_reminders(now=NOW + timedelta(minutes=5)) == 0  # not due: more than a day ahead
    due_at = local(MONDAY, 15)  # a day before the new time, but hours after the call
    assert reminders.create_due_reminders(now=due_at) == 1
    new = ReminderAttempt.objects.exclude(pk=old.pk).get(appointment=tuesday)
    assert new.status == Status.PENDING and new.next_attempt_at == local(TUESDAY, 10)  # a day after the call
    assert reminders.take_due(now=due_at) == []

    # Moved again, to before a day has passed since the call: nobody is asked twice in a day.
    services.reschedule_appointment(appointment=tuesday, start=local(TUESDAY, 8), now=due_at)
    new.refresh_from_db()
    assert new.status == Status.SKIPPED and new.appointment_start == local(TUESDAY, 8)
    assert new.result == (
        "Not called: the appointment was moved; a reminder call about it was made less than 24 hours before its "
        "new time."
    )


@pytest.mark.django_db
def test_moved_while_its_last_attempt_rang_unanswered_the_new_day_is_reminded(tuesday):
    old = ReminderAttempt.objects.get(appointment=tuesday)
    claimed = reminders.claim(old.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1", now=NOW)
    ReminderAttempt.objects.filter(pk=old.pk).update(attempts=2)  # its last attempt
    services.reschedule_appointment(appointment=tuesday, start=local(THURSDAY, 10), now=NOW)
    assert reminders.not_reached(old.pk, call_sid="CA1", reason="no answer", now=NOW) == "final"
    old.refresh_from_db()
    assert (old.status, old.outcome, old.appointment_start) == (Status.FAILED, "no_answer", local(TUESDAY, 10))
    assert reminders.create_due_reminders(now=local(WEDNESDAY, 10)) == 1


@pytest.mark.django_db
def test_a_move_before_the_reminder_rang_re_aims_it(tuesday):
    reminder = ReminderAttempt.objects.get(appointment=tuesday)
    assert reminder.next_attempt_at == NOW
    services.reschedule_appointment(appointment=tuesday, start=local(THURSDAY, 10), now=NOW)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.appointment_start) == (Status.PENDING, local(THURSDAY, 10))
    assert reminder.next_attempt_at == local(WEDNESDAY, 10)
    assert reminders.take_due(now=NOW) == []
    assert reminders.results_summary(**day(THURSDAY))["pending"] == 1
    assert ReminderAttempt.objects.filter(appointment=tuesday).count() == 1


@pytest.mark.django_db
def test_no_answer_then_moved_keeps_its_result_and_the_new_day_is_reminded(tuesday):
    old = ReminderAttempt.objects.get(appointment=tuesday)
    ReminderAttempt.objects.filter(pk=old.pk).update(
        status=Status.FAILED, outcome="no_answer", result="Not reached: no answer (called 2 times).", attempts=2
    )
    services.reschedule_appointment(appointment=tuesday, start=local(THURSDAY, 10), now=NOW)
    old.refresh_from_db()
    assert (old.outcome, old.result) == ("no_answer", "Not reached: no answer (called 2 times).")
    assert reminders.create_due_reminders(now=local(WEDNESDAY, 10)) == 1


@pytest.mark.django_db
def test_cancelled_after_a_move_rewrites_the_current_reminder_not_the_moved_one(tuesday):
    old = ReminderAttempt.objects.get(appointment=tuesday)
    called(old, "confirmed")
    services.reschedule_appointment(appointment=tuesday, start=local(THURSDAY, 10), now=NOW)
    reminders.create_due_reminders(now=local(WEDNESDAY, 10))
    new = ReminderAttempt.objects.exclude(pk=old.pk).get(appointment=tuesday)
    called(new, "confirmed", at=local(WEDNESDAY, 10), sid="CA2")
    services.cancel_appointment(appointment=tuesday, reason="sold the car", now=local(WEDNESDAY, 12))
    old.refresh_from_db(), new.refresh_from_db()
    assert old.outcome == "rescheduled" and new.outcome == "cancelled"
    assert new.result == "Cancelled after the reminder call (confirmed): sold the car."


@pytest.mark.django_db
def test_cancelling_through_an_admin_edit_rewrites_the_ledger_too(tuesday):
    reminder = ReminderAttempt.objects.get(appointment=tuesday)
    called(reminder, "confirmed")
    services.update_appointment(appointment=tuesday, status=Appointment.Status.CANCELLED, cancel_reason="no car")
    reminder.refresh_from_db()
    assert reminder.outcome == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_the_new_days_reminder_is_made_once_whoever_makes_it_at_once(shop, customer):
    """Two sweeps and two advisors' "Send reminder now" at the same moment, after the move: one current reminder."""
    appt = appointment(customer, local(TUESDAY, 10))
    reminders.create_due_reminders(now=NOW)
    called(ReminderAttempt.objects.get(appointment=appt), "confirmed")
    services.reschedule_appointment(appointment=appt, start=local(TUESDAY, 16), now=NOW)
    when = local(TUESDAY, 12)

    def make(i):
        if i % 2:
            return reminders.create_due_reminders(now=when)
        return reminders.send_now(appointment=Appointment.objects.get(pk=appt.pk), now=when).pk

    _together(4, make)
    current = ReminderAttempt.objects.filter(appointment=appt, appointment_start=local(TUESDAY, 16))
    assert current.count() == 1 and current.get().status == Status.PENDING
    assert ReminderAttempt.objects.filter(appointment=appt).count() == 2  # and the moved one, as history


# --- a cancel taken back (restore_cancelled_appointment): the reminder is current again ------------------------


@pytest.mark.django_db
def test_a_cancel_taken_back_puts_the_reminder_calls_result_back(tuesday):
    reminder = ReminderAttempt.objects.get(appointment=tuesday)
    called(reminder, "confirmed")
    services.cancel_appointment(appointment=tuesday, reason="caller on the phone", now=NOW + timedelta(hours=1))
    services.restore_cancelled_appointment(appointment=tuesday, now=NOW + timedelta(hours=1))
    reminder.refresh_from_db()
    assert (reminder.status, reminder.outcome, reminder.result) == (Status.DONE, "confirmed", "confirmed on the call.")
    assert reminders.results_summary(**day(TUESDAY))["confirmed"] == 1
    # cancelled again later: it reads cancelled (from confirmed) once more
    services.cancel_appointment(appointment=tuesday, reason="sold the car", now=NOW + timedelta(hours=2))
    reminder.refresh_from_db()
    assert reminder.result == "Cancelled after the reminder call (confirmed): sold the car."


@pytest.mark.django_db
def test_a_reminder_skipped_while_cancelled_is_due_again_after_the_restore(tuesday):
    reminder = ReminderAttempt.objects.get(appointment=tuesday)
    services.cancel_appointment(appointment=tuesday, reason="caller on the phone", now=NOW)
    claimed = reminders.claim(reminder.pk, now=NOW)
    verdict = reminders.recheck(claimed, now=NOW)
    assert verdict.action == "skip"
    reminders.skip(claimed, reason=verdict.reason, now=NOW)
    later = NOW + timedelta(minutes=3)
    services.restore_cancelled_appointment(appointment=tuesday, now=later)
    reminder.refresh_from_db()
    assert (reminder.status, reminder.next_attempt_at) == (Status.PENDING, later)
    assert reminder.result.startswith("Waiting: the cancellation was taken back")
    assert reminders.take_due(now=later) == [reminder.pk]
    assert reminders.claim(reminder.pk, now=later) is not None


# --- a time the customer chose within the lead time needs no reminder call -------------------------------------


@pytest.mark.django_db
def test_booked_by_the_customer_for_tomorrow_morning_is_not_called_back_minutes_later(shop, customer):
    booked = services.book_appointment(
        customer=customer, service_types=["oil-change"], start=local(TUESDAY, 9), chosen_by_customer=True, now=NOW
    )
    assert reminders.create_due_reminders(now=NOW + timedelta(minutes=5)) == 1
    reminder = ReminderAttempt.objects.get(appointment=booked)
    assert (reminder.status, reminder.next_attempt_at) == (Status.SKIPPED, None)
    assert reminder.result == (
        "Not called: the customer chose this time on a call 23 hours before it; no need to remind them."
    )
    assert reminders.take_due(now=NOW + timedelta(minutes=5)) == []
    # booked at 10 PM for the day after next at 9: no calling hours left a lead time after the booking
    evening = services.book_appointment(
        customer=customer,
        service_types=["oil-change"],
        start=local(WEDNESDAY, 9),
        chosen_by_customer=True,
        now=local(MONDAY, 22),
    )
    reminders.create_due_reminders(now=local(TUESDAY, 9))
    assert ReminderAttempt.objects.get(appointment=evening).status == Status.SKIPPED


@pytest.mark.django_db
def test_booked_by_the_shop_or_days_ahead_is_reminded_as_usual(shop, customer):
    by_advisor = services.book_appointment(
        customer=customer, service_types=["oil-change"], start=local(TUESDAY, 9), now=NOW
    )
    days_ahead = services.book_appointment(
        customer=customer,
        service_types=["oil-change"],
        start=local(TUESDAY, 11),
        chosen_by_customer=True,
        now=NOW - timedelta(days=3),
    )
    reminders.create_due_reminders(now=local(MONDAY, 11))
    for appt in (by_advisor, days_ahead):
        assert ReminderAttempt.objects.get(appointment=appt).status == Status.PENDING


@pytest.mark.django_db
def test_moved_by_the_customer_into_the_lead_time_its_pending_reminder_is_skipped(tuesday):
    reminder = ReminderAttempt.objects.get(appointment=tuesday)
    assert reminder.status == Status.PENDING
    moved_at = NOW + timedelta(hours=1)  # to 9:00 tomorrow, 22 hours ahead
    services.reschedule_appointment(appointment=tuesday, start=local(TUESDAY, 9), chosen_by_customer=True, now=moved_at)
    reminder.refresh_from_db()
    assert reminder.status == Status.SKIPPED
    assert "the customer chose this time on a call" in reminder.result
    # the shop moving it again: the customer did not choose that time, the reminder is current again
    services.update_appointment(appointment=tuesday, start=local(TUESDAY, 16), now=moved_at)
    assert Appointment.objects.get(pk=tuesday.pk).time_chosen_at is None
