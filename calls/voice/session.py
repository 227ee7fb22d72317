"""One phone call: listen, think, speak. Independent of the transport that carries it.

Per-frame work (`on_audio`) is kept to a voice-activity check and a queue append; everything slower
(recognition, the brain and its tools, synthesis, database writes) runs in tasks and threads, so
hundreds of calls share one event loop.

Turn-taking:
- the caller's turn ends on the recogniser's final result, or when our VAD has heard
  `endpoint_silence_ms` of silence after speech (then we ask the recogniser to finalise);
- barge-in: `barge_in_ms` of caller speech while agent audio is playing stops the agent, sends
  `clear`, and cuts the agent's turn to what had been played (tracked with marks and the play clock);
- after the agent has finished speaking, `reprompt_after_s` of silence asks "Are you still there?";
  after `max_reprompts` unanswered prompts the agent says goodbye and hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.agent.base import Brain
from calls.agent.context import CallContext
from calls.voice.providers.base import STTProvider, STTStream, Transcript, TTSProvider
from calls.voice.text import SentenceBuffer, cut_to_fraction
from calls.voice.transports.base import Transport
from calls.voice.vad import SPEECH_STARTED, SpeechDetector

log = logging.getLogger(__name__)

FRAME_MS = 20
BYTES_PER_MS = 8  # µ-law at 8 kHz
MARK_GRACE_S = 2.0  # how long past the play clock we wait for marks before trusting the clock
MAX_NOT_CAUGHT = 3  # unintelligible turns in a row before a person takes over


@dataclass(frozen=True)
class SessionConfig:
    endpoint_silence_ms: int = 600
    barge_in_ms: int = 250
    reprompt_after_s: float = 8.0
    max_reprompts: int = 2
    send_chunk_ms: int = 100  # audio per outbound message
    playback_lead_ms: int = 300  # how far ahead of the play clock we send

    @classmethod
    def from_settings(cls) -> SessionConfig:
        return cls(
            endpoint_silence_ms=settings.VOICE_ENDPOINT_SILENCE_MS,
            barge_in_ms=settings.VOICE_BARGE_IN_MS,
            reprompt_after_s=settings.VOICE_REPROMPT_SECONDS,
            max_reprompts=settings.VOICE_MAX_REPROMPTS,
        )


REPROMPT_TEXT = "Are you still there?"
SILENCE_GOODBYE_TEXT = "I haven't heard anything, so I'll hang up now. Please call us back any time. Goodbye!"
NOT_CAUGHT_TEXT = "Sorry, I didn't catch that. Could you say it again?"
TRANSFER_TEXT = "One moment, I'm transferring you to a service advisor."
TRANSFER_UNAVAILABLE_TEXT = (
    "I've asked a service advisor to call you back as soon as possible. Thanks for calling, goodbye!"
)
FAILURE_TEXT = "I'm sorry, I'm having trouble on my end. Let me get you to a service advisor."


@dataclass
class _Reply:
    """The agent turn being produced and played."""

    index: int
    started_at: datetime
    t0: float  # end of the caller's speech (or the start of the call, for the greeting)
    kind: str = "reply"
    sentences: list[str] = field(default_factory=list)
    # (sentence index, start ms, duration ms) on the play timeline of this reply
    timeline: list[tuple[int, float, float]] = field(default_factory=list)
    played_marks: set[int] = field(default_factory=set)
    latency: dict[str, int] = field(default_factory=dict)
    audio_ms: float = 0.0  # audio of this reply sent so far
    provider_ms: float = 0.0  # time spent waiting on STT, brain and TTS before the first audio
    producing_done: bool = False
    interrupted: bool = False
    spoken_text: str = ""
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # played out (or cut) and recorded


class CallSession:
    def __init__(
        self,
        *,
        transport: Transport,
        ctx: CallContext,
        brain: Brain,
        stt: STTProvider | None = None,
        tts: TTSProvider | None = None,
        fallback_tts: TTSProvider | None = None,
        vad: SpeechDetector | None = None,
        config: SessionConfig | None = None,
        advisor_number: str | None = None,
        record: bool = True,
        stt_hints: tuple[str, ...] = (),
    ):
        self.transport = transport
        self.ctx = ctx
        self.brain = brain
        self.config = config or SessionConfig.from_settings()
        self.tts = tts
        self._fallback_tts = fallback_tts
        self._tts_failed = False
        self._not_caught = 0
        self._stt_provider = stt
        self._stt: STTStream | None = None
        self._stt_hints = stt_hints
        self._vad = vad
        self.advisor_number = settings.SHOP_ADVISOR_NUMBER if advisor_number is None else advisor_number
        self._record = record and ctx.call_id is not None

        self._loop = asyncio.get_running_loop()  # sessions are made inside the loop that serves the call
        self._events: asyncio.Queue = asyncio.Queue()
        self._writes: asyncio.Queue = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._reply: _Reply | None = None
        self._reply_task: asyncio.Task | None = None
        self._turn_index = 0
        self._ended = asyncio.Event()
        self._idle = asyncio.Event()  # the agent has finished its turn and waits for the caller
        self._hangup_after_reply = False
        self._final_status = "completed"

        # Audio/VAD state (touched per frame: plain attributes only).
        self._speech_onset: float | None = None
        self._last_speech_at: float | None = None
        self._turn_speech_ms = 0
        self._caller_segments: list[str] = []
        self._awaiting_final = False
        self._finalize_at: float | None = None
        # Playback clock of the agent's audio.
        self._play_start = 0.0
        self._sent_ms = 0.0
        self._pending_marks: dict[str, tuple[int, int]] = {}  # name -> (reply index, sentence index)
        self._mark_seq = 0
        self._idle_since: float | None = None
        self._reprompts = 0

        # Figures for benchmarks and tests.
        self.stats: dict[str, list[float]] = {"barge_in_ms": [], "greeting_ms": []}

    # ------------------------------------------------------------------ lifecycle
    async def run(self, *, started_at: float | None = None) -> None:
        """Greet, then serve the call until it ends. Returns after the call is finalised."""
        t_start = started_at if started_at is not None else self._loop.time()
        writer = asyncio.ensure_future(self._writer())
        try:
            if self._stt_provider is not None and self.transport.carries_audio:
                self._stt = self._stt_provider.open_stream(on_transcript=self._on_transcript, hints=self._stt_hints)
                await self._stt.start()
            self._start_reply(self._guarded(self.brain.greet(self.ctx)), t0=t_start, kind="greeting")
            await self._event_loop()
        finally:
            await self._shutdown()
            self._writes.put_nowait(None)
            await writer

    async def _event_loop(self) -> None:
        while not self._ended.is_set():
            timeout = self._watchdog_timeout()
            try:
                event = await asyncio.wait_for(self._events.get(), timeout)
            except TimeoutError:
                await self._on_silence_timeout()
                continue
            kind = event[0]
            if kind == "caller_text":
                await self._on_caller_turn(event[1], t_end=event[2], stt_wait_ms=event[3] if len(event) > 3 else 0.0)
            elif kind == "dtmf":
                await self._on_dtmf(event[1])
            elif kind == "barge_in":
                await self._barge_in(event[1])
            elif kind == "reply_done":
                await self._after_reply(event[1])
            elif kind == "stop":
                self._final_status = event[1]
                self._ended.set()

    def _watchdog_timeout(self) -> float | None:
        if self._idle_since is None or self._caller_speaking() or not self.transport.carries_audio:
            return None
        return max(0.0, self._idle_since + self.config.reprompt_after_s - self._loop.time())

    async def _shutdown(self) -> None:
        reply = self._reply
        if reply is not None and not reply.spoken_text and not reply.interrupted and reply.sentences:
            # The caller hung up while the agent spoke: keep what they heard.
            reply.interrupted = True
            heard_ms = reply.audio_ms - max(0.0, self._unplayed_ms())
            reply.spoken_text = (
                self._heard_text(reply, heard_ms) if self.transport.carries_audio else " ".join(reply.sentences)
            )
            self._record_agent_turn(reply)
        if self._reply_task and not self._reply_task.done():
            self._reply_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reply_task
        for task in list(self._tasks):
            if task is not asyncio.current_task() and not task.done():
                task.cancel()
        if self._stt is not None:
            with contextlib.suppress(Exception):
                await self._stt.close()
        if self.tts is not None:
            with contextlib.suppress(Exception):
                await self.tts.close()
        if self._record:
            outcome = self.ctx.outcome or ("abandoned" if self._final_status != "failed" else "failed")
            self._writes.put_nowait(("finish", self._final_status, outcome, self.ctx.summary))

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def wait_ended(self) -> None:
        await self._ended.wait()

    async def wait_idle(self) -> None:
        """Until the agent has finished its turn and waits for the caller, or the call ended."""
        idle = asyncio.ensure_future(self._idle.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        await asyncio.wait({idle, ended}, return_when=asyncio.FIRST_COMPLETED)
        idle.cancel()
        ended.cancel()

    # ------------------------------------------------------------------ inbound, from the transport
    def on_audio(self, ulaw: bytes) -> None:
        """One inbound audio frame (usually 20 ms). Cheap: VAD + queue append."""
        if self._ended.is_set():
            return
        if self._stt is not None:
            self._stt.send_audio(ulaw)
        vad = self._vad
        if vad is None:
            return
        events = vad.feed(ulaw)
        now = self._loop.time()
        if vad.last_is_speech:
            if self._last_speech_at is None or vad.speech_ms <= FRAME_MS:
                self._speech_onset = now - FRAME_MS / 1000
            self._last_speech_at = now
        for event in events:
            if event.kind == SPEECH_STARTED:
                self._idle_since = None
                self._reprompts = 0
            else:  # speech ended: silence is counted in audio time, so a stalled network ends no turn
                self._turn_speech_ms = event.speech_ms
                self._awaiting_final = True
                if self._stt is not None:
                    self._finalize_at = now
                    self._spawn(self._stt.finalize())
        if vad.speech_ms >= self.config.barge_in_ms and self._agent_audible():
            self._events.put_nowait(("barge_in", self._speech_onset))

    def _caller_speaking(self) -> bool:
        return self._vad is not None and self._vad.in_speech

    def on_text(self, text: str) -> None:
        """A caller turn as text (simulator), bypassing speech recognition."""
        if not self._ended.is_set():
            self._events.put_nowait(("caller_text", text, asyncio.get_running_loop().time()))

    def on_mark(self, name: str) -> None:
        entry = self._pending_marks.pop(name, None)
        if entry is None:
            return
        reply_index, sentence_index = entry
        reply = self._reply
        if reply is not None and reply.index == reply_index and not reply.interrupted:
            reply.played_marks.add(sentence_index)
            self._maybe_finish_playback()

    def on_dtmf(self, digit: str) -> None:
        self._events.put_nowait(("dtmf", digit))

    def on_stop(self, status: str = "completed") -> None:
        """The far end hung up (Twilio `stop`, socket closed)."""
        self._events.put_nowait(("stop", status))

    # ------------------------------------------------------------------ recognition
    def _on_transcript(self, transcript: Transcript) -> None:
        if self._ended.is_set():
            return
        if transcript.is_final and transcript.text.strip():
            self._caller_segments.append(transcript.text.strip())
        text = " ".join(self._caller_segments) if transcript.is_final else transcript.text
        if text:
            self._spawn(self.transport.send_transcript("caller", text, final=transcript.speech_final))
        if not (transcript.speech_final or (transcript.is_final and self._awaiting_final)):
            return
        full = " ".join(self._caller_segments).strip()
        self._caller_segments = []
        self._awaiting_final = False
        speech_ms = self._turn_speech_ms
        self._turn_speech_ms = 0
        now = self._loop.time()
        t_end = self._last_speech_at if self._last_speech_at is not None else now
        stt_wait_ms = (now - self._finalize_at) * 1000 if self._finalize_at is not None else 0.0
        self._finalize_at = None
        if full:
            self._events.put_nowait(("caller_text", full, t_end, stt_wait_ms))
        elif speech_ms >= 400 and not self._agent_busy():
            self._events.put_nowait(("caller_text", "", t_end, stt_wait_ms))

    # ------------------------------------------------------------------ dialogue
    async def _on_caller_turn(self, text: str, *, t_end: float, stt_wait_ms: float = 0.0) -> None:
        now = self._loop.time()
        self._idle_since = None
        self._reprompts = 0
        if self._agent_audible():
            # Speech that finished while the agent kept talking was too short to barge in: a backchannel.
            log.info("call %s: ignoring backchannel %r while agent speaks", self.ctx.call_id, text)
            return
        if self._reply_task is not None and not self._reply_task.done():
            await self._wait_reply()
        index = self._next_index()
        self._queue_turn(index, "caller", text or "(unintelligible)", started_at=_utcnow())
        if not text:
            self._not_caught += 1
            if self._not_caught >= MAX_NOT_CAUGHT:
                # Recognition keeps failing (a bad line, or the recogniser itself): a person can help.
                self.ctx.transfer_requested = True
                self.ctx.transfer_reason = "caller could not be understood"
                self._start_reply(_one(TRANSFER_TEXT), t0=t_end, kind="transfer")
                return
            self._start_reply(_one(NOT_CAUGHT_TEXT), t0=t_end, kind="not_caught")
            return
        self._not_caught = 0
        stt_ms = int((now - t_end) * 1000)
        self._start_reply(
            self._guarded(self.brain.respond(self.ctx, text)), t0=t_end, stt_ms=stt_ms, provider_ms=stt_wait_ms
        )

    async def _on_dtmf(self, digit: str) -> None:
        log.info("call %s: DTMF %s", self.ctx.call_id, digit)
        if digit == "0":
            await self._interrupt_agent()
            self.ctx.transfer_requested = True
            self.ctx.transfer_reason = "caller pressed 0"
            self._start_reply(_one(TRANSFER_TEXT), t0=self._loop.time(), kind="transfer")

    async def _on_silence_timeout(self) -> None:
        self._idle_since = None
        if self._reprompts >= self.config.max_reprompts:
            self.ctx.outcome = self.ctx.outcome or "abandoned"
            self.ctx.note("caller went silent")
            self.ctx.end_requested = True
            self._start_reply(_one(SILENCE_GOODBYE_TEXT), t0=self._loop.time(), kind="silence_goodbye")
            return
        self._reprompts += 1
        self._start_reply(_one(REPROMPT_TEXT), t0=self._loop.time(), kind="reprompt")

    async def _after_reply(self, reply: _Reply) -> None:
        if reply is not self._reply:
            return
        if self.ctx.transfer_requested:
            await self._transfer()
            return
        if self.ctx.end_requested:
            await self._hangup()
            return
        self._idle_since = self._loop.time()
        self._idle.set()

    async def _transfer(self) -> None:
        self.ctx.set_outcome("transferred")
        self.ctx.note(f"transferred to advisor ({self.ctx.transfer_reason or 'requested'})")
        moved = await self.transport.transfer(self.advisor_number) if self.advisor_number else False
        if moved:
            self._final_status = "completed"
            self._ended.set()
            return
        self.ctx.end_requested = True
        self.ctx.transfer_requested = False
        if self._tts_failed:
            self._final_status = "failed"
            await self._hangup()
            return
        self._start_reply(_one(TRANSFER_UNAVAILABLE_TEXT), t0=self._loop.time(), kind="transfer_fallback")

    async def _hangup(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.hangup()
        self._ended.set()

    # ------------------------------------------------------------------ speaking
    def _start_reply(
        self,
        pieces: AsyncIterator[str],
        *,
        t0: float,
        kind: str = "reply",
        stt_ms: int | None = None,
        provider_ms: float = 0.0,
    ):
        reply = _Reply(index=self._next_index(), started_at=_utcnow(), t0=t0, kind=kind, provider_ms=provider_ms)
        if stt_ms is not None:
            reply.latency["stt_ms"] = stt_ms
        self._reply = reply
        self._idle_since = None
        self._idle.clear()
        self._reply_task = self._spawn(self._speak(reply, pieces))

    async def _speak(self, reply: _Reply, pieces: AsyncIterator[str]) -> None:
        buffer = SentenceBuffer()
        asked_at = self._loop.time()
        try:
            async for piece in pieces:
                if "llm_first_ms" not in reply.latency:
                    reply.latency["llm_first_ms"] = self._ms_since(reply.t0)
                    reply.provider_ms += (self._loop.time() - asked_at) * 1000
                for sentence in buffer.push(piece):
                    await self._say(reply, sentence)
            for sentence in buffer.flush():
                await self._say(reply, sentence)
            reply.producing_done = True
            if not self.transport.carries_audio or not reply.timeline:
                self._finish_reply(reply)
                return
            self._maybe_finish_playback()
            # Marks normally end the turn; if the far end never echoes them, the play clock does.
            unplayed_s = max(0.0, self._sent_ms / 1000 - (self._loop.time() - self._play_start))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reply.finished.wait(), unplayed_s + MARK_GRACE_S)
            if not reply.spoken_text and not reply.interrupted:
                log.warning("call %s: marks not echoed, ending agent turn by the clock", self.ctx.call_id)
                self._finish_reply(reply)
        except asyncio.CancelledError:
            raise
        finally:
            with contextlib.suppress(Exception):
                await pieces.aclose()

    async def _say(self, reply: _Reply, sentence: str) -> None:
        sentence_index = len(reply.sentences)
        reply.sentences.append(sentence)
        await self.transport.send_transcript("agent", sentence, final=True)
        if not self.transport.carries_audio or self.tts is None:
            return
        start_ms = reply.audio_ms
        chunk_bytes = self.config.send_chunk_ms * BYTES_PER_MS
        pending = b""
        asked_at = self._loop.time()
        try:
            async for audio in self.tts.synthesize(sentence):
                if "tts_first_ms" not in reply.latency:
                    reply.latency["tts_first_ms"] = self._ms_since(reply.t0)
                    reply.provider_ms += (self._loop.time() - asked_at) * 1000
                pending += audio
                while len(pending) >= chunk_bytes:
                    await self._send_paced(reply, pending[:chunk_bytes])
                    pending = pending[chunk_bytes:]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: speech synthesis failed", self.ctx.call_id)
            if self._fallback_tts is not None and self.tts is not self._fallback_tts and start_ms == reply.audio_ms:
                self.tts = self._fallback_tts  # speak on with the offline voice rather than go quiet
                reply.sentences.pop()
                await self._say(reply, sentence)
                return
            # No voice left: hand the caller to a person (or end the call) instead of leaving them in silence.
            self._tts_failed = True
            self.ctx.transfer_requested = True
            self.ctx.transfer_reason = "speech synthesis failed"
        if pending:
            await self._send_paced(reply, pending)
        reply.timeline.append((sentence_index, start_ms, reply.audio_ms - start_ms))
        self._mark_seq += 1
        name = f"r{reply.index}s{sentence_index}m{self._mark_seq}"
        self._pending_marks[name] = (reply.index, sentence_index)
        await self.transport.send_mark(name)

    async def _send_paced(self, reply: _Reply, audio: bytes) -> None:
        ahead = self._unplayed_ms()
        if ahead > self.config.playback_lead_ms:
            await asyncio.sleep((ahead - self.config.playback_lead_ms) / 1000)
        if self._unplayed_ms() <= 0:
            # The caller's buffer ran dry (or this is the first audio): playback restarts now.
            self._play_start = self._loop.time()
            self._sent_ms = 0.0
        await self.transport.send_audio(audio)
        if "first_audio_ms" not in reply.latency:
            reply.latency["first_audio_ms"] = self._ms_since(reply.t0)
            if reply.kind == "greeting":
                self.stats["greeting_ms"].append(reply.latency["first_audio_ms"])
        self._sent_ms += len(audio) / BYTES_PER_MS
        reply.audio_ms += len(audio) / BYTES_PER_MS

    def _unplayed_ms(self) -> float:
        """Audio sent but not yet played, by the play clock."""
        return self._sent_ms - (self._loop.time() - self._play_start) * 1000

    def _agent_audible(self) -> bool:
        """Agent audio sent and (by the play clock or pending marks) not yet fully played."""
        if not self.transport.carries_audio or self._reply is None or self._reply.interrupted:
            return False
        if self._reply.spoken_text or self._sent_ms <= 0:
            return False
        grace_ms = MARK_GRACE_S * 1000 if self._pending_marks else 0
        return self._unplayed_ms() > -grace_ms

    def _agent_busy(self) -> bool:
        return self._reply_task is not None and not self._reply_task.done()

    def _maybe_finish_playback(self) -> None:
        reply = self._reply
        if reply is None or not reply.producing_done or reply.interrupted:
            return
        if len(reply.played_marks) >= len(reply.timeline):
            self._finish_reply(reply)

    def _finish_reply(self, reply: _Reply) -> None:
        if reply.spoken_text or reply.interrupted:
            return
        reply.spoken_text = " ".join(reply.sentences)
        reply.finished.set()
        self._sent_ms = 0.0
        self._record_agent_turn(reply)
        self._events.put_nowait(("reply_done", reply))

    async def _wait_reply(self) -> None:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reply_task

    async def _barge_in(self, onset: float | None) -> None:
        if not self._agent_audible():
            return
        await self._interrupt_agent()
        if onset is not None:
            self.stats["barge_in_ms"].append(self._ms_since(onset))

    async def _interrupt_agent(self) -> None:
        reply = self._reply
        if reply is None or reply.interrupted or reply.spoken_text:
            return
        heard_ms = reply.audio_ms - max(0.0, self._unplayed_ms())
        reply.interrupted = True
        await self.transport.send_clear()
        # Marks of the cleared audio come back at once after a clear: they prove nothing.
        self._pending_marks.clear()
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()
        reply.spoken_text = self._heard_text(reply, heard_ms)
        self._sent_ms = 0.0
        self._record_agent_turn(reply)
        with contextlib.suppress(Exception):
            self.brain.interrupted(self.ctx, reply.spoken_text)
        log.info("call %s: barge-in, agent heard up to %r", self.ctx.call_id, reply.spoken_text[-60:])

    def _heard_text(self, reply: _Reply, heard_ms: float) -> str:
        heard: list[str] = []
        for sentence_index, start_ms, duration_ms in reply.timeline:
            text = reply.sentences[sentence_index]
            if sentence_index in reply.played_marks or heard_ms >= start_ms + duration_ms:
                heard.append(text)
            elif heard_ms > start_ms and duration_ms > 0:
                heard.append(cut_to_fraction(text, (heard_ms - start_ms) / duration_ms))
                break
            else:
                break
        else:
            # The sentence being sent when the caller spoke has no timeline entry yet.
            if len(reply.sentences) > len(reply.timeline):
                start_ms = reply.timeline[-1][1] + reply.timeline[-1][2] if reply.timeline else 0.0
                if heard_ms > start_ms and reply.audio_ms > start_ms:
                    fraction = (heard_ms - start_ms) / (reply.audio_ms - start_ms) * 0.5
                    heard.append(cut_to_fraction(reply.sentences[len(reply.timeline)], fraction))
        return " ".join(h for h in heard if h).strip()

    # ------------------------------------------------------------------ brain failure
    async def _guarded(self, pieces: AsyncIterator[str]) -> AsyncIterator[str]:
        """A provider failure never drops the call silently: apologise and hand over to a human."""
        try:
            async for piece in pieces:
                yield piece
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("call %s: brain failed", self.ctx.call_id)
            self.ctx.transfer_requested = True
            self.ctx.transfer_reason = "agent error"
            yield " " + FAILURE_TEXT

    # ------------------------------------------------------------------ recording
    def _next_index(self) -> int:
        index = self._turn_index
        self._turn_index += 1
        self.ctx.turn_index = index  # tool calls made now belong to this turn
        return index

    def _ms_since(self, t0: float) -> int:
        return max(0, int((self._loop.time() - t0) * 1000))

    def _record_agent_turn(self, reply: _Reply) -> None:
        text = reply.spoken_text or ""
        if not text and not reply.interrupted:
            return
        self._queue_turn(
            reply.index,
            "agent",
            text or "(interrupted before speaking)",
            started_at=reply.started_at,
            ended_at=_utcnow(),
            interrupted=reply.interrupted,
            provider_ms=round(reply.provider_ms) if "first_audio_ms" in reply.latency else None,
            **reply.latency,
        )

    def _queue_turn(self, index: int, role: str, text: str, **fields) -> None:
        if self._record:
            self._writes.put_nowait(
                ("turn", dict(call_id=self.ctx.call_id, index=index, role=role, text=text, **fields))
            )

    async def _writer(self) -> None:
        """Database writes of one call, in order, off the event loop; None ends it."""
        while (item := await self._writes.get()) is not None:
            await self._write(item)

    async def _write(self, item) -> None:
        from calls import services

        try:
            if item[0] == "turn":
                await in_db_thread(services.record_turn, **item[1])
            elif item[0] == "finish":
                _, status, outcome, summary = item
                await in_db_thread(
                    services.finish_call, call_id=self.ctx.call_id, status=status, outcome=outcome, summary=summary
                )
        except Exception:
            log.exception("call %s: could not write %s", self.ctx.call_id, item[0])


async def _one(text: str) -> AsyncIterator[str]:
    yield text


def _utcnow() -> datetime:
    return datetime.now(UTC)
