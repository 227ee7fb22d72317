"""The call log and dashboard read 100,000 calls through indexes: their queries must stay able to use them.

bench/ui.py measures the render times; these check the plan PostgreSQL can choose (sequential scans and full
sorts priced out, so a query that cannot use an index still shows one, even on the suite's small tables)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import connection

from calls import metrics
from calls.selectors import CallFilters, call_list
from calls.tests.call_log_fixtures import STARTED, add_conversation, latency, make_call

pytestmark = pytest.mark.django_db


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    return queryset.explain()


@pytest.fixture
def some_calls(db):
    for n in range(5):
        call = make_call(n, started=STARTED)
        add_conversation(call, [("a", "b", latency(100, 400, 100, 100))])


def test_newest_calls_first_read_the_started_at_index_backwards(some_calls):
    plan = _plan(call_list(CallFilters())[:50])
    assert "Index Scan Backward using calls_call_started_at" in plan
    assert not re.search(r"(^|->)\s*Sort\s", plan)  # only an incremental sort on the id tie-break


def test_dashboard_reply_latency_reads_only_the_replies_index(some_calls):
    period = metrics.Period(date(2026, 11, 1), date(2026, 11, 30))
    replies = metrics.replies_during(period)
    assert "turn_reply_latency" in _plan(replies.values("first_audio_ms"))
