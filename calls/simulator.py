"""Text conversations through the real CallSession, brain and tools (no audio): `manage.py simulate_call`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.models import Call
from calls.services import start_call
from calls.voice.bootstrap import context_for_call
from calls.voice.providers import registry
from calls.voice.session import CallSession
from calls.voice.transports.text import TextTransport
from crm.phones import normalize_phone
from crm.services import find_customer_by_phone


@dataclass
class SimulatedCall:
    call: Call
    transcript: list[tuple[str, str]] = field(default_factory=list)
    ended_normally: bool = False


def _keypad(line: str) -> str:
    """`/dtmf 0` presses keys on the phone's keypad (0 = talk to an advisor)."""
    command, _, digits = line.partition(" ")
    if command.lower() != "/dtmf":
        return ""
    return "".join(ch for ch in digits if ch in "0123456789*#")


def create_simulated_call(caller: str) -> Call:
    """Raises ValidationError for a caller number that is not a phone number."""
    e164 = normalize_phone(caller)
    return start_call(
        call_sid=f"SIM{uuid.uuid4().hex}",
        from_number=e164,
        to_number=settings.TWILIO_PHONE_NUMBER or "shop",
        direction=Call.Direction.INBOUND,
        transport=Call.Transport.SIMULATOR,
        customer=find_customer_by_phone(e164),
    )


async def run_simulated_call(
    call: Call,
    lines: AsyncIterator[str],
    *,
    echo: Callable[[str, str], None] | None = None,
    brain=None,
) -> SimulatedCall:
    """Feed caller lines one turn at a time, waiting for the agent to finish each reply."""
    result = SimulatedCall(call=call)

    def said(speaker: str, text: str) -> None:
        result.transcript.append((speaker, text))
        if echo is not None:
            echo(speaker, text)

    ctx = context_for_call(call)
    transport = TextTransport(lambda text: said("AGENT", text))
    session = CallSession(transport=transport, ctx=ctx, brain=brain or registry.brain_for_call())
    runner = asyncio.ensure_future(session.run())
    try:
        await session.wait_idle()
        async for line in lines:
            if session.ended:
                break
            line = line.strip()
            if not line:
                continue
            said("CALLER", line)
            digits = _keypad(line)
            if digits:
                for digit in digits:
                    session.on_dtmf(digit)
            else:
                session.on_text(line)
            await asyncio.sleep(0)
            await session.wait_idle()
        result.ended_normally = session.ended and (transport.hung_up or ctx.outcome == "transferred")
        if not session.ended:
            session.on_stop("completed")
    finally:
        await runner
    await in_db_thread(call.refresh_from_db)
    return result
