"""What the service counts as it works, for Prometheus (GET /metrics, bartsvoice.metrics_view).

Call sites use the small functions below, never the metric objects, so label values stay few and known.
Several processes on one host (a daphne per core, Celery workers) pool their figures when
PROMETHEUS_MULTIPROC_DIR names a directory they share (prometheus-client's multiprocess mode; wiped before they
start, see bartsvoice/metrics_dir.py); without it each process shows only its own.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
from collections.abc import AsyncIterator, Mapping

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

CALLS_IN_PROGRESS = Gauge(
    "bartsvoice_calls_in_progress",
    "Calls whose media stream is being served right now",
    ["direction"],
    multiprocess_mode="livesum",
)
CALLS_FINISHED = Counter(
    "bartsvoice_calls_total",
    "Calls served to their end, by direction, outcome and status",
    ["direction", "outcome", "status"],
)
TURN_LATENCY = Histogram(
    "bartsvoice_turn_latency_seconds",
    "Agent turns answering the caller: time from the end of the caller's speech to each stage "
    "(greeting: from the stream's start to its first audio)",
    ["stage"],
    buckets=_LATENCY_BUCKETS,
)
PROVIDER_ERRORS = Counter(
    "bartsvoice_provider_errors_total", "Failures of a speech or language provider", ["stage", "provider"]
)
PROVIDER_FALLBACKS = Counter(
    "bartsvoice_provider_fallbacks_total",
    "Calls that went on with another provider after one failed",
    ["stage", "provider", "fallback"],
)
ANTICIPATED_REPLIES = Counter(
    "bartsvoice_anticipated_replies_total",
    "Replies the brain started on a caller's interim words: started, used (final words matched), discarded",
    ["result"],
)
# Not the dashboard's reminder results (one per reminder, its final result, by appointment day): counted as calls
# end, so a result later improved stays counted as first reported, and a reminder sent again counts again.
REMINDER_RESULTS = Counter(
    "bartsvoice_reminder_results_total",
    "Reminder call attempts by the result first reported when the call ended (answered by a person or machine: "
    "confirmed, rescheduled, cancelled, transferred, voicemail, hung_up; not a later correction, e.g. "
    "hung_up then confirmed counts hung_up), no_answer once per reminder after its last unanswered attempt "
    "(unanswered attempts that were retried are not counted), and skipped for attempts stopped right before "
    "dialling (not reminders the sweep skipped). Counted when it happens, not per appointment day: the managers' "
    "dashboard shows each reminder's final result instead",
    ["result"],
)
TASK_WAIT = Histogram(
    "bartsvoice_celery_task_wait_seconds",
    "How long a Celery task waited in its queue before a worker started it",
    ["queue"],
    buckets=_WAIT_BUCKETS,
)
RETENTION_DELETED = Counter(
    "bartsvoice_retention_deleted_total", "Rows and recordings removed by the retention task", ["kind"]
)

# Turn fields (calls.Turn, in milliseconds) -> stage label.
TURN_STAGES = {
    "stt_ms": "stt_final",
    "llm_first_ms": "first_agent_text",
    "tts_first_ms": "first_tts_audio",
    "first_audio_ms": "first_audio_sent",
}
STAGES = ("stt", "tts", "brain")
_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


def _label(value: object) -> str:
    """A label value that cannot grow a series per call: short lower-case words, anything else is "other"."""
    text = str(value or "").strip().lower()
    return text if _NAME.match(text) else "other"


if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from prometheus_client import multiprocess

    from bartsvoice.metrics_dir import forget_dead_processes

    # A stopped process's gauges (its calls in progress) stop counting; its counters are kept. Those of a
    # process that died without running this (killed, crashed) are dropped by the next process that starts.
    atexit.register(multiprocess.mark_process_dead, os.getpid())
    forget_dead_processes(os.environ["PROMETHEUS_MULTIPROC_DIR"])


# --- calls ---------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def call_in_progress(direction: str) -> AsyncIterator[None]:
    """Counts the call as in progress for as long as the block runs."""
    gauge = CALLS_IN_PROGRESS.labels(_label(direction))
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def turn_recorded(turn: Mapping[str, object]) -> None:
    """An agent turn was written (the fields of calls.services.record_turn): its latency per stage."""
    if turn.get("role") != "agent":
        return
    if turn.get("index") == 0:  # the greeting answers no one: its own series
        first_audio = turn.get("first_audio_ms")
        if isinstance(first_audio, int | float):
            TURN_LATENCY.labels("greeting").observe(first_audio / 1000)
        return
    if turn.get("stt_ms") is None:
        return  # a re-prompt or the session's own words: nobody is waiting on a reply
    for field, stage in TURN_STAGES.items():
        value = turn.get(field)
        if isinstance(value, int | float):
            TURN_LATENCY.labels(stage).observe(value / 1000)


def call_finished(*, direction: str, outcome: str, status: str) -> None:
    CALLS_FINISHED.labels(_label(direction), _label(outcome or "none"), _label(status)).inc()


# --- providers ------------------------------------------------------------------------------
def provider_error(stage: str, provider: str) -> None:
    """A provider (`provider`: its registry name, e.g. "deepgram") failed at `stage` ("stt", "tts" or "brain")."""
    PROVIDER_ERRORS.labels(_label(stage), _label(provider)).inc()


def provider_fallback(stage: str, provider: str, fallback: str) -> None:
    """A call went on with `fallback` after `provider` failed."""
    PROVIDER_FALLBACKS.labels(_label(stage), _label(provider), _label(fallback)).inc()


def reply_anticipated(result: str) -> None:
    """A reply started on interim words was `started`, `used` or `discarded` (calls.voice.anticipation)."""
    ANTICIPATED_REPLIES.labels(_label(result)).inc()


# --- jobs -----------------------------------------------------------------------------------
def reminder_result(result: str) -> None:
    """A reminder attempt ended with `result` ("confirmed", "voicemail", "no_answer"...): see REMINDER_RESULTS for
    which attempts scheduling.reminders counts."""
    REMINDER_RESULTS.labels(_label(result)).inc()


def task_waited(queue: str, seconds: float) -> None:
    TASK_WAIT.labels(_label(queue)).observe(max(0.0, seconds))


def retention_deleted(counts: Mapping[str, int]) -> None:
    for kind, count in counts.items():
        if count:
            RETENTION_DELETED.labels(_label(kind)).inc(count)
