"""Turn-taking under real timing: a phone that plays audio on a clock and echoes marks like Twilio,
a pump sending 20 ms frames in real time, eSpeak speech and the real VAD. Each test pins down a way a
call could go silent, talk over the caller, lose words or hang."""

import asyncio
import threading
import time

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.actions import EndCall
from calls.agent.context import CallContext
from calls.agent.policy import RuleBrain, rule_state
from calls.models import Call
from calls.simulator import create_simulated_call
from calls.voice import audio
from calls.voice.providers.base import STTProvider, STTStream, TTSProvider
from calls.voice.providers.espeak import synthesize_ulaw
from calls.voice.providers.instant import InstantBrain, InstantSTT, InstantTTS
from calls.voice.session import FAILURE_TEXT, REPROMPT_TEXT, CallSession, SessionConfig
from calls.voice.transports.base import Transport
from calls.voice.vad import SpeechDetector

pytestmark = pytest.mark.django_db(transaction=True)

SPEECH = None


def speech() -> bytes:
    global SPEECH
    if SPEECH is None:
        SPEECH = synthesize_ulaw("What time do you open on Saturday morning? I would like to bring my car in.")
    return SPEECH


class ClockLine(Transport):
    """Plays like Twilio: audio on a clock, marks echoed when played, clear echoes pending marks at once."""

    def __init__(self):
        self.session = None
        self.loop = asyncio.get_running_loop()
        self.play_end = 0.0
        self.pending = []  # (handle, name)
        self.log = []  # (time, kind, detail)
        self.hung_up = False
        self.transfers = []

    def t(self):
        return self.loop.time()

    async def send_audio(self, ulaw):
        now = self.t()
        if not any(k == "media" for _, k, _ in self.log[-1:]) and not self.log_has_media_since_clear():
            pass
        self.log.append((now, "media", len(ulaw)))
        self.play_end = max(now, self.play_end) + len(ulaw) / 8000

    def log_has_media_since_clear(self):
        return False

    async def send_mark(self, name):
        handle = self.loop.call_at(max(self.t(), self.play_end) + 0.05, self._echo, name)
        self.pending.append((handle, name))

    def _echo(self, name):
        self.pending = [(h, n) for h, n in self.pending if n != name]
        self.session.on_mark(name)

    async def send_clear(self):
        self.log.append((self.t(), "clear", None))
        self.play_end = self.t()
        pending, self.pending = self.pending, []
        for handle, name in pending:
            handle.cancel()
            self.loop.call_soon(self.session.on_mark, name)

    async def send_transcript(self, role, text, *, final):
        self.log.append((self.t(), "say", text))

    async def hangup(self):
        self.hung_up = True

    async def transfer(self, number):
        self.transfers.append(number)
        return True

    def said(self):
        return [d for _, k, d in self.log if k == "say"]


class Pump:
    """Twilio's inbound side: a 20 ms frame every 20 ms, silence unless speech is queued."""

    def __init__(self, session):
        self.session = session
        self.queue = []
        self.task = asyncio.ensure_future(self._run())

    async def _run(self):
        loop = asyncio.get_running_loop()
        nxt = loop.time()
        silence = audio.ulaw_silence(20)
        while True:
            nxt += 0.02
            await asyncio.sleep(max(0, nxt - loop.time()))
            frame = self.queue.pop(0) if self.queue else silence
            self.session.on_audio(frame)

    def say(self, ulaw):
        self.queue.extend(audio.iter_frames(ulaw))

    async def stop(self):
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def _until(condition, timeout: float, waiting_for: str) -> None:
    """Wait until `condition()` holds; fail (never hang) after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"still waiting for {waiting_for} after {timeout} s")
        await asyncio.sleep(0.01)


def _media_since(line, n: int) -> bool:
    return any(k == "media" for _, k, _ in line.log[n:])


async def _call():
    call = await in_db_thread(create_simulated_call, "+13125550142")
    return call, CallContext(call_id=call.pk, caller_number="+13125550142")


def _session(line, ctx, brain, stt, *, reprompt=1.0, tts=None, fallback=None, brain_timeout=10.0):
    s = CallSession(
        transport=line,
        ctx=ctx,
        brain=brain,
        stt=stt,
        tts=tts or InstantTTS(),
        fallback_tts=fallback,
        vad=SpeechDetector(start_ms=100, end_ms=600),
        config=SessionConfig(reprompt_after_s=reprompt, max_reprompts=2, brain_first_piece_s=brain_timeout),
        advisor_number="+13125550199",
    )
    line.session = s
    return s


class QuickBrain(InstantBrain):
    """The instant brain with a greeting of 0.4 s (its own lasts 2.7 s, played in real time by every test)."""

    async def greet(self, ctx):
        yield "Hello."


class LongGreetBrain(InstantBrain):
    async def greet(self, ctx):
        yield "Thanks for calling Barts service department, this greeting is long enough to be interrupted. "
        yield "How can I help you today?"


# ---------------------------------------------------------------- 1. watchdog talks over the caller
async def test_no_reprompt_while_the_caller_is_talking():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, QuickBrain(), InstantSTT("I need an oil change"), reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    await asyncio.sleep(0.5)  # caller thinks for half a second, then talks for 2.5 s: two silence periods
    pump.say(speech()[: int(2.5 * 8000)])
    spoken_during_speech = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while pump.queue and loop.time() < deadline:  # until the last of the caller's frames went out
        await asyncio.sleep(0.02)
        if s._vad.in_speech and line.said() and line.said()[-1] == REPROMPT_TEXT:
            spoken_during_speech.append(True)
            break
    assert spoken_during_speech or not pump.queue, "the caller's 2.5 s of frames were not all sent within 10 s"
    await pump.stop()
    s.on_stop()
    await run
    assert not spoken_during_speech, "agent said 'Are you still there?' while the caller was mid-sentence"


# ---------------------------------------------------------------- 2. short barge-in, empty final: silent forever
async def test_after_a_cough_cuts_the_agent_the_silence_timer_still_runs():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, LongGreetBrain(), InstantSTT(""), reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    pump = Pump(s)
    await asyncio.sleep(1.0)  # greeting is playing
    pump.say(speech()[: 400 * 8])  # a cough / "uh": 320 ms of voiced frames
    # Within six reprompt periods the agent speaks again (or ends the call): never silent for good.
    await _until(lambda: REPROMPT_TEXT in line.said() or s.ended, 6, "'Are you still there?' after the cough")
    clears = [k for _, k, _ in line.log if k == "clear"]
    await pump.stop()
    s.on_stop()
    await run
    assert clears, "barge-in should have cleared"


# ---------------------------------------------------------------- 3. event loop blocked in _wait_reply
class SlowBrain(QuickBrain):
    async def respond(self, ctx, caller_text):
        await asyncio.sleep(0.5)
        if "bye" in caller_text:
            yield "Thanks for calling, have a great day. Goodbye!"
            yield EndCall("caller said goodbye")
            return
        yield "Let me tell you about our hours in some detail now. "
        yield "We are open Monday to Friday from seven in the morning to six in the evening. "
        yield "On Saturday we open from eight to one."


async def test_hang_up_is_handled_while_a_reply_is_in_progress():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, SlowBrain(), None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    n = len(line.log)
    s.on_text("what are your hours")
    await asyncio.sleep(0.2)
    s.on_text("on saturday")  # a second fragment while the agent is thinking
    await _until(lambda: _media_since(line, n), 5, "reply 1's audio")
    loop = asyncio.get_running_loop()
    s.on_dtmf("0")
    t_stop = loop.time()
    s.on_stop()
    await asyncio.wait_for(s.wait_ended(), 15)
    took = loop.time() - t_stop
    await run
    # Handled at once (a few ms); queued behind the reply, the stop would wait the ~10 s it takes to play.
    assert took < 1.0, f"hang-up took {took:.2f}s to end the session (DTMF/stop queued behind the reply)"


async def test_barge_in_works_while_an_earlier_turn_waits():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, SlowBrain(), InstantSTT("on saturday"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    n = len(line.log)
    s.on_text("what are your hours")
    await asyncio.sleep(0.2)
    s.on_text("on saturday")  # second fragment during thinking
    await _until(lambda: _media_since(line, n), 5, "reply 1's audio")
    t_speak = asyncio.get_running_loop().time()
    pump.say(speech())  # caller talks over the agent for 4 s
    await _until(
        lambda: any(k == "clear" and t > t_speak for t, k, _ in line.log), 3, "a clear while the caller talks over"
    )
    await pump.stop()
    s.on_stop()
    await run


async def test_goodbye_ends_the_call_even_with_a_turn_waiting():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, SlowBrain(), None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    s.on_text("ok bye")
    await asyncio.sleep(0.2)
    s.on_text("oh wait")
    await asyncio.wait_for(run, 20)
    said = line.said()
    i = said.index("Goodbye!")
    assert said[i + 1 :] == [], f"after Goodbye the agent said {said[i + 1 :]}"


# ---------------------------------------------------------------- 5. caller's last words lost on hang-up
async def test_last_words_before_hang_up_are_recorded():
    call, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, QuickBrain(), InstantSTT("cancel my appointment"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    words = speech()[: int(1.5 * 8000)]
    pump.say(words)
    await asyncio.sleep(len(words) / 8000 + 0.3)  # caller finished talking, hangs up 300 ms later
    await pump.stop()
    s.on_stop()
    await run
    roles = await in_db_thread(lambda: list(Call.objects.get(pk=call.pk).turns.values_list("role", "text")))
    assert any(r == "caller" for r, _ in roles), f"caller's last utterance missing: {roles}"


# ---------------------------------------------------------------- 6. STT start failure
class BrokenSTT(STTProvider):
    name = "broken"

    def open_stream(self, *, on_transcript, hints=()):
        class S(STTStream):
            async def start(self):
                raise ConnectionError("recogniser unreachable")

            def send_audio(self, ulaw):
                pass

            async def finalize(self):
                pass

            async def close(self):
                pass

        return S()


async def test_without_recognition_the_caller_still_hears_the_agent():
    call, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, QuickBrain(), BrokenSTT())
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    assert line.said(), "caller heard nothing at all"
    s.on_stop()
    await asyncio.wait_for(run, 10)
    c = await in_db_thread(Call.objects.get, pk=call.pk)
    assert c.ended_at is not None and "speech recognition unavailable" in c.summary


# ---------------------------------------------------------------- 7. brain.interrupted on canned replies
class HistoryRuleBrain(RuleBrain):
    async def greet(self, ctx):
        ctx.history.append({"role": "assistant", "content": "Is Tuesday at nine right?"})
        rule_state(ctx).last_prompt = "Is Tuesday at nine right?"
        yield "Is Tuesday at nine right?"


async def test_barge_in_on_a_reprompt_leaves_the_brain_history_alone(monkeypatch):
    from calls.voice.providers import instant

    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, HistoryRuleBrain(), InstantSTT("yes"), reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    # The reprompt plays for 8 s instead of 1.2: the caller's answer must reach the session while it is still
    # playing, which a busy machine pausing this process for half a second made miss (no barge-in, no clear).
    monkeypatch.setattr(instant, "MS_PER_CHAR", 400)
    pump = Pump(s)
    await _until(lambda: REPROMPT_TEXT in line.said(), 5, "the reprompt")
    await asyncio.sleep(0.3)
    n = len(line.log)
    pump.say(speech()[:8000])  # caller answers over the reprompt
    await _until(lambda: any(k == "clear" for _, k, _ in line.log[n:]), 7, "the answer to cut the reprompt")
    history, cut = [dict(m) for m in ctx.history], rule_state(ctx).prompt_cut
    await pump.stop()
    s.on_stop()
    await run
    assert history[-1]["content"] == "Is Tuesday at nine right?" and not cut, (history, cut)


# ---------------------------------------------------------------- 8. first sentence held back by SentenceBuffer
class ToolBrain(QuickBrain):
    tool_done = False

    async def respond(self, ctx, caller_text):
        yield "Let me check that for you. "
        await asyncio.sleep(1.0)  # a tool call / second LLM round trip
        self.tool_done = True
        yield "You're booked for Tuesday."


async def test_a_finished_sentence_is_spoken_while_a_tool_runs():
    _call_row, ctx = await _call()
    line = ClockLine()
    brain = ToolBrain()
    s = _session(line, ctx, brain, None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    n = len(line.log)
    s.on_text("book me in")
    await _until(lambda: _media_since(line, n), 5, "the first sentence's audio")
    held = brain.tool_done
    s.on_stop()
    await run
    assert not held, "'Let me check that for you.' was held until the tool had finished"


# ---------------------------------------------------------------- 9. the replaced cloud TTS is never closed
class FailingCloseTrackingTTS(TTSProvider):
    name = "cloud"
    closed = False

    async def synthesize(self, text):
        raise ConnectionError("down")
        yield b""

    async def close(self):
        FailingCloseTrackingTTS.closed = True


async def test_a_replaced_voice_is_closed():
    _call_row, ctx = await _call()
    line = ClockLine()
    primary = FailingCloseTrackingTTS()
    s = _session(line, ctx, QuickBrain(), None, tts=primary, fallback=InstantTTS(), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    s.on_stop()
    await run
    assert FailingCloseTrackingTTS.closed, "the cloud TTS (its socket) was never closed after the fallback took over"


# ---------------------------------------------------------------- 10. audio sent after clear when send yields
class SlowClearLine(ClockLine):
    cleared = False

    async def send_clear(self):
        self.log.append((self.t(), "clear", None))
        await asyncio.sleep(0.12)  # a socket write that yields (backpressure, another ASGI server)
        self.play_end = self.t()
        self.cleared = True


async def test_no_audio_follows_a_clear():
    _call_row, ctx = await _call()
    line = SlowClearLine()
    s = _session(line, ctx, LongGreetBrain(), InstantSTT("hello"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    pump = Pump(s)
    await asyncio.sleep(1.0)
    pump.say(speech()[:8000])
    await _until(lambda: line.cleared, 3, "the clear to be written")
    await asyncio.sleep(0.1)  # what a leaking reply would send next goes out within a 100 ms chunk
    kinds = [k for _, k, _ in line.log if k in ("media", "clear")]
    await pump.stop()
    s.on_stop()
    await run
    i = kinds.index("clear")
    assert "media" not in kinds[i + 1 : i + 3], f"agent audio sent after the clear: {kinds[i - 2 : i + 4]}"


# ---------------------------------------------------------------- 11. DTMF 0 while the rule brain thinks
class ThinkingRuleBrain(RuleBrain):
    async def greet(self, ctx):
        ctx.history.append({"role": "assistant", "content": "How can I help you today?"})
        yield "How can I help you today?"

    def __init__(self):
        self.worked_out = threading.Event()

    def respond_sync(self, ctx, caller_text):
        time.sleep(0.4)  # tools and database
        self.worked_out.set()
        return ["You're booked for Tuesday at nine."]


async def test_pressing_0_while_the_agent_thinks_keeps_the_history_true():
    _call_row, ctx = await _call()
    line = ClockLine()
    brain = ThinkingRuleBrain()
    s = _session(line, ctx, brain, None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    s.on_text("book me tuesday at nine")
    await asyncio.sleep(0.1)
    s.on_dtmf("0")
    await _until(brain.worked_out.is_set, 5, "the reply to be worked out")
    await asyncio.sleep(0.05)  # the thread's result reaches the loop (where the history would be written)
    history = [dict(m) for m in ctx.history]
    s.on_stop()
    await run
    assert history[0]["content"] == "How can I help you today?", history
    assert history[-1]["content"] != "You're booked for Tuesday at nine.", "unspoken reply recorded as said"


# ---------------------------------------------------------------- 12. a stalled brain: silence forever
class StalledBrain(QuickBrain):
    async def respond(self, ctx, caller_text):
        await asyncio.Event().wait()
        yield ""


async def test_a_stalled_brain_gets_an_apology_and_a_person(quick_voice):
    call, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, StalledBrain(), None, reprompt=1.0, brain_timeout=0.5)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    n = len(line.said())
    s.on_text("hello")
    await _until(lambda: s.ended, 10, "the call to be handed over (or to end)")
    said = " ".join(line.said()[n:])
    s.on_stop()
    await run
    assert FAILURE_TEXT in said, f"no apology after the brain stalled: {said!r}"
    assert line.transfers == ["+13125550199"], "the caller was not put through to a person"
    c = await in_db_thread(Call.objects.get, pk=call.pk)
    assert c.outcome == "transferred" and "agent stalled" in c.summary, (c.outcome, c.summary)


class RaisingBrain(QuickBrain):
    def __init__(self, first_sentence: str):
        self.first_sentence = first_sentence

    async def respond(self, ctx, caller_text):
        if self.first_sentence:
            yield self.first_sentence
        raise RuntimeError("the brain has a bug")


@pytest.mark.parametrize("first_sentence", ["", "Let me look at the calendar. "], ids=["at-once", "mid-reply"])
async def test_a_brain_that_raises_gets_an_apology_and_a_person(first_sentence, quick_voice):
    call, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, RaisingBrain(first_sentence), None, reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    n = len(line.said())
    s.on_text("can I come in tomorrow")
    await _until(lambda: s.ended, 10, "the call to be handed over (or to end)")
    said = " ".join(line.said()[n:])
    s.on_stop()
    await run
    assert line.transfers == ["+13125550199"], "the caller was not put through to a person"
    assert said == f"{first_sentence}{FAILURE_TEXT}", f"not the apology after what was said: {said!r}"
    c = await in_db_thread(Call.objects.get, pk=call.pk)
    assert c.outcome == "transferred" and "agent failed" in c.summary, (c.outcome, c.summary)


# ---------------------------------------------------------------- 13. words said while the agent thinks are dropped
class DelayedSTT(InstantSTT):
    def open_stream(self, *, on_transcript, hints=()):
        stream = super().open_stream(on_transcript=on_transcript, hints=hints)
        inner = stream.finalize

        async def finalize():
            await asyncio.sleep(0.4)  # recogniser latency after Finalize
            await inner()

        stream.finalize = finalize
        return stream


class ThinkBrain(QuickBrain):
    async def respond(self, ctx, caller_text):
        await asyncio.sleep(2.0)  # LLM + tools
        yield f"You said {caller_text}. Anything else?"


async def test_words_said_while_the_agent_thinks_are_answered():
    call, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, ThinkBrain(), DelayedSTT("and also rotate my tires"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    s.on_text("I need an oil change")
    await asyncio.sleep(0.2)
    pump.say(speech()[:8000])  # caller adds a 1 s sentence while the agent thinks
    answer = "You said and also rotate my tires."
    await _until(lambda: answer in line.said(), 15, "an answer to the words said meanwhile")
    await pump.stop()
    s.on_stop()
    await run
    turns = await in_db_thread(lambda: list(Call.objects.get(pk=call.pk).turns.values_list("role", "text")))
    assert ("caller", "and also rotate my tires") in turns, turns


# ---------------------------------------------------------------- 14. a transport error inside the reply task
class FlakyMarkLine(ClockLine):
    fail = True

    async def send_mark(self, name):
        if self.fail:
            self.fail = False
            raise ConnectionResetError("socket write failed")
        await super().send_mark(name)


async def test_a_crashed_reply_is_not_silent(quick_voice):
    call, ctx = await _call()
    line = FlakyMarkLine()
    s = _session(line, ctx, QuickBrain(), None, reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await _until(lambda: s.ended, 10, "the call to be handed over (or to end)")
    said = " ".join(line.said())
    s.on_stop()
    await run
    assert said.endswith(FAILURE_TEXT), f"the greeting crashed and the caller heard no apology: {said!r}"
    assert line.transfers == ["+13125550199"], "the caller was not put through to a person"
    c = await in_db_thread(Call.objects.get, pk=call.pk)
    assert c.outcome == "transferred" and "agent error" in c.summary, (c.outcome, c.summary)
