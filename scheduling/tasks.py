"""Celery tasks of the reminder dialer. Beat runs `dispatch_reminders` every REMINDER_DISPATCH_SECONDS.

Thin: the ledger rules are in scheduling.reminders, the dialling in calls.telephony.dialer. Delivering a task
twice (beat firing twice, a redelivery after a lost worker with acks_late, a retry) is harmless by design: rows are
created under a uniqueness constraint and a call is only placed by the worker whose claim won.
"""

from __future__ import annotations

import logging
import math

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduling import reminders

log = logging.getLogger(__name__)

BATCH = 1000  # rows handed out per SELECT ... FOR UPDATE SKIP LOCKED
PER_MESSAGE = 25  # reminders per task message: dialling is paced by the rate limit anyway


def dial_budget() -> int:
    """How many reminders one sweep hands out: what the dial rate can place before a handed-out reminder would be
    handed out again (scheduling.reminders.REQUEUE_AFTER). More would only wait in the broker."""
    return max(PER_MESSAGE, math.ceil(settings.OUTBOUND_CALLS_PER_SECOND * reminders.REQUEUE_AFTER.total_seconds()))


@shared_task(ignore_result=True)
def dispatch_reminders() -> dict:
    """Create the reminders that are due, sort out stale claims and rings, and hand due ones to workers."""
    from calls.telephony import dialer

    now = timezone.now()
    created = reminders.create_due_reminders(now=now)
    reconciled = dialer.reconcile_stale_claims(now=now)
    rings = sum(dialer.end_unanswered_ring(sid) for sid in list(dialer.stale_softphone_rings(now=now)))
    enqueued, budget = 0, dial_budget()
    while enqueued < budget:
        ids = reminders.take_due(now=now, limit=min(BATCH, budget - enqueued))
        if not ids:
            break
        enqueued += len(ids)
        chunks = [ids[i : i + PER_MESSAGE] for i in range(0, len(ids), PER_MESSAGE)]
        transaction.on_commit(lambda chunks=chunks: [place_reminder_calls.delay(chunk) for chunk in chunks])
    summary = {"created": created, "enqueued": enqueued, "reconciled": reconciled, "unanswered_rings": rings}
    if created or enqueued or reconciled or rings:
        log.info("reminder sweep: %s", summary)
    return summary


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def place_reminder_call(reminder_id: int) -> str:
    """Claim one reminder and place its call. A second delivery finds the claim taken and does nothing."""
    from calls.telephony import dialer

    return dialer.place_reminder_call(reminder_id).status


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def place_reminder_calls(reminder_ids: list[int]) -> dict:
    """The sweep's hand-out: each reminder claimed and dialled in turn (paced by the shared dial rate)."""
    from calls.telephony import dialer

    done: dict[str, int] = {}
    for pk in reminder_ids:
        status = dialer.place_reminder_call(pk).status
        done[status] = done.get(status, 0) + 1
    return done


@shared_task(ignore_result=True)
def end_unanswered_ring(call_sid: str) -> bool:
    """A reminder ringing in the softphone that nobody picked up: no answer, like a phone that rang out."""
    from calls.telephony import dialer

    return dialer.end_unanswered_ring(call_sid)
