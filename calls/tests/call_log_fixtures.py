"""People and calls for the call-log tests (views, live page, browser)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, User

from bartsvoice.tests.factories import rebuild_roles
from calls.models import Call, ToolCall, Turn
from crm.models import Customer
from scheduling.availability import shop_tz

PASSWORD = "pw-call-log-1"
# Wednesday, November 25, 2026, 7:30 AM in the shop.
STARTED = datetime(2026, 11, 25, 7, 30, tzinfo=shop_tz())


def make_user(username: str, *, group: str | None = None, staff: bool = True) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=staff, first_name=username.title())
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def people(db):
    return make_people()


def ensure_roles() -> None:
    """The roles the migrations create; a transactional test's flush has removed them."""
    if not Group.objects.filter(name="Managers").exists():
        rebuild_roles()


def make_people() -> dict[str, User]:
    """manager, advisor, staff without any permission, a non-staff user who is even in the Managers group."""
    ensure_roles()
    return {
        "manager": make_user("morgan", group="Managers"),
        "advisor": make_user("alex", group="Service advisors"),
        "staff": make_user("sam"),
        "outsider": make_user("olive", group="Managers", staff=False),
    }


def make_call(
    n: int,
    *,
    started: datetime = STARTED,
    minutes: float | None = 3,
    customer: Customer | None = None,
    from_number: str = "+17735550100",
    direction: str = Call.Direction.INBOUND,
    outcome: str = Call.Outcome.INFO,
    status: str = Call.Status.COMPLETED,
    worst_ms: int | None = None,
    summary: str = "",
    **fields,
) -> Call:
    return Call.objects.create(
        call_sid=f"CA{n:032d}",
        from_number=from_number if direction == Call.Direction.INBOUND else "+13125550100",
        to_number="+13125550100" if direction == Call.Direction.INBOUND else from_number,
        direction=direction,
        customer=customer,
        started_at=started,
        ended_at=started + timedelta(minutes=minutes) if minutes is not None else None,
        status=status,
        outcome=outcome,
        worst_latency_ms=worst_ms,
        summary=summary,
        **fields,
    )


def add_conversation(call: Call, replies: list[tuple[str, str, dict]], *, start: datetime | None = None) -> None:
    """Greeting, then (caller text, agent text, agent latency fields) pairs; one turn every 5 s."""
    at = start or call.started_at
    Turn.objects.create(call=call, index=0, role="agent", text="Thanks for calling Bart's.", started_at=at,
                        first_audio_ms=900)  # fmt: skip
    index = 1
    for caller, agent, latency in replies:
        at += timedelta(seconds=5)
        Turn.objects.create(call=call, index=index, role="caller", text=caller, started_at=at)
        at += timedelta(seconds=5)
        Turn.objects.create(call=call, index=index + 1, role="agent", text=agent, started_at=at, **latency)
        index += 2


def add_tool(call: Call, turn_index: int, name: str, *, ok: bool = True, **fields) -> ToolCall:
    return ToolCall.objects.create(call=call, turn_index=turn_index, name=name, ok=ok, **fields)


def latency(stt: int, agent: int, tts: int, send: int) -> dict:
    """Per-stage durations -> the cumulative fields a Turn stores."""
    return {"stt_ms": stt, "llm_first_ms": stt + agent, "tts_first_ms": stt + agent + tts,
            "first_audio_ms": stt + agent + tts + send}  # fmt: skip
