"""One scenario's call: the simulator's path (a Call row, CallSession, the brain and its tools, turns recorded),
with the scenario's fixed clock and a scripted caller who answers what the agent asks.

The transport is the simulator's text transport, except that it says it carries audio: with no synthesiser
attached nothing is sent, but the session then times silence as on a phone line, so "are you still there?"
and the silence hang-up are reachable. A transfer reaches an advisor unless the scenario says nobody answers.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.evals.caller import ScriptedCaller, Stuck
from calls.evals.hearing import CallEar, Hearing
from calls.evals.scenario import Scenario
from calls.models import Call
from calls.services import start_call
from calls.voice.bootstrap import _hints as stt_hints_for_call  # the words a live call's recogniser is given
from calls.voice.bootstrap import context_for_call
from calls.voice.session import CallSession, SessionConfig
from calls.voice.transports.text import TextTransport
from crm.phones import try_normalize_phone
from crm.services import find_customer_by_phone

ADVISOR_NUMBER = "+13125550100"
MAX_CALLER_TURNS = 30
REPLY_TIMEOUT_S = 30.0  # the session's own brain timeouts are shorter; this only guards the runner
WITHHELD = "anonymous"


class EvalTransport(TextTransport):
    carries_audio = True  # silence is timed; nothing is sent (the session has no TTS)

    async def transfer(self, number: str) -> bool:
        self.transferred_to = number
        return True


@dataclass
class CallRecord:
    call: Call
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text); caller text as heard
    said: list[tuple[str, str]] = field(default_factory=list)  # (spoken form, heard) in audio mode
    hung_up: bool = False
    transferred_to: str = ""
    stuck: Stuck | None = None

    @property
    def agent_text(self) -> str:
        return " ".join(text for who, text in self.transcript if who == "agent")

    @property
    def last_agent_turn(self) -> str:
        turn: list[str] = []
        for who, text in reversed(self.transcript):
            if who != "agent":
                if turn:
                    break
                continue
            turn.insert(0, text)
        return " ".join(turn)


def open_call(sc: Scenario, reminder_of: int | None = None) -> Call:
    if reminder_of is not None:
        # The reminder dialer's own path (ledger row, claim, re-check), the scenario's caller picking up.
        from calls.telephony import dialer

        return dialer.simulate_reminder(reminder_of, now=sc.now)
    e164 = try_normalize_phone(sc.caller.number) if sc.caller.number else None
    return start_call(
        call_sid=f"EVAL{uuid.uuid4().hex}",
        from_number=e164 or sc.caller.number or WITHHELD,
        to_number=settings.TWILIO_PHONE_NUMBER or "shop",
        direction=Call.Direction.INBOUND,
        transport=Call.Transport.SIMULATOR,
        customer=find_customer_by_phone(e164) if e164 else None,
        started_at=sc.now,
    )


async def drive(
    sc: Scenario, brain, *, hearing: Hearing | None = None, silence_s: float = 0.5, reminder_of: int | None = None
) -> CallRecord:
    """Play the scenario's caller against the agent until the call ends (or the caller is stuck). With
    `reminder_of` (an appointment id) the shop places the call: its reminder, answered by the caller."""
    call = await in_db_thread(open_call, sc, reminder_of)
    record = CallRecord(call=call)
    pending: list[str] = []  # the agent's sentences since the caller last spoke

    def on_agent(text: str) -> None:
        pending.append(text)
        record.transcript.append(("agent", text))

    ctx = context_for_call(call)
    ctx.now = sc.now
    transport = EvalTransport(on_agent)
    config = SessionConfig(
        reprompt_after_s=silence_s if sc.has_silence else 3600.0, max_reprompts=settings.VOICE_MAX_REPROMPTS
    )
    session = CallSession(
        transport=transport,
        ctx=ctx,
        brain=brain,
        config=config,
        advisor_number=ADVISOR_NUMBER if sc.given.advisor else "",
    )
    ear: CallEar | None = await hearing.open(await in_db_thread(stt_hints_for_call, call)) if hearing else None
    caller = ScriptedCaller(sc.talk)
    runner = asyncio.ensure_future(session.run())

    async def agent_answers(heard_before: int, timeout: float = REPLY_TIMEOUT_S) -> None:
        """Until the agent has said something new and finished its turn, or the call is over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(record.transcript) == heard_before and not session.ended:
            if loop.time() > deadline:
                raise Stuck("no-reply", f"the agent did not answer within {timeout:.0f} s")
            await asyncio.sleep(0.005)
        await session.wait_idle()

    try:
        await agent_answers(0)
        for _ in range(MAX_CALLER_TURNS):
            if session.ended:
                break
            turn, pending[:] = " ".join(pending), []
            step = caller.next_step(turn)
            if step.action == "hangup":
                record.transcript.append(("caller", "<hang up>"))
                break
            before = len(record.transcript) + 1
            if step.action == "silence":
                record.transcript.append(("caller", "<silence>"))
                await agent_answers(before, timeout=silence_s * 2 + REPLY_TIMEOUT_S)
                continue
            if step.action == "press":
                record.transcript.append(("caller", f"<press {step.text}>"))
                for digit in step.text:
                    session.on_dtmf(digit)
            else:
                text = step.text
                if ear is not None:
                    heard = await ear.hear(step.text, brain=brain, ctx=ctx)
                    record.said.append((heard.said, heard.heard))
                    text = heard.heard
                record.transcript.append(("caller", text))
                session.on_text(text)
            await agent_answers(before)
        else:
            raise Stuck("too-long", f"the call was still going after {MAX_CALLER_TURNS} caller turns")
    except Stuck as stuck:
        record.stuck = stuck
    finally:
        if not session.ended:
            session.on_stop("completed")
        await runner
        if ear is not None:
            await ear.close()
    record.hung_up = transport.hung_up
    record.transferred_to = transport.transferred_to
    await in_db_thread(call.refresh_from_db)
    return record
