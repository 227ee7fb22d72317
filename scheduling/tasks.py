"""Celery tasks of the reminder dialer. Beat runs `dispatch_reminders` every REMINDER_DISPATCH_SECONDS.

Thin: the ledger rules are in scheduling.reminders, the dialling in calls.telephony.dialer. Delivering a task
twice (beat firing twice, a redelivery after a lost worker with acks_late, a retry) is harmless by design: rows are
created under a uniqueness constraint and a call is only placed by the worker whose claim won.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from scheduling import reminders

log = logging.getLogger(__name__)

BATCH = 1000
MAX_BATCHES = 50  # per sweep; the next sweep takes the rest


@shared_task(ignore_result=True)
def dispatch_reminders() -> dict:
    """Create the reminders that are due, sort out stale claims and rings, and hand due ones to workers."""
    from calls.telephony import dialer

    now = timezone.now()
    created = reminders.create_due_reminders(now=now)
    reconciled = dialer.reconcile_stale_claims(now=now)
    rings = sum(dialer.end_unanswered_ring(sid) for sid in list(dialer.stale_softphone_rings(now=now)))
    enqueued = 0
    for _ in range(MAX_BATCHES):
        ids = reminders.take_due(now=now, limit=BATCH)
        if not ids:
            break
        enqueued += len(ids)
        transaction.on_commit(lambda ids=ids: [place_reminder_call.delay(pk) for pk in ids])
        if len(ids) < BATCH:
            break
    summary = {"created": created, "enqueued": enqueued, "reconciled": reconciled, "unanswered_rings": rings}
    if created or enqueued or reconciled or rings:
        log.info("reminder sweep: %s", summary)
    return summary


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def place_reminder_call(reminder_id: int) -> str:
    """Claim one reminder and place its call. A second delivery finds the claim taken and does nothing."""
    from calls.telephony import dialer

    return dialer.place_reminder_call(reminder_id).status


@shared_task(ignore_result=True)
def end_unanswered_ring(call_sid: str) -> bool:
    """A reminder ringing in the softphone that nobody picked up: no answer, like a phone that rang out."""
    from calls.telephony import dialer

    return dialer.end_unanswered_ring(call_sid)
