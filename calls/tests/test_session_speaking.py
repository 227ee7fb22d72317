"""A reply of several sentences reaches the caller without a silence between them: the next sentence is
synthesised while the current one is still being sent and played."""

import asyncio

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.context import CallContext
from calls.simulator import create_simulated_call
from calls.tests.test_session_failures import PhoneLine
from calls.voice.providers.base import TTSProvider
from calls.voice.providers.instant import InstantBrain
from calls.voice.session import CallSession, SessionConfig

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = b"\x10" * 800  # 100 ms of audio


class GatedTTS(TTSProvider):
    """The first sentence's audio only ends once the second sentence's synthesis has been asked for: a session that
    synthesises one sentence at a time never gets past it."""

    name = "gated"

    def __init__(self):
        self.asked: list[str] = []
        self.closed: list[str] = []
        self.second_asked = asyncio.Event()
        self.hold_first = asyncio.Event()  # set: the first sentence ends once the second has been asked for
        self.hold_first.set()
        self.hold_second = asyncio.Event()

    async def synthesize(self, text):
        self.asked.append(text)
        try:
            if len(self.asked) == 1:
                yield CHUNK
                await asyncio.wait_for(self.second_asked.wait(), 5)
                await self.hold_first.wait()
                yield CHUNK
                return
            self.second_asked.set()
            await self.hold_second.wait()
            yield CHUNK
        finally:
            self.closed.append(text)


class CountingLine(PhoneLine):
    def __init__(self):
        super().__init__()
        self.said: list[str] = []
        self.clears = 0

    async def send_transcript(self, role, text, *, final):
        if role == "agent":
            self.said.append(text)

    async def send_clear(self):
        self.clears += 1


async def _session(tts, line) -> CallSession:
    call = await in_db_thread(create_simulated_call, "+13125550142")
    session = CallSession(
        transport=line,
        ctx=CallContext(call_id=call.pk, caller_number="+13125550142"),
        brain=InstantBrain(),  # greets with two sentences
        tts=tts,
        config=SessionConfig(send_chunk_ms=100, playback_lead_ms=10_000),
        advisor_number="+13125550199",
    )
    line.session = session
    return session


async def test_the_next_sentence_is_synthesised_while_the_current_one_is_spoken():
    tts, line = GatedTTS(), CountingLine()
    session = await _session(tts, line)
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(tts.second_asked.wait(), 5)
    assert line.said == ["Thanks for calling."]  # the second sentence is being made, not yet spoken
    tts.hold_second.set()
    await asyncio.wait_for(session.wait_idle(), 5)
    assert tts.asked == ["Thanks for calling.", "How can I help you today?"]
    assert line.said == tts.asked
    assert line.audio == 3 * len(CHUNK)  # all of both sentences, in the voice that was asked
    session.on_stop()
    await asyncio.wait_for(running, 5)


async def test_a_sentence_made_ahead_is_dropped_when_the_reply_is_cut_short():
    tts, line = GatedTTS(), CountingLine()
    tts.hold_first.clear()  # the first sentence is still being spoken when the caller presses 0
    session = await _session(tts, line)
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(tts.second_asked.wait(), 5)
    session.on_dtmf("0")  # the caller presses 0 over the greeting: it stops at once
    tts.hold_second.set()  # (the hand-over line is said in the same voice)
    await asyncio.wait_for(running, 5)
    assert "How can I help you today?" in tts.closed  # its synthesis was stopped (Deepgram: Clear)
    assert "How can I help you today?" not in line.said
    assert line.transfers == ["+13125550199"]
    assert line.clears == 1
