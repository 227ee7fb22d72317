"""A provider failure never drops a call silently."""

import asyncio

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.context import CallContext
from calls.models import Call
from calls.simulator import create_simulated_call
from calls.voice.providers.base import TTSProvider
from calls.voice.providers.instant import InstantBrain, InstantTTS
from calls.voice.session import CallSession, SessionConfig
from calls.voice.transports.base import Transport, TransportClosed

pytestmark = pytest.mark.django_db(transaction=True)


class BrokenTTS(TTSProvider):
    name = "broken"

    async def synthesize(self, text):
        raise ConnectionError("synthesiser unreachable")
        yield b""  # pragma: no cover - makes this an async generator


class PhoneLine(Transport):
    """Plays instantly: every mark is echoed as soon as it is sent."""

    def __init__(self):
        self.session = None
        self.audio = 0
        self.hung_up = False
        self.transfers = []

    async def send_audio(self, ulaw):
        self.audio += len(ulaw)

    async def send_mark(self, name):
        asyncio.get_running_loop().call_soon(self.session.on_mark, name)

    async def send_clear(self):
        return None

    async def hangup(self):
        self.hung_up = True

    async def transfer(self, number):
        self.transfers.append(number)
        return True


async def _session(tts, fallback=None) -> tuple[Call, PhoneLine, CallSession]:
    call = await in_db_thread(create_simulated_call, "+13125550142")
    line = PhoneLine()
    session = CallSession(
        transport=line,
        ctx=CallContext(call_id=call.pk, caller_number="+13125550142"),
        brain=InstantBrain(),
        tts=tts,
        fallback_tts=fallback,
        config=SessionConfig(send_chunk_ms=100, playback_lead_ms=10_000),
        advisor_number="+13125550199",
    )
    line.session = session
    return call, line, session


async def _run(tts, fallback=None):
    call, line, session = await _session(tts, fallback)
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(session.wait_idle(), 10)
    session.on_stop()  # the caller hangs up once the agent has had its say
    await asyncio.wait_for(running, 10)
    return line, await in_db_thread(Call.objects.get, pk=call.pk)


async def test_a_failing_voice_falls_back_to_the_offline_one():
    line, call = await _run(BrokenTTS(), fallback=InstantTTS())
    assert line.audio > 0  # the greeting was spoken by the fallback voice
    assert not line.transfers
    greeting = await in_db_thread(lambda: call.turns.get(index=0))
    assert greeting.text.startswith("Thanks for calling")


async def test_no_voice_at_all_transfers_to_a_person():
    line, call = await _run(BrokenTTS())
    assert line.transfers == ["+13125550199"]
    assert call.outcome == "transferred"
    assert "speech synthesis failed" in call.summary


async def test_a_caller_who_cannot_be_understood_reaches_a_person():
    call, line, session = await _session(InstantTTS())
    running = asyncio.ensure_future(session.run())
    for _ in range(3):  # three turns of speech the recogniser could make nothing of
        await asyncio.wait_for(session.wait_idle(), 10)
        session.on_text("")
        await asyncio.sleep(0.05)
    await asyncio.wait_for(running, 10)
    assert line.transfers == ["+13125550199"]
    texts = await in_db_thread(lambda: list(call.turns.filter(role="agent").values_list("text", flat=True)))
    assert texts.count("Sorry, I didn't catch that. Could you say it again?") == 2


async def test_a_quick_answer_is_not_held_back_by_the_previous_turn():
    """Once the agent's audio has played (marks echoed), the next reply starts at once."""
    _call, line, session = await _session(InstantTTS())
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(session.wait_idle(), 5)
    before = line.audio
    session.on_text("hello")
    loop = asyncio.get_running_loop()
    asked = loop.time()
    while line.audio == before and loop.time() - asked < 3:
        await asyncio.sleep(0.005)
    assert loop.time() - asked < 0.5
    session.on_stop()
    await running


class HungUpLine(PhoneLine):
    """The caller hangs up after the first bit of audio: every later send finds the line gone."""

    async def send_audio(self, ulaw):
        if self.audio:
            raise TransportClosed("gone")
        await super().send_audio(ulaw)


async def test_a_line_that_closes_mid_sentence_ends_the_call_as_a_hang_up():
    call = await in_db_thread(create_simulated_call, "+13125550142")
    line = HungUpLine()
    session = CallSession(
        transport=line,
        ctx=CallContext(call_id=call.pk, caller_number="+13125550142"),
        brain=InstantBrain(),
        tts=InstantTTS(),
        config=SessionConfig(send_chunk_ms=100, playback_lead_ms=10_000),
        advisor_number="+13125550199",
    )
    line.session = session
    await asyncio.wait_for(session.run(), 10)  # ends by itself: no stop event from the transport is needed
    call = await in_db_thread(Call.objects.get, pk=call.pk)
    assert not line.transfers and not call.callback_requested
    assert (call.status, call.outcome) == ("completed", "abandoned")
    assert "synthesis" not in call.summary
