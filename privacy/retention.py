"""Call data does not pile up forever: transcripts after RETENTION_DAYS, recordings after RECORDING_RETENTION_DAYS.

What goes: a call's turns and tool calls (what was said and done), its summary, the full phone numbers on it (cut
to their last four digits) and its recordings (deleted at Twilio and from our file storage). What stays: the call
row itself (date, direction, outcome, duration, usage and cost: the dashboard's figures), customers and appointments.

Work is done in batches, each in its own transaction, so a first run on years of calls holds no long locks; every
run leaves a RetentionRun with what it removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bartsvoice import metrics
from calls.models import Call, ToolCall, Turn
from crm.phones import mask_phone
from privacy.models import RetentionRun
from privacy.recordings import delete_call_recordings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    transcript_days: int
    recording_days: int
    batch_size: int = 500

    @classmethod
    def from_settings(cls) -> RetentionPolicy:
        return cls(settings.RETENTION_DAYS, settings.RECORDING_RETENTION_DAYS, settings.RETENTION_BATCH_SIZE)


def purge_old_call_data(*, policy: RetentionPolicy | None = None, now: datetime | None = None) -> RetentionRun:
    policy = policy or RetentionPolicy.from_settings()
    now = now or timezone.now()
    run = RetentionRun.objects.create(
        started_at=now,
        transcripts_before=now - timedelta(days=policy.transcript_days),
        recordings_before=now - timedelta(days=policy.recording_days),
    )
    try:
        run.turns_deleted = _delete_in_batches(Turn, run.transcripts_before, policy.batch_size)
        run.tool_calls_deleted = _delete_in_batches(ToolCall, run.transcripts_before, policy.batch_size)
        run.calls_cleared = _clear_calls(run.transcripts_before, policy.batch_size)
        run.recordings_deleted, run.recordings_failed = _delete_recordings(run.recordings_before, policy.batch_size)
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
        metrics.retention_deleted(
            {"turns": run.turns_deleted, "tool_calls": run.tool_calls_deleted, "recordings": run.recordings_deleted}
        )
    log.info(
        "Retention: %d turns, %d tool calls, %d calls cleared, %d recordings deleted (%d failed)",
        run.turns_deleted,
        run.tool_calls_deleted,
        run.calls_cleared,
        run.recordings_deleted,
        run.recordings_failed,
    )
    return run


def _delete_in_batches(model: type[Turn] | type[ToolCall], before: datetime, batch_size: int) -> int:
    deleted = 0
    while True:
        ids = list(model.objects.filter(call__started_at__lt=before).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += model.objects.filter(pk__in=ids).delete()[0]


def _still_personal() -> Q:
    """Calls still holding a summary or a whole phone number."""
    return ~Q(summary="") | _unmasked("from_number") | _unmasked("to_number")


def _unmasked(field: str) -> Q:
    return ~Q(**{field: ""}) & ~Q(**{f"{field}__startswith": "***"})


def _clear_calls(before: datetime, batch_size: int) -> int:
    cleared = 0
    while True:
        with transaction.atomic():
            calls = list(
                Call.objects.select_for_update(skip_locked=True)
                .filter(_still_personal(), started_at__lt=before)
                .only("pk", "from_number", "to_number")[:batch_size]
            )
            if not calls:
                return cleared
            for call in calls:
                call.summary = ""
                call.from_number = masked(call.from_number)
                call.to_number = masked(call.to_number)
            Call.objects.bulk_update(calls, ["summary", "from_number", "to_number"])
            cleared += len(calls)


def masked(number: str) -> str:
    return mask_phone(number) if number and not number.startswith("***") else number


def _delete_recordings(before: datetime, batch_size: int) -> tuple[int, int]:
    deleted = failed = 0
    last_pk = 0
    while True:
        batch = list(
            Call.objects.filter(started_at__lt=before, pk__gt=last_pk)
            .exclude(recording_url="", recording_file="")
            .order_by("pk")
            .values_list("pk", "recording_url", "recording_file")[:batch_size]
        )
        if not batch:
            return deleted, failed
        for pk, url, file_name in batch:
            last_pk = pk
            if not delete_call_recordings(pk, url, file_name):
                failed += 1  # the link stays, so the next run tries again
                continue
            deleted += 1
