"""Turn-taking under real timing: a phone that plays audio on a clock and echoes marks like Twilio,
a pump sending 20 ms frames in real time, eSpeak speech and the real VAD. Each test pins down a way a
call could go silent, talk over the caller, lose words or hang."""

import asyncio

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
from calls.voice.session import CallSession, SessionConfig
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


class LongGreetBrain(InstantBrain):
    async def greet(self, ctx):
        yield "Thanks for calling Barts service department, this greeting is long enough to be interrupted. "
        yield "How can I help you today?"


# ---------------------------------------------------------------- 1. watchdog talks over the caller
async def test_no_reprompt_while_the_caller_is_talking():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, InstantBrain(), InstantSTT("I need an oil change"), reprompt=2.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    await asyncio.sleep(0.5)  # caller thinks for half a second, then talks for ~4.5 s
    pump.say(speech())
    spoken_during_speech = []
    for _ in range(250):
        await asyncio.sleep(0.02)
        if s._vad.in_speech and line.said() and line.said()[-1] == "Are you still there?":
            spoken_during_speech.append(True)
            break
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
    await asyncio.sleep(6.0)  # six reprompt periods
    clears = [k for _, k, _ in line.log if k == "clear"]
    said_after = line.said()
    state = dict(ended=s.ended, busy=s._agent_busy())
    for t, k, d in line.log:
        if k != "media":
            print(round(t, 2), k, d)
    print(state)
    await pump.stop()
    s.on_stop()
    await run
    assert clears, "barge-in should have cleared"
    assert "Are you still there?" in said_after or state["ended"], f"call went silent: {said_after} {state}"


# ---------------------------------------------------------------- 3. event loop blocked in _wait_reply
class SlowBrain(InstantBrain):
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
    s.on_text("what are your hours")
    await asyncio.sleep(0.2)
    s.on_text("on saturday")  # a second fragment while the agent is thinking
    await asyncio.sleep(1.5)  # reply 1 is now playing
    loop = asyncio.get_running_loop()
    s.on_dtmf("0")
    t_stop = loop.time()
    s.on_stop()
    await run
    took = loop.time() - t_stop
    assert took < 0.5, f"hang-up took {took:.2f}s to end the session (DTMF/stop queued behind _wait_reply)"


async def test_barge_in_works_while_an_earlier_turn_waits():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, SlowBrain(), InstantSTT("on saturday"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    s.on_text("what are your hours")
    await asyncio.sleep(0.2)
    s.on_text("on saturday")  # second fragment during thinking
    await asyncio.sleep(1.5)  # reply 1 playing (audible)
    t_speak = asyncio.get_running_loop().time()
    pump.say(speech())  # caller talks over the agent for 4 s
    await asyncio.sleep(1.5)
    clears = [t for t, k, _ in line.log if k == "clear" and t > t_speak]
    await pump.stop()
    s.on_stop()
    await run
    assert clears, "caller talked 1.5 s over the agent and no clear was sent"


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
    s = _session(line, ctx, InstantBrain(), InstantSTT("cancel my appointment"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    pump.say(speech())
    await asyncio.sleep(len(speech()) / 8000 + 0.3)  # caller finished talking, hangs up 300 ms later
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
    s = _session(line, ctx, InstantBrain(), BrokenSTT())
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


async def test_barge_in_on_a_reprompt_leaves_the_brain_history_alone():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, HistoryRuleBrain(), InstantSTT("yes"), reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    pump = Pump(s)
    while "Are you still there?" not in line.said():
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    pump.say(speech()[:8000])  # caller answers over the reprompt
    await asyncio.sleep(0.6)
    history, cut = [dict(m) for m in ctx.history], rule_state(ctx).prompt_cut
    await pump.stop()
    s.on_stop()
    await run
    assert history[-1]["content"] == "Is Tuesday at nine right?" and not cut, (history, cut)


# ---------------------------------------------------------------- 8. first sentence held back by SentenceBuffer
class ToolBrain(InstantBrain):
    async def respond(self, ctx, caller_text):
        yield "Let me check that for you. "
        await asyncio.sleep(1.0)  # a tool call / second LLM round trip
        yield "You're booked for Tuesday."


async def test_a_finished_sentence_is_spoken_while_a_tool_runs():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, ToolBrain(), None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    loop = asyncio.get_running_loop()
    t = loop.time()
    n = len(line.log)
    s.on_text("book me in")
    while not any(k == "media" for _, k, _ in line.log[n:]):
        await asyncio.sleep(0.01)
    first = loop.time() - t
    s.on_stop()
    await run
    assert first < 0.3, f"first audio after {first:.2f}s: 'Let me check that for you.' was held until the next piece"


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
    s = _session(line, ctx, InstantBrain(), None, tts=primary, fallback=InstantTTS(), reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    s.on_stop()
    await run
    assert FailingCloseTrackingTTS.closed, "the cloud TTS (its socket) was never closed after the fallback took over"


# ---------------------------------------------------------------- 10. audio sent after clear when send yields
class SlowClearLine(ClockLine):
    async def send_clear(self):
        self.log.append((self.t(), "clear", None))
        await asyncio.sleep(0.12)  # a socket write that yields (backpressure, another ASGI server)
        self.play_end = self.t()


async def test_no_audio_follows_a_clear():
    _call_row, ctx = await _call()
    line = SlowClearLine()
    s = _session(line, ctx, LongGreetBrain(), InstantSTT("hello"), reprompt=30)
    run = asyncio.ensure_future(s.run())
    pump = Pump(s)
    await asyncio.sleep(1.0)
    pump.say(speech()[:8000])
    await asyncio.sleep(1.0)
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

    def respond_sync(self, ctx, caller_text):
        import time

        time.sleep(0.4)  # tools and database
        return ["You're booked for Tuesday at nine."]


async def test_pressing_0_while_the_agent_thinks_keeps_the_history_true():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, ThinkingRuleBrain(), None, reprompt=30)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    s.on_text("book me tuesday at nine")
    await asyncio.sleep(0.1)
    s.on_dtmf("0")
    await asyncio.sleep(0.6)
    history = [dict(m) for m in ctx.history]
    s.on_stop()
    await run
    print(history)
    assert history[0]["content"] == "How can I help you today?", history
    assert history[-1]["content"] != "You're booked for Tuesday at nine.", "unspoken reply recorded as said"


# ---------------------------------------------------------------- 12. a stalled brain: silence forever
class StalledBrain(InstantBrain):
    async def respond(self, ctx, caller_text):
        await asyncio.Event().wait()
        yield ""


async def test_a_stalled_brain_gets_an_apology_and_a_person():
    _call_row, ctx = await _call()
    line = ClockLine()
    s = _session(line, ctx, StalledBrain(), None, reprompt=1.0, brain_timeout=2.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.wait_for(s.wait_idle(), 10)
    n = len(line.said())
    s.on_text("hello")
    await asyncio.sleep(4)
    said = line.said()[n:]
    s.on_stop()
    await run
    assert said, "4 s (4 reprompt periods) after the caller spoke: no word, no apology, no hand-over"


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


class ThinkBrain(InstantBrain):
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
    await asyncio.sleep(7)
    await pump.stop()
    s.on_stop()
    await run
    turns = await in_db_thread(lambda: list(Call.objects.get(pk=call.pk).turns.values_list("role", "text")))
    print(turns)
    assert ("caller", "and also rotate my tires") in turns, turns


# ---------------------------------------------------------------- 14. a transport error inside the reply task
class FlakyMarkLine(ClockLine):
    fail = True

    async def send_mark(self, name):
        if self.fail:
            self.fail = False
            raise ConnectionResetError("socket write failed")
        await super().send_mark(name)


async def test_a_crashed_reply_is_not_silent(caplog):
    _call_row, ctx = await _call()
    line = FlakyMarkLine()
    s = _session(line, ctx, InstantBrain(), None, reprompt=1.0)
    run = asyncio.ensure_future(s.run())
    await asyncio.sleep(4)
    state = dict(ended=s.ended, said=line.said())
    s.on_stop()
    await run
    logged = [r for r in caplog.records if "socket write failed" in (r.getMessage() + str(r.exc_info))]
    print(state, logged)
    assert state["said"][1:] or logged, f"reply task died: silence, no reprompt, nothing logged {state}"
