"""Preemptive replies: the brain starts on the caller's interim words once they pause, the reply uses that work only
when the final words are the same, and otherwise nothing of it is said."""

import asyncio

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.base import Anticipation
from calls.agent.context import CallContext
from calls.simulator import create_simulated_call
from calls.tests.test_session_speaking import CountingLine
from calls.voice import anticipation, audio
from calls.voice.anticipation import same_words
from calls.voice.providers.base import STTProvider, STTStream, Transcript
from calls.voice.providers.espeak import synthesize_ulaw
from calls.voice.providers.instant import InstantBrain, InstantTTS
from calls.voice.session import CallSession, SessionConfig
from calls.voice.vad import SpeechDetector

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "What time do you open on Saturday"


@pytest.fixture(scope="module")
def speech() -> list[bytes]:
    return list(audio.iter_frames(synthesize_ulaw(QUESTION)))


@pytest.fixture(autouse=True)
def no_pause_wait(monkeypatch):
    # The frames below arrive faster than real time: any pause after the speech counts as long enough.
    monkeypatch.setattr(anticipation, "PAUSE_S", 0.0)


class ScriptedStream(STTStream):
    """The test speaks for the recogniser: interim and final results when it says so."""

    def __init__(self, on_transcript):
        self.on_transcript = on_transcript
        self.batchable_flags: list[bool] = []  # per frame received: could it have waited for the next ones?

    async def start(self):
        return None

    def send_audio(self, ulaw):
        self.batchable_flags.append(self.batchable)

    async def finalize(self):
        return None

    async def close(self):
        return None


class ScriptedSTT(STTProvider):
    name = "scripted"

    def __init__(self):
        self.stream = None

    def open_stream(self, *, on_transcript, hints=()):
        self.stream = ScriptedStream(on_transcript)
        return self.stream


class Draft(Anticipation):
    def __init__(self, caller_text):
        self.caller_text = caller_text
        self.discarded = False

    async def respond(self, ctx):
        yield f"Prepared answer to {self.caller_text}."

    def discard(self):
        self.discarded = True


class ForesightBrain(InstantBrain):
    def __init__(self):
        self.drafts: list[Draft] = []
        self.responded: list[str] = []

    def anticipate(self, ctx, caller_text):
        self.drafts.append(Draft(caller_text))
        return self.drafts[-1]

    async def respond(self, ctx, caller_text):
        self.responded.append(caller_text)
        yield f"Fresh answer to {caller_text}."


async def _until(condition, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _call():
    call = await in_db_thread(create_simulated_call, "+13125550142")
    brain, stt, line = ForesightBrain(), ScriptedSTT(), CountingLine()
    session = CallSession(
        transport=line,
        ctx=CallContext(call_id=call.pk, caller_number="+13125550142"),
        brain=brain,
        stt=stt,
        tts=InstantTTS(),
        vad=SpeechDetector(),
        config=SessionConfig(playback_lead_ms=10_000),
        advisor_number="",
    )
    line.session = session
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(session.wait_idle(), 5)  # greeted
    for _ in range(10):
        session.on_audio(audio.ulaw_silence(20))
    return session, brain, stt.stream, line, running


def _speak_then_pause(session, frames):
    for frame in frames + [audio.ulaw_silence(20)] * 3:
        session.on_audio(frame)


async def _hang_up(session, running):
    session.on_stop()
    await asyncio.wait_for(running, 5)


async def test_a_reply_started_on_the_interim_words_is_the_one_spoken_when_they_were_final(speech):
    session, brain, stream, line, running = await _call()
    stream.on_transcript(Transcript(text="What time do", is_final=False))  # still speaking: too early
    _speak_then_pause(session, speech)
    assert brain.drafts == []
    stream.on_transcript(Transcript(text=QUESTION.lower(), is_final=False))  # after the pause: all of it
    assert [d.caller_text for d in brain.drafts] == [QUESTION.lower()]
    stream.on_transcript(Transcript(text=QUESTION + "?", is_final=True, speech_final=True))
    await _until(lambda: len(line.said) == 3)
    assert line.said[-1] == f"Prepared answer to {QUESTION.lower()}."
    assert brain.responded == [] and not brain.drafts[0].discarded
    assert session.anticipations == {"started": 1, "used": 1, "discarded": 0}
    await _hang_up(session, running)


async def test_words_that_change_throw_the_started_reply_away_and_it_is_never_said(speech):
    session, brain, stream, line, running = await _call()
    _speak_then_pause(session, speech)
    stream.on_transcript(Transcript(text="What time do you open", is_final=False))
    (first,) = brain.drafts
    loud = max(speech, key=lambda frame: abs(audio.ulaw_to_pcm16_array(frame).astype(int)).mean())
    for frame in [loud] * 10:  # they go on
        session.on_audio(frame)
    stream.on_transcript(Transcript(text="What time do you open on", is_final=False))
    assert first.discarded
    _speak_then_pause(session, [loud] * 10)  # ... and on: the words of that result were not all of them
    assert len(brain.drafts) == 1
    stream.on_transcript(Transcript(text="What time do you open on Sunday", is_final=False))
    assert [d.caller_text for d in brain.drafts] == ["What time do you open", "What time do you open on Sunday"]
    stream.on_transcript(Transcript(text="What time do you open on Sunday morning", is_final=True, speech_final=True))
    await _until(lambda: len(line.said) == 3)
    assert line.said[-1] == "Fresh answer to What time do you open on Sunday morning."
    assert all(d.discarded for d in brain.drafts)
    assert not any(s.startswith("Prepared") for s in line.said)
    assert session.anticipations == {"started": 2, "used": 0, "discarded": 2}
    await _hang_up(session, running)


async def test_a_call_that_ends_mid_turn_discards_the_started_reply(speech):
    session, brain, stream, _line, running = await _call()
    _speak_then_pause(session, speech)
    stream.on_transcript(Transcript(text=QUESTION, is_final=False))
    await _hang_up(session, running)
    assert brain.drafts[0].discarded and brain.responded == []


async def test_words_worked_out_before_the_pause_wait_for_a_result_that_heard_it_even_when_they_arrive_late(speech):
    session, brain, stream, line, running = await _call()  # 10 silent frames so far: 0.2 s of audio
    loud = max(speech, key=lambda frame: abs(audio.ulaw_to_pcm16_array(frame).astype(int)).mean())
    for frame in [loud] * 10 + [audio.ulaw_silence(20)] * 5:  # speech ends 0.4 s into the audio; a pause follows
        session.on_audio(frame)
    # A busy server: the result for the audio up to the last speech frame only arrives now, in the pause. Its last
    # word may be cut: the caller may have said more in the frames it had not heard.
    stream.on_transcript(Transcript(text="What time do you", is_final=False, audio_end_s=0.4))
    assert brain.drafts == []
    stream.on_transcript(Transcript(text=QUESTION, is_final=False, audio_end_s=0.46))  # it heard the pause
    assert [d.caller_text for d in brain.drafts] == [QUESTION]
    stream.on_transcript(Transcript(text=QUESTION + "?", is_final=True, speech_final=True, audio_end_s=0.5))
    await _until(lambda: len(line.said) == 3)
    assert line.said[-1] == f"Prepared answer to {QUESTION}."
    assert session.anticipations == {"started": 1, "used": 1, "discarded": 0}
    await _hang_up(session, running)


async def test_only_the_frames_of_a_pause_in_the_callers_speech_must_reach_the_recogniser_at_once(speech):
    session, _brain, stream, _line, running = await _call()
    assert all(stream.batchable_flags)  # nobody spoke yet: nothing hurries
    stream.batchable_flags.clear()
    loud = max(speech, key=lambda frame: abs(audio.ulaw_to_pcm16_array(frame).astype(int)).mean())
    for frame in [loud] * 10 + [audio.ulaw_silence(20)] * 40:
        session.on_audio(frame)
    speaking, pause, after = stream.batchable_flags[:10], stream.batchable_flags[10:39], stream.batchable_flags[39:]
    assert all(speaking)  # speech: it may wait a few frames
    assert not any(pause)  # a pause may be the end of the turn (the VAD calls it after 600 ms): every frame counts
    assert all(after)  # the turn is over: silence again
    await _hang_up(session, running)


def test_same_words_ignores_case_and_punctuation_only():
    assert same_words("What time do you open on Saturday?", "what time do you open on saturday")
    assert same_words("It's 9:30, right?", "it's 9 30 right")
    assert not same_words("book it", "book it for Tuesday")
    assert not same_words("don't book it", "book it")
