"""The reminder ledger: which appointments get a call, when it may be placed, and who may place it.

Exactly once is the database's job, not the broker's:
- one current ReminderAttempt per (appointment, kind), created with INSERT ... ON CONFLICT DO NOTHING, so two
  sweeps at once make one row (a reminder superseded by a move is history and no longer counts);
- a call may only be placed by the worker whose `claim` turned the row from pending to dialing: one conditional
  UPDATE that returns 1 for exactly one of any number of concurrent or redelivered tasks;
- every later step (placed, settled, retry) is again an UPDATE conditioned on the state it expects, so a repeated
  Twilio callback or task changes nothing.
No telephony here: calls.telephony.dialer places the call, calls.reminder_calls reports how it went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from bartsvoice import metrics
from crm.phones import try_normalize_phone
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt
from scheduling.wording import slot_label

log = logging.getLogger(__name__)

Status = ReminderAttempt.Status
Outcome = ReminderAttempt.Outcome
KIND = ReminderAttempt.Kind.DAY_BEFORE
# A sweep hands a due reminder to a worker once; if the message is lost (broker restart), a later sweep re-sends it
# after this long. The claim makes the second delivery harmless either way.
REQUEUE_AFTER = timedelta(minutes=10)
RESULT_MAX = ReminderAttempt._meta.get_field("result").max_length


# --- calling hours -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallWindow:
    opens: time
    closes: time

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(shop_tz()).time()
        return self.opens <= local < self.closes

    def next_opening(self, at: datetime) -> datetime:
        """`at` when it is inside calling hours, else the next time they open (a wall time at the shop, so the
        hours stay 9 to 8 across a daylight-saving change)."""
        if self.contains(at):
            return at
        tz = shop_tz()
        local = at.astimezone(tz)
        day = local.date() if local.time() < self.opens else local.date() + timedelta(days=1)
        return datetime.combine(day, self.opens, tzinfo=tz)


def call_window() -> CallWindow:
    """REMINDER_CALL_WINDOW ("09:00-20:00") as times; a clear error for anything else."""
    raw = settings.REMINDER_CALL_WINDOW
    try:
        first, last = (part.strip() for part in raw.split("-"))
        window = CallWindow(time.fromisoformat(first), time.fromisoformat(last))
    except ValueError:
        raise ImproperlyConfigured(f"REMINDER_CALL_WINDOW must look like 09:00-20:00, got {raw!r}") from None
    if window.closes <= window.opens:
        raise ImproperlyConfigured(f"REMINDER_CALL_WINDOW {raw!r} must close after it opens, on the same day.")
    return window


def lead() -> timedelta:
    return timedelta(hours=settings.REMINDER_LEAD_HOURS)


def when_to_ring(
    start: datetime,
    now: datetime,
    *,
    last_called: datetime | None,
    window: CallWindow,
    chosen_at: datetime | None = None,
) -> tuple[datetime | None, str]:
    """(when the reminder about `start` may first ring, "") or (None, why it cannot ring before it starts).

    `last_called`: the previous reminder call about the same appointment (it moved since). Nobody is asked again
    within a lead time of that call: they may have moved it on that very call.
    `chosen_at`: when the customer chose this start on a call (booked it or moved it to it): the same rule, as at a
    service desk. Who booked tomorrow morning an hour ago (or last night) gets no call about it; the booking's
    read-back, and the text when texts are on, were the confirmation."""
    at = window.next_opening(max(start - lead(), now))
    if chosen_at is not None:
        at = window.next_opening(max(at, chosen_at + lead()))
        if at >= start:
            hours = max(1, round((start - chosen_at).total_seconds() / 3600))
            return None, f"the customer chose this time on a call {hours} hours before it; no need to remind them"
    if at >= start:
        return None, "no calling hours left before the appointment"
    if last_called is not None:
        at = window.next_opening(max(at, last_called + lead()))
        if at >= start:
            hours = settings.REMINDER_LEAD_HOURS
            return None, f"a reminder call about it was made less than {hours} hours before its new time"
    return at, ""


def _when_to_ring_about(appointment: Appointment, now: datetime) -> tuple[datetime | None, str]:
    return when_to_ring(
        appointment.start,
        now,
        last_called=last_called(appointment),
        window=call_window(),
        chosen_at=appointment.time_chosen_at,
    )


def _calls_made(appointment) -> QuerySet[ReminderAttempt]:
    """Its reminders whose last attempt was placed (a claim that did not ring has no call SID)."""
    return ReminderAttempt.objects.filter(appointment=appointment, kind=KIND, last_attempt_at__isnull=False).exclude(
        call_sid=""
    )


def last_called(appointment) -> datetime | None:
    """When a reminder call about this appointment was last placed (superseded reminders included)."""
    return _calls_made(appointment).order_by("-last_attempt_at").values_list("last_attempt_at", flat=True).first()


def allowlisted(number: str) -> bool:
    """Whether OUTBOUND_CALL_ALLOWLIST (when set) lets us call `number`."""
    allowlist = settings.OUTBOUND_CALL_ALLOWLIST
    if not allowlist:
        return True
    return (try_normalize_phone(number) or number) in {try_normalize_phone(n) or n for n in allowlist}


def reason_not_to_call(appointment: Appointment, *, now: datetime) -> str:
    """Why this appointment's customer must not be called about it now ("" when nothing stands in the way)."""
    if appointment.status not in Appointment.ACTIVE_STATUSES:
        return f"the appointment is {appointment.get_status_display().lower()}"
    if appointment.start <= now:
        return "the appointment has already started"
    customer = appointment.customer
    return _customer_reason(customer.do_not_call, customer.phone, customer.wrong_number)


WRONG_NUMBER = "the number was reported as not the customer's (check the phone number)"


def _customer_reason(do_not_call: bool, phone: str, wrong_number: str = "") -> str:
    if do_not_call:
        return "the customer is on do-not-call"
    if wrong_number and wrong_number == phone:
        return WRONG_NUMBER  # until staff correct the phone (or clear the flag): crm.Customer.wrong_number
    if not allowlisted(phone):
        return "the number is not on OUTBOUND_CALL_ALLOWLIST"
    return ""


# --- the sweep -------------------------------------------------------------------------------------------------


def current(appointment) -> QuerySet[ReminderAttempt]:
    """The reminder that stands for the appointment's time (at most one: a constraint), not the superseded ones."""
    return ReminderAttempt.objects.filter(appointment=appointment, kind=KIND, superseded_at__isnull=True)


def due_appointments(*, now: datetime):
    """Active appointments whose reminder is due by now (starting within the lead time) and that have no current
    one: never reminded, or moved after their reminder settled. `last_called` is the previous reminder call about
    the appointment, if any (the new one waits a lead time after it)."""
    has_reminder = current(OuterRef("pk"))
    previous_call = _calls_made(OuterRef("pk")).order_by("-last_attempt_at").values("last_attempt_at")[:1]
    return (
        Appointment.objects.filter(status__in=Appointment.ACTIVE_STATUSES, start__gt=now, start__lte=now + lead())
        .filter(~Exists(has_reminder))
        .annotate(last_called=Subquery(previous_call))
        .order_by("start", "pk")
    )


def create_due_reminders(*, now: datetime | None = None) -> int:
    """One reminder row per due appointment (pending, or skipped with the reason). Returns how many appointments
    lacked one when this sweep looked (0 when another sweep is creating them right now).

    ON CONFLICT DO NOTHING on the (appointment, kind) constraint makes each row once whatever runs at the same
    time; on PostgreSQL a sweep that finds another one creating (advisory lock) leaves the work to it."""
    now = now or timezone.now()
    with transaction.atomic():
        if not _creation_lock():
            return 0
        window = call_window()
        rows = []
        due = due_appointments(now=now).values_list(
            "pk",
            "start",
            "customer__do_not_call",
            "customer__phone",
            "customer__wrong_number",
            "last_called",
            "time_chosen_at",
        )
        for pk, start, do_not_call, phone, wrong, called, chosen in due.iterator(chunk_size=2000):
            at, reason = when_to_ring(start, now, last_called=called, window=window, chosen_at=chosen)
            reason = _customer_reason(do_not_call, phone, wrong) or reason
            rows.append(
                ReminderAttempt(
                    appointment_id=pk,
                    kind=KIND,
                    status=Status.SKIPPED if reason else Status.PENDING,
                    result=f"Not called: {reason}." if reason else "",
                    appointment_start=start,
                    next_attempt_at=None if reason else at,
                )
            )
        ReminderAttempt.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def _creation_lock() -> bool:
    """PostgreSQL: this transaction's hold on reminder creation, or False when another sweep has it."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_CREATION_LOCK_KEY])
        return bool(cursor.fetchone()[0])


_CREATION_LOCK_KEY = 0x7265_6D69  # "remi": any constant unique to this lock


def take_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Mark up to `limit` due pending reminders as handed to a worker and return their ids; the caller enqueues
    them once this transaction commits. Rows another sweep is handing out right now are skipped (SKIP LOCKED), and
    a reminder handed out within REQUEUE_AFTER is not handed out again."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            ReminderAttempt.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REQUEUE_AFTER))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            ReminderAttempt.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def send_now(*, appointment: Appointment, now: datetime | None = None, anytime: bool = False) -> ReminderAttempt:
    """The advisor's "Send reminder now": the same row and the same claim as the dialer's, due at once (inside
    calling hours, unless `anytime`: the simulator rings nobody). A reminder already placed or that reached the
    customer is not placed again: ValueError says why."""
    now = now or timezone.now()
    reason = reason_not_to_call(appointment, now=now)
    if reason:
        raise ValueError(f"Not calling: {reason}.")
    window = call_window()
    if not anytime and not window.contains(now):
        raise ValueError(f"Not calling now: reminders ring between {window.opens:%H:%M} and {window.closes:%H:%M}.")
    with transaction.atomic():
        reminder, created = ReminderAttempt.objects.select_for_update().get_or_create(
            appointment=appointment,
            kind=KIND,
            superseded_at=None,
            defaults={"status": Status.PENDING, "appointment_start": appointment.start, "next_attempt_at": now},
        )
        if created:
            return reminder
        if reminder.status == Status.DIALING:
            raise ValueError("A reminder call for this appointment is under way.")
        if reminder.status in (Status.DONE, Status.FAILED) and reminder.outcome not in (Outcome.NO_ANSWER, ""):
            raise ValueError(f"This appointment's reminder already reached the customer ({reminder.result}).")
        # Pending, skipped for a reason that has gone, or nobody answered: one more attempt, now.
        ReminderAttempt.objects.filter(pk=reminder.pk).update(
            status=Status.PENDING,
            next_attempt_at=now,
            enqueued_at=None,
            appointment_start=appointment.start,
            attempts=0 if reminder.status == Status.SKIPPED else F("attempts"),
            outcome="",
            updated=now,
        )
        reminder.refresh_from_db()
    return reminder


# --- one attempt ----------------------------------------------------------------------------------------------


def claim(reminder_id: int, *, now: datetime | None = None) -> ReminderAttempt | None:
    """Take the reminder for one dial attempt: pending and due -> dialing, attempts + 1, in one UPDATE that only
    one caller can win. None for everyone else (already claimed, done, skipped, not due, or gone)."""
    now = now or timezone.now()
    won = ReminderAttempt.objects.filter(pk=reminder_id, status=Status.PENDING, next_attempt_at__lte=now).update(
        status=Status.DIALING,
        attempts=F("attempts") + 1,
        claimed_at=now,
        last_attempt_at=now,
        call_sid="",
        updated=now,
    )
    if won != 1:
        return None
    return ReminderAttempt.objects.select_related("appointment__customer", "appointment__vehicle").get(pk=reminder_id)


@dataclass(frozen=True)
class Verdict:
    """What the re-check right before dialling decided: dial, wait (until `at`), or skip (with `reason`)."""

    action: str  # "dial" | "wait" | "skip"
    reason: str = ""
    at: datetime | None = None


def recheck(reminder: ReminderAttempt, *, now: datetime | None = None, anytime: bool = False) -> Verdict:
    """The appointment as it is now, not as the sweep saw it: cancelled, moved, do-not-call or out of hours since?"""
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("customer").get(pk=reminder.appointment_id)
    reason = reason_not_to_call(appointment, now=now)
    if reason:
        return Verdict("skip", reason)
    if reminder.appointment_start and appointment.start != reminder.appointment_start:
        # Moved since the reminder was planned: not this call about the old time; a reminder for the new one.
        at, why = _when_to_ring_about(appointment, now)
        if at is None:
            return Verdict("skip", f"the appointment was moved; {why}")
        return Verdict("wait", "the appointment was moved; reminding about its new time", at)
    window = call_window()
    if not anytime and not window.contains(now):
        at = window.next_opening(now)
        if at >= appointment.start:
            return Verdict("skip", "no calling hours left before the appointment")
        return Verdict("wait", "outside calling hours", at)
    return Verdict("dial")


def release(reminder: ReminderAttempt, *, at: datetime, note: str, now: datetime | None = None) -> bool:
    """Give a claimed attempt back unused (it did not ring): pending again from `at`, the attempt not counted."""
    now = now or timezone.now()
    appointment_start = Appointment.objects.filter(pk=reminder.appointment_id).values_list("start", flat=True).first()
    return bool(
        ReminderAttempt.objects.filter(pk=reminder.pk, status=Status.DIALING, call_sid="").update(
            status=Status.PENDING,
            attempts=F("attempts") - 1,
            next_attempt_at=at,
            enqueued_at=None,
            appointment_start=appointment_start or reminder.appointment_start,
            result=_clip(f"Waiting: {note}."),
            updated=now,
        )
    )


def skip(reminder: ReminderAttempt, *, reason: str, now: datetime | None = None) -> bool:
    """A claimed attempt that must not ring: skipped for good, with the reason."""
    now = now or timezone.now()
    skipped = bool(
        ReminderAttempt.objects.filter(pk=reminder.pk, status=Status.DIALING, call_sid="").update(
            status=Status.SKIPPED,
            attempts=F("attempts") - 1,
            next_attempt_at=None,
            result=_clip(f"Not called: {reason}."),
            updated=now,
        )
    )
    if skipped:
        metrics.reminder_result("skipped")
    return skipped


def mark_placed(reminder: ReminderAttempt, *, call_sid: str, now: datetime | None = None) -> bool:
    """The telephony accepted the call: remember its SID (Twilio's callbacks find the reminder by it)."""
    now = now or timezone.now()
    return bool(
        ReminderAttempt.objects.filter(pk=reminder.pk, status=Status.DIALING)
        .filter(Q(call_sid="") | Q(call_sid=call_sid))
        .update(call_sid=call_sid, result="Calling…", updated=now)
    )


def settle(reminder_id: int, *, call_sid: str, outcome: str, result: str, now: datetime | None = None) -> bool:
    """The call of the current attempt ended with someone (or a machine) on the line: done, with its outcome.

    Later news about the same call may improve the outcome (a status callback that beat the session's own
    report says "hung up", the session then says "confirmed"); news about an older attempt's call changes
    nothing."""
    now = now or timezone.now()
    status = Status.FAILED if outcome == Outcome.FAILED else Status.DONE
    mine = ReminderAttempt.objects.filter(pk=reminder_id, call_sid=call_sid)
    fields = dict(status=status, outcome=outcome, result=_clip(result), next_attempt_at=None, updated=now)
    if mine.filter(status=Status.DIALING).update(**fields):
        metrics.reminder_result(outcome)  # counted once per attempt, when it first settles
        _settled_after_a_move(reminder_id, now=now)
        return True
    return bool(mine.filter(status=status, outcome__in=_WEAKER.get(outcome, ())).update(**fields))


# An outcome may replace these (a hang-up report that arrived before the conversation's own result).
_WEAKER = {
    Outcome.WRONG_PERSON: (Outcome.HUNG_UP,),
    Outcome.CONFIRMED: (Outcome.HUNG_UP,),
    Outcome.RESCHEDULED: (Outcome.HUNG_UP, Outcome.CONFIRMED),
    Outcome.CANCELLED: (Outcome.HUNG_UP, Outcome.CONFIRMED),
    Outcome.TRANSFERRED: (Outcome.HUNG_UP,),
    Outcome.CALLBACK: (Outcome.HUNG_UP,),
    Outcome.VOICEMAIL: (Outcome.HUNG_UP,),
}


def not_reached(reminder_id: int, *, call_sid: str, reason: str, now: datetime | None = None) -> str:
    """Nobody answered the current attempt (no answer, busy, failed to connect): another attempt after a back-off
    inside calling hours while attempts remain and the appointment is still ahead, else the final "no answer".
    Returns "retry", "final" or "" (nothing changed: old news, or already handled)."""
    now = now or timezone.now()
    with transaction.atomic():
        reminder = (
            ReminderAttempt.objects.select_for_update()
            .select_related("appointment")
            .filter(pk=reminder_id, status=Status.DIALING, call_sid=call_sid)
            .first()
        )
        if reminder is None:
            return ""
        at = None
        if reminder.attempts < settings.REMINDER_MAX_ATTEMPTS:
            backoff = timedelta(minutes=settings.REMINDER_RETRY_MINUTES * 2 ** (reminder.attempts - 1))
            at = call_window().next_opening(now + backoff)
            if at >= reminder.appointment.start or not reminder.appointment.is_active:
                at = None
        if at is not None:
            reminder.status, reminder.next_attempt_at, reminder.enqueued_at = Status.PENDING, at, None
            local = timezone.localtime(at, shop_tz())
            reminder.result = _clip(f"Attempt {reminder.attempts}: {reason}; trying again at {local:%a %-I:%M %p}.")
            verdict = "retry"
        else:
            reminder.status, reminder.next_attempt_at = Status.FAILED, None
            reminder.outcome = Outcome.NO_ANSWER
            tries = "once" if reminder.attempts == 1 else f"{reminder.attempts} times"
            reminder.result = _clip(f"Not reached: {reason} (called {tries}).")
            verdict = "final"
            transaction.on_commit(lambda: metrics.reminder_result(Outcome.NO_ANSWER))
        reminder.save(update_fields=["status", "next_attempt_at", "enqueued_at", "outcome", "result", "updated"])
        if verdict == "final":
            _settled_after_a_move(reminder.pk, now=now)
    return verdict


def stale_claims(*, now: datetime | None = None):
    """Claims older than REMINDER_CLAIM_TIMEOUT_MINUTES with no call placed: the worker stopped between claim and
    dial (or while Twilio answered). calls.telephony.dialer finds out whether a call went out."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES)
    return ReminderAttempt.objects.filter(status=Status.DIALING, call_sid="", claimed_at__lt=cutoff).select_related(
        "appointment__customer"
    )


def _clip(text: str) -> str:
    return text if len(text) <= RESULT_MAX else text[: RESULT_MAX - 1] + "…"


def reminders_about(*, start: datetime, end: datetime):
    """Reminders about appointments starting in [start, end): by the start the reminder was about (stored on it and
    indexed), so an appointment the customer moved on the reminder call stays counted where its reminder was."""
    return ReminderAttempt.objects.filter(appointment_start__gte=start, appointment_start__lt=end)


def results_summary(*, start: datetime, end: datetime) -> dict[str, int]:
    """Reminders of appointments starting in [start, end), one result each however many calls it took, for the
    managers' dashboard: confirmed, rescheduled, cancelled, transferred, voicemail, hung_up, wrong_person, no_answer,
    failed, plus "pending" (still to call, calling, or waiting for another attempt) and "skipped"."""
    rows = reminders_about(start=start, end=end).values_list("status", "outcome")
    summary = {value: 0 for value in Outcome.values} | {"pending": 0, "skipped": 0}
    for status, outcome in rows:
        if outcome:
            summary[outcome] += 1
        elif status == Status.SKIPPED:
            summary["skipped"] += 1
        else:
            summary["pending"] += 1
    return summary


def appointment_cancelled(appointment: Appointment, *, now: datetime | None = None) -> int:
    """The appointment was cancelled after its reminder call settled (the customer rang back, staff cancelled it):
    the ledger must not go on saying "confirmed" or "moved". Returns how many reminders were updated. (A reminder
    superseded by an earlier move keeps saying "moved": that was about another time.)"""
    now = now or timezone.now()
    why = f": {appointment.cancel_reason}" if appointment.cancel_reason else ""
    rows = current(appointment).filter(status=Status.DONE).exclude(outcome=Outcome.CANCELLED)
    changed = 0
    for reminder in rows:
        was = reminder.get_outcome_display().lower() if reminder.outcome else "answered"
        changed += ReminderAttempt.objects.filter(pk=reminder.pk, outcome=reminder.outcome).update(
            outcome=Outcome.CANCELLED,
            result=_clip(f"Cancelled after the reminder call ({was}){why}."),
            outcome_before_cancel=reminder.outcome,
            result_before_cancel=reminder.result,
            updated=now,
        )
    return changed


def appointment_restored(appointment: Appointment, *, now: datetime | None = None) -> str:
    """A cancellation taken back (scheduling.services.restore_cancelled_appointment): the reminder is current again,
    as if the cancel had not happened.

    - settled by a call before the cancel rewrote it: the call's own result is back ("confirmed", ...);
    - skipped, never called (the re-check before dialling found it cancelled): planned again, due a lead time
      before the appointment within calling hours, or skipped for the reason that holds now;
    - still to call or being called: nothing to undo (the re-check reads the appointment as it is).
    Returns what happened: "", "settled as before" or "re-planned" / "skipped"."""
    now = now or timezone.now()
    reminder = current(appointment).first()
    if reminder is None or not appointment.is_active:
        return ""
    if reminder.status == Status.DONE and reminder.outcome == Outcome.CANCELLED and reminder.outcome_before_cancel:
        done = ReminderAttempt.objects.filter(pk=reminder.pk, outcome=Outcome.CANCELLED).update(
            outcome=reminder.outcome_before_cancel,
            result=reminder.result_before_cancel,
            outcome_before_cancel="",
            result_before_cancel="",
            updated=now,
        )
        return "settled as before" if done else ""
    if reminder.status == Status.SKIPPED and not reminder.call_sid:
        return _re_plan(reminder, appointment, now=now)
    return ""


def _re_plan(reminder: ReminderAttempt, appointment: Appointment, *, now: datetime) -> str:
    """A reminder skipped without a call, planned again from the appointment as it is now."""
    customer = appointment.customer
    at, reason = _when_to_ring_about(appointment, now)
    reason = _customer_reason(customer.do_not_call, customer.phone, customer.wrong_number) or reason
    skipped = ReminderAttempt.objects.filter(pk=reminder.pk, status=Status.SKIPPED, call_sid="")
    fields = dict(appointment_start=appointment.start, enqueued_at=None, updated=now)
    if at is None or reason:
        done = skipped.update(next_attempt_at=None, result=_clip(f"Not called: {reason}."), **fields)
        return "skipped" if done else ""
    note = "Waiting: the cancellation was taken back; reminding about the appointment."
    done = skipped.update(status=Status.PENDING, next_attempt_at=at, result=note, **fields)
    return "re-planned" if done else ""


def appointment_moved(appointment: Appointment, *, now: datetime | None = None) -> str:
    """The appointment has a new start (the customer on a call, the agent, an advisor): its current reminder follows.

    - still to call: it is about the new time from now on (due a lead time before it, or skipped when no calling
      hours are left before it);
    - settled (done, no answer, skipped): superseded, so the sweep gives the new time a reminder of its own; a call
      that reached the customer no longer says "confirmed" for a day that no longer holds: its result reads
      "moved", as a cancel rewrites it to "cancelled";
    - being called right now: left to the call (it settles, then follows the move) or to the re-check before
      dialling.
    Returns what happened: "", "re-aimed", "skipped" or "superseded"."""
    now = now or timezone.now()
    reminder = current(appointment).first()
    if reminder is None or reminder.appointment_start == appointment.start:
        return ""
    if reminder.status == Status.PENDING:
        return _re_aim(reminder, appointment, now=now)
    if reminder.status == Status.DIALING:
        return ""
    return _supersede(reminder, appointment, now=now)


def _re_aim(reminder: ReminderAttempt, appointment: Appointment, *, now: datetime) -> str:
    at, reason = _when_to_ring_about(appointment, now)
    pending = ReminderAttempt.objects.filter(pk=reminder.pk, status=Status.PENDING)  # a claim may win meanwhile
    fields = dict(appointment_start=appointment.start, enqueued_at=None, updated=now)
    if at is None:
        reason = f"the appointment was moved; {reason}"
        done = pending.update(
            status=Status.SKIPPED, next_attempt_at=None, result=_clip(f"Not called: {reason}."), **fields
        )
        return "skipped" if done else ""
    note = "Waiting: the appointment was moved; reminding about its new time."
    return "re-aimed" if pending.update(next_attempt_at=at, result=note, **fields) else ""


def _supersede(reminder: ReminderAttempt, appointment: Appointment, *, now: datetime) -> str:
    fields = dict(superseded_at=now, updated=now)
    if reminder.status == Status.DONE:
        to = slot_label(timezone.localtime(appointment.start, shop_tz()))
        if reminder.outcome == Outcome.RESCHEDULED:
            fields["result"] = _clip(f"Moved again after the reminder call, to {to}.")
        else:
            was = reminder.get_outcome_display().lower() if reminder.outcome else "answered"
            fields["result"] = _clip(f"Moved after the reminder call ({was}), to {to}.")
        fields["outcome"] = Outcome.RESCHEDULED
    # Conditioned on what was read: a concurrent rewrite (a cancel, a late report of the same call) wins instead.
    same = ReminderAttempt.objects.filter(
        pk=reminder.pk, status=reminder.status, outcome=reminder.outcome, superseded_at__isnull=True
    )
    return "superseded" if same.update(**fields) else ""


def _settled_after_a_move(reminder_id: int, *, now: datetime) -> None:
    """A call about a time that changed while it rang (the customer moved it on this very call, or an advisor did):
    settled (or given up unanswered), it is history and the new time gets its own reminder. Its result stands when
    the call itself moved the appointment."""
    reminder = ReminderAttempt.objects.select_related("appointment").get(pk=reminder_id)
    appointment = reminder.appointment
    if reminder.superseded_at is not None or not appointment.is_active:
        return
    if appointment.start == reminder.appointment_start:
        return
    if reminder.outcome == Outcome.RESCHEDULED:
        ReminderAttempt.objects.filter(pk=reminder.pk, superseded_at__isnull=True).update(superseded_at=now)
        return
    _supersede(reminder, appointment, now=now)
