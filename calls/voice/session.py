"""One phone call: listen, think, speak. Independent of the transport that carries it.

Per-frame work (`on_audio`) is kept to a voice-activity check and a queue append; everything slower
(recognition, the brain and its tools, synthesis, database writes) runs in tasks and threads, so
hundreds of calls share one event loop. The event loop of a session never waits for the agent to
finish speaking: it only reacts to events (caller text, marks, DTMF, barge-in, hang-up, timers).

Turn-taking:
- the caller's turn ends on the recogniser's final result, or when our VAD has heard
  `endpoint_silence_ms` of silence after speech (then we ask the recogniser to finalise);
- what the caller says while the agent is still working on a reply is kept and answered next;
- barge-in: `barge_in_ms` of caller speech while agent audio is playing stops the agent, sends
  `clear`, and cuts the agent's turn to what had been played (tracked with marks and the play clock);
  shorter sounds over the agent's audio ("uh-huh", a cough) are backchannels and change nothing;
- when neither side has spoken for `reprompt_after_s`, the agent asks "Are you still there?";
  after `max_reprompts` unanswered prompts it says goodbye and hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings

from bartsvoice import metrics
from bartsvoice.db import in_db_thread
from calls.agent.actions import Action, EndCall, ReplyPiece, Transfer, record_action
from calls.agent.base import Brain
from calls.agent.context import CallContext
from calls.live import LiveFeed
from calls.recording_consent import RECORDING_DECLINED_ACK, RECORDING_DECLINED_TEXT, declined_request, recording_notice
from calls.usage import LLM_INPUT, LLM_OUTPUT, STT, TTS, CallUsage
from calls.voice.anticipation import Anticipator
from calls.voice.providers.base import STTProvider, STTStream, Transcript, TTSProvider
from calls.voice.recorder import StreamRecorder, save_recording
from calls.voice.synthesis import SentenceQueue, Synthesis
from calls.voice.text import SentenceBuffer, cut_to_fraction
from calls.voice.transports.base import Transport, TransportClosed
from calls.voice.vad import SPEECH_STARTED, SpeechDetector

log = logging.getLogger(__name__)

FRAME_MS = 20
BYTES_PER_MS = 8  # µ-law at 8 kHz
MARK_GRACE_S = 2.0  # how long past the play clock we wait for marks before trusting the clock
MAX_NOT_CAUGHT = 3  # unintelligible turns in a row before a person takes over
FLUSH_SENTENCE_S = 0.15  # a finished sentence is spoken if the brain pauses (e.g. for a tool) this long
FINAL_WAIT_S = 3.0  # a finalize that never answers stops holding the silence timer after this
LAST_WORDS_S = 1.0  # at hang-up, how long we wait for the recogniser's last words
MAX_FAILED_REPLIES = 2  # replies that crash before the call is ended as failed


@dataclass(frozen=True)
class SessionConfig:
    endpoint_silence_ms: int = 600
    barge_in_ms: int = 250
    reprompt_after_s: float = 8.0
    max_reprompts: int = 2
    send_chunk_ms: int = 100  # audio per outbound message
    playback_lead_ms: int = 300  # how far ahead of the play clock we send
    brain_first_piece_s: float = 10.0  # a brain silent this long has failed: the caller hears an apology
    brain_next_piece_s: float = 20.0

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
CALLBACK_TEXT = (
    "No advisor can take the call right now, so I've asked one to call you back at this number "
    "as soon as possible. Thanks for calling, goodbye!"
)
FAILURE_TEXT = "I'm sorry, I'm having trouble on my end. Let me get you to a service advisor."

_PLAYER_STOPPED = object()  # on a reply's brain queue: speaking failed, stop taking pieces

# Replies written by the brain (it keeps their text in its history); the rest are the session's own.
BRAIN_KINDS = ("greeting", "reply")


@dataclass
class _Reply:
    """The agent turn being produced and played."""

    index: int
    started_at: datetime
    t0: float  # end of the caller's speech (or the `start` frame, for the greeting)
    kind: str = "reply"
    sentences: list[str] = field(default_factory=list)
    # (sentence index, start ms, duration ms) on the play timeline of this reply
    timeline: list[tuple[int, float, float]] = field(default_factory=list)
    played_marks: set[int] = field(default_factory=set)
    mark_names: set[str] = field(default_factory=set)
    latency: dict[str, int] = field(default_factory=dict)
    audio_ms: float = 0.0  # audio of this reply sent so far
    first_audio_at: float | None = None  # loop time of its first audio
    provider_ms: float = 0.0  # time spent waiting on STT, brain and TTS before the first audio
    producing_done: bool = False
    interrupted: bool = False
    spoken_text: str = ""
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # played out (or cut) and recorded


@dataclass
class _CallerTurn:
    text: str
    t_end: float  # loop time the caller stopped speaking
    stt_wait_ms: float = 0.0
    onset: float | None = None  # loop time the caller started speaking
    speech_ms: int = 0


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
        record_audio: bool | None = None,
        stt_hints: tuple[str, ...] = (),
    ):
        self.transport = transport
        self.ctx = ctx
        self.brain = brain
        self.config = config or SessionConfig.from_settings()
        self.tts = tts
        self._fallback_tts = fallback_tts
        self._spent_tts: list[TTSProvider] = []
        self._tts_failed = False
        self._stt_provider = stt
        self._stt: STTStream | None = None
        self._stt_hints = stt_hints
        self._vad = vad
        # The brain starts on stable interim words (preemptive replies).
        self._anticipator = Anticipator(brain, ctx, enabled=settings.VOICE_ANTICIPATE)
        self.advisor_number = settings.SHOP_ADVISOR_NUMBER if advisor_number is None else advisor_number
        self._record = record and ctx.call_id is not None
        # What this call uses of each paid service (stored with its cost at the end: calls.usage).
        self.usage = CallUsage()
        self._stt_bytes = 0

        # Our own recording of the call (RECORD_CALLS): announced first, dropped if the caller declines.
        record_audio = settings.RECORD_CALLS if record_audio is None else record_audio
        self.recorder: StreamRecorder | None = None

        self._loop = asyncio.get_running_loop()  # sessions are made inside the loop that serves the call
        self._events: asyncio.Queue = asyncio.Queue()
        self._writes: asyncio.Queue = asyncio.Queue()
        self._tasks: set[asyncio.Task] = set()
        self._reply: _Reply | None = None
        self._reply_task: asyncio.Task | None = None
        self._waiting_turns: list[_CallerTurn] = []  # said while the agent was busy: answered next
        self._turn_index = 0
        self._ended = asyncio.Event()
        self._idle = asyncio.Event()  # the agent has finished its turn and waits for the caller
        self._final_status = "completed"
        self._closing = False
        self._last_words = asyncio.Event()
        self._not_caught = 0
        self._failed_replies = 0
        self._transferring = False
        # What the call does once the current reply has been spoken: hand over, or hang up. The session alone
        # acts on the call; brains ask for it with a Transfer or EndCall among their reply's pieces.
        self._action: Action | None = None
        self.callback_requested = False

        # Audio/VAD state (touched per frame: plain attributes only).
        self._utterance_onset: float | None = None
        self._speech_onset: float | None = None  # start of the current run of speech (barge-in)
        self._last_speech_at: float | None = None
        self._last_speech_end_s: float | None = None  # the same moment in the recogniser's audio time
        self._turn_speech_ms = 0
        self._caller_segments: list[str] = []
        self._awaiting_final = False
        # The recogniser ended a turn (speech_final) before our VAD heard the speech end: the empty final that
        # answers our finalize at the VAD's end is then no unintelligible turn.
        self._answered_in_speech = False
        self._finalize_at: float | None = None
        self._barge_queued = False
        # Playback clock of the agent's audio.
        self._play_start = 0.0
        self._sent_ms = 0.0
        self._pending_marks: dict[str, tuple[int, int]] = {}  # name -> (reply index, sentence index)
        self._mark_seq = 0
        # Silence watchdog: the last moment either side said something.
        self._last_activity = self._loop.time()
        self._reprompts = 0

        if record_audio and self._record and transport.carries_audio:
            self.recorder = StreamRecorder(started_at=self._loop.time())

        # Figures for benchmarks and tests.
        self.stats: dict[str, list[float]] = {"barge_in_ms": [], "greeting_ms": []}

    # ------------------------------------------------------------------ lifecycle
    async def run(self, *, started_at: float | None = None) -> None:
        """Greet, then serve the call until it ends. Returns after the call is finalised."""
        t_start = started_at if started_at is not None else self._loop.time()
        writer = asyncio.ensure_future(self._writer())
        try:
            if self.tts is not None and self.transport.carries_audio:
                self._spawn(self._prepare_tts(self.tts))  # a cloud voice connects while the greeting is prepared
            await self._open_recognition()
            greeting = self.brain.greet(self.ctx)
            if self.recorder is not None:
                greeting = _then(recording_notice(), greeting)
                if settings.TWILIO_RECORD_CALLS:
                    self._spawn(self.transport.start_recording())
            self._start_reply(greeting, t0=t_start, kind="greeting")
            await self._event_loop()
        except Exception:
            log.exception("call %s: session failed", self.ctx.call_id)
            self._final_status = "failed"
        finally:
            self._ended.set()
            await self._shutdown()
            self._writes.put_nowait(None)
            await writer

    async def _open_recognition(self) -> None:
        if self._stt_provider is None or not self.transport.carries_audio:
            return
        try:
            stream = self._stt_provider.open_stream(on_transcript=self._on_transcript, hints=self._stt_hints)
            await stream.start()
        except Exception:
            # Without recognition every turn comes out unintelligible, and that path hands over to a person.
            log.exception("call %s: speech recognition unavailable", self.ctx.call_id)
            self.ctx.note("speech recognition unavailable")
            return
        self._stt = stream

    async def _prepare_tts(self, tts: TTSProvider) -> None:
        try:
            await tts.prepare()
        except Exception as exc:  # noqa: BLE001 - the first sentence meets the same failure and switches to the offline voice
            log.warning("call %s: %s voice not ready: %s", self.ctx.call_id, tts.name, exc)

    async def _event_loop(self) -> None:
        while not self._ended.is_set():
            try:
                event = await asyncio.wait_for(self._events.get(), self._watchdog_timeout())
            except TimeoutError:
                self._check_silence()
                continue
            kind = event[0]
            if kind == "caller":
                self._on_caller_turn(event[1])
            elif kind == "dtmf":
                self._on_dtmf(event[1])
            elif kind == "barge_in":
                self._barge_queued = False
                self._barge_in()
            elif kind == "reply_done":
                await self._after_reply(event[1])
            elif kind == "transfer":
                await self._transfer()
            elif kind == "stop":
                await self._hear_last_words()
                self._final_status = event[1]
                self._ended.set()

    async def _shutdown(self) -> None:
        self._anticipator.drop()
        reply = self._reply
        if reply is not None and not reply.spoken_text and not reply.interrupted and reply.sentences:
            # The caller hung up while the agent spoke: keep what they heard.
            reply.interrupted = True
            reply.spoken_text = self._heard_text(reply) if self.transport.carries_audio else " ".join(reply.sentences)
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
        for tts in {id(t): t for t in (self.tts, self._fallback_tts, *self._spent_tts) if t is not None}.values():
            with contextlib.suppress(Exception):
                await tts.close()
        if self._record:
            outcome = self.ctx.outcome or ("failed" if self._final_status == "failed" else "abandoned")
            self._writes.put_nowait(("finish", self._final_status, outcome, self.ctx.summary, self.callback_requested))
            self._writes.put_nowait(("usage", self._metered_usage()))
            if self.recorder is not None and not self.recorder.empty:
                self.recorder.cut_agent(self._loop.time())  # a hang-up drops what the phone had not played
                self._writes.put_nowait(("recording", self.recorder))

    def _metered_usage(self) -> CallUsage:
        """Add up what the providers were sent (TTS characters are counted as sentences go out)."""
        if self._stt is not None and self._stt_provider is not None:
            by_provider = self._stt.audio_seconds_by_provider()
            if by_provider is None:
                by_provider = {self._stt_provider.name: self._stt_bytes / BYTES_PER_MS / 1000}
            for name, seconds in by_provider.items():
                self.usage.add(STT, name, seconds)
        tokens_in, tokens_out = self.brain.token_usage()
        self.usage.add(LLM_INPUT, self.brain.name, tokens_in)
        self.usage.add(LLM_OUTPUT, self.brain.name, tokens_out)
        return self.usage

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, TransportClosed):
            self.on_stop("completed")  # a clear or transcript that found the caller gone
        elif exc is not None:
            log.error("call %s: background task failed", self.ctx.call_id, exc_info=exc)

    @property
    def anticipations(self) -> dict[str, int]:
        """Replies started on interim words: started, used (the final words matched), discarded."""
        return self._anticipator.counts

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
        if self.recorder is not None:
            self.recorder.caller(ulaw, self._loop.time())
        vad = self._vad
        events = vad.feed(ulaw) if vad is not None else ()
        if self._stt is not None:
            self._stt_bytes += len(ulaw)
            # A pause in the caller's speech may be the end of their turn: those frames go to the recogniser at
            # once. The rest (speech, or nobody speaking) may wait a few frames and go together.
            self._stt.batchable = vad is not None and (vad.last_is_speech or not vad.in_speech)
            self._stt.send_audio(ulaw)
        if vad is None:
            return
        now = self._loop.time()
        if vad.last_is_speech:
            if vad.speech_ms <= FRAME_MS:
                self._speech_onset = now - FRAME_MS / 1000
            self._last_speech_at = now
            self._last_speech_end_s = self._stt_bytes / (BYTES_PER_MS * 1000)
            self._last_activity = now
        elif self._anticipator.pending and not self._agent_busy():
            self._anticipator.paused(now, self._last_speech_at, self._last_speech_end_s)
        for event in events:
            if event.kind == SPEECH_STARTED:
                self._utterance_onset = now - event.speech_ms / 1000
                self._reprompts = 0
                self._answered_in_speech = False
                if self._awaiting_final and self._finalize_at is not None and now - self._finalize_at > FINAL_WAIT_S:
                    # The recogniser never answered that finalize: don't let its late final end this new turn.
                    self._awaiting_final = False
            else:  # speech ended: silence is counted in audio time, so a stalled network ends no turn
                self._turn_speech_ms = event.speech_ms
                self._awaiting_final = True
                self._finalize_at = now
                if self._stt is not None:
                    self._spawn(self._stt.finalize())
                else:  # nothing to recognise with: an unintelligible turn
                    self._end_caller_turn("", now)
        if vad.speech_ms >= self.config.barge_in_ms and not self._barge_queued and self._agent_audible():
            self._barge_queued = True
            self._events.put_nowait(("barge_in",))

    def on_text(self, text: str) -> None:
        """A caller turn as text (simulator), bypassing speech recognition."""
        if not self._ended.is_set():
            now = self._loop.time()
            self._last_activity = now
            self._events.put_nowait(("caller", _CallerTurn(text=text, t_end=now, onset=now)))

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
        if text and not self._closing:
            self._spawn(self.transport.send_transcript("caller", text, final=transcript.speech_final))
            if not transcript.speech_final and not self._agent_busy():
                words = self._caller_segments if transcript.is_final else [*self._caller_segments, text]
                self._anticipate(" ".join(words), transcript.audio_end_s)
        if transcript.speech_final or (transcript.is_final and self._awaiting_final):
            self._end_caller_turn(" ".join(self._caller_segments).strip(), self._loop.time())

    def _anticipate(self, words: str, audio_end_s: float | None) -> None:
        """The caller's words so far (not yet the end of their turn): the brain may start on them if they pause."""
        now = self._loop.time()
        self._anticipator.heard(words, now, audio_end_s)
        if self._vad is not None and not self._vad.last_is_speech:
            self._anticipator.paused(now, self._last_speech_at, self._last_speech_end_s)

    def _end_caller_turn(self, text: str, now: float) -> None:
        self._caller_segments = []
        self._awaiting_final = False
        speech_ms, self._turn_speech_ms = self._turn_speech_ms, 0
        t_end = self._last_speech_at if self._last_speech_at is not None else now
        stt_wait_ms = (now - self._finalize_at) * 1000 if self._finalize_at is not None else 0.0
        self._finalize_at = None
        turn = _CallerTurn(text, t_end, stt_wait_ms, self._utterance_onset, speech_ms)
        self._utterance_onset = None
        if self._closing:
            self._anticipator.drop()
            if text:  # the caller's last words before hanging up: on record, not answered
                self._record_caller_turn(turn)
            self._last_words.set()
            return
        if text and self._vad is not None and self._vad.in_speech:
            self._answered_in_speech = True
        elif not text and self._answered_in_speech:
            self._answered_in_speech = False
            return
        if text or speech_ms >= 400:
            self._events.put_nowait(("caller", turn))
        else:
            self._anticipator.drop()

    async def _hear_last_words(self) -> None:
        """At hang-up, give the recogniser a moment to finish what the caller was saying."""
        if self._stt is None:
            return
        mid_turn = (self._vad is not None and self._vad.in_speech) or self._awaiting_final or self._caller_segments
        if not mid_turn:
            return
        self._closing = True
        if not self._awaiting_final:
            self._awaiting_final = True
            self._finalize_at = self._loop.time()
            with contextlib.suppress(Exception):
                await self._stt.finalize()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._last_words.wait(), LAST_WORDS_S)

    # ------------------------------------------------------------------ dialogue
    def _on_caller_turn(self, turn: _CallerTurn) -> None:
        self._reprompts = 0
        self._last_activity = self._loop.time()
        reply = self._reply
        if (
            self.transport.carries_audio
            and reply is not None
            and reply.first_audio_at is not None
            and turn.onset is not None
            and turn.onset >= reply.first_audio_at
            and self._agent_audible()
        ):
            # Started over the agent's audio and too short to barge in: "uh-huh", a cough.
            log.info("call %s: backchannel %r while the agent speaks", self.ctx.call_id, turn.text)
            self._anticipator.drop()
            return
        if self._agent_busy():
            self._anticipator.drop()
            self._waiting_turns.append(turn)  # answered as soon as the agent's current reply is over
            return
        self._answer(turn)

    def _answer(self, turn: _CallerTurn) -> None:
        now = self._loop.time()
        self._record_caller_turn(turn)
        rest = declined_request(turn.text) if self.recorder is not None and not self.recorder.discarded else None
        if rest is not None:
            self._stop_recording()
            if not rest:
                self._start_reply(_one(RECORDING_DECLINED_TEXT), t0=turn.t_end, kind="recording_declined")
                return
            turn = _CallerTurn(rest, turn.t_end, turn.stt_wait_ms, turn.onset, turn.speech_ms)
        if not turn.text:
            self._anticipator.drop()
            self._not_caught += 1
            if self._not_caught >= MAX_NOT_CAUGHT:
                # Recognition keeps failing (a bad line, or the recogniser itself): a person can help.
                self._action = Transfer("caller could not be understood")
                self._start_reply(_one(TRANSFER_TEXT), t0=turn.t_end, kind="transfer")
            else:
                self._start_reply(_one(NOT_CAUGHT_TEXT), t0=turn.t_end, kind="not_caught")
            return
        self._not_caught = 0
        # The reply the brain started on the caller's interim words, if those were their final words.
        pieces = self._anticipator.reply_to(turn.text) or self.brain.respond(self.ctx, turn.text)
        self._start_reply(
            _then(RECORDING_DECLINED_ACK + " ", pieces) if rest else pieces,
            t0=turn.t_end,
            stt_ms=int((now - turn.t_end) * 1000),
            provider_ms=turn.stt_wait_ms,
        )

    def _stop_recording(self) -> None:
        """The caller declined the recording: nothing of it is kept, ours or the carrier's."""
        if self.recorder is None:
            return
        self.recorder.discard()
        self.ctx.note("caller declined recording: not recorded")
        if settings.TWILIO_RECORD_CALLS:
            self._spawn(self.transport.stop_recording())
        log.info("call %s: caller declined recording", self.ctx.call_id)

    def _on_dtmf(self, digit: str) -> None:
        log.info("call %s: DTMF %s", self.ctx.call_id, digit)
        if digit != "0" or self._transferring:
            return
        if self._reply is not None and self._reply.kind == "transfer" and not self._reply.spoken_text:
            return  # already saying it
        self._interrupt_agent()
        self._anticipator.drop()
        self._action = Transfer("caller pressed 0")
        self._start_reply(_one(TRANSFER_TEXT), t0=self._loop.time(), kind="transfer")

    # ------------------------------------------------------------------ silence
    def _waiting_for_caller(self, now: float) -> bool:
        if self._agent_busy() or self._agent_audible() or self._waiting_turns:
            return False
        if self._vad is not None and self._vad.in_speech:
            return False
        return not (self._awaiting_final and self._finalize_at is not None and now - self._finalize_at < FINAL_WAIT_S)

    def _watchdog_timeout(self) -> float | None:
        if not self.transport.carries_audio:
            return None
        now = self._loop.time()
        if not self._waiting_for_caller(now):
            return 0.5  # look again soon; cheap
        return max(0.01, self._last_activity + self.config.reprompt_after_s - now)

    def _check_silence(self) -> None:
        now = self._loop.time()
        if not self._waiting_for_caller(now) or now - self._last_activity < self.config.reprompt_after_s:
            return
        if self._reprompts >= self.config.max_reprompts:
            self.ctx.set_outcome(self.ctx.outcome or "abandoned")
            self.ctx.note("caller went silent")
            self._action = EndCall("caller went silent")
            self._start_reply(_one(SILENCE_GOODBYE_TEXT), t0=now, kind="silence_goodbye")
            return
        self._reprompts += 1
        self._start_reply(_one(REPROMPT_TEXT), t0=now, kind="reprompt")

    # ------------------------------------------------------------------ after the agent's turn
    async def _after_reply(self, reply: _Reply) -> None:
        if reply is not self._reply:
            return
        self._last_activity = self._loop.time()
        if isinstance(self._action, Transfer):
            await self._transfer()
            return
        if isinstance(self._action, EndCall):
            record_action(self.ctx, self._action)
            await self._hangup()
            return
        if self._waiting_turns:
            self._answer(self._merge_waiting())
            return
        self._idle.set()

    def _merge_waiting(self) -> _CallerTurn:
        turns, self._waiting_turns = self._waiting_turns, []
        text = " ".join(t.text for t in turns if t.text)
        return _CallerTurn(
            text, turns[-1].t_end, turns[-1].stt_wait_ms, turns[0].onset, sum(t.speech_ms for t in turns)
        )

    async def _transfer(self) -> None:
        if self._transferring:
            return
        self._transferring = True
        record_action(self.ctx, self._action)
        try:
            moved = await self.transport.transfer(self.advisor_number) if self.advisor_number else False
        except Exception:
            log.exception("call %s: transfer failed", self.ctx.call_id)
            moved = False
        if moved:
            self._ended.set()
            return
        # Nobody to put the caller through to: make sure somebody calls them back, and say so.
        self.callback_requested = True
        self.ctx.note("no advisor reachable: call-back requested")
        self._action = EndCall("call-back promised")
        if self._tts_failed:
            self._final_status = "failed"
            await self._hangup()
            return
        self._start_reply(_one(CALLBACK_TEXT), t0=self._loop.time(), kind="callback")

    async def _hangup(self) -> None:
        with contextlib.suppress(Exception):
            await self.transport.hangup()
        self._ended.set()

    # ------------------------------------------------------------------ speaking
    def _start_reply(
        self,
        pieces: AsyncIterator[ReplyPiece],
        *,
        t0: float,
        kind: str = "reply",
        stt_ms: int | None = None,
        provider_ms: float = 0.0,
    ) -> None:
        reply = _Reply(index=self._next_index(), started_at=_utcnow(), t0=t0, kind=kind, provider_ms=provider_ms)
        if stt_ms is not None:
            reply.latency["stt_ms"] = stt_ms
        self._reply = reply
        self._idle.clear()
        self._reply_task = self._spawn(self._speak(reply, pieces))

    async def _speak(self, reply: _Reply, pieces: AsyncIterator[ReplyPiece]) -> None:
        """Produce (brain, in its own task), synthesise (a sentence ahead) and speak (paced sending) one reply."""
        queue: asyncio.Queue = asyncio.Queue()
        producer = asyncio.ensure_future(self._produce(reply, pieces, queue))
        buffer = SentenceBuffer()
        lines = SentenceQueue(self._synthesis_of)
        player = asyncio.ensure_future(self._play(reply, lines, queue))
        try:
            while True:
                try:
                    piece = await asyncio.wait_for(queue.get(), FLUSH_SENTENCE_S if buffer.ready() else None)
                except TimeoutError:
                    # The brain paused (a tool call?) after a whole sentence: say it now.
                    for sentence in buffer.flush():
                        lines.put(sentence)
                    continue
                if piece is None or piece is _PLAYER_STOPPED:
                    break
                for sentence in buffer.push(piece):
                    lines.put(sentence)
            for sentence in buffer.flush():
                lines.put(sentence)
            lines.close()
            await player  # every sentence sent (or what stopped the player raised here)
            reply.producing_done = True
            if not self.transport.carries_audio or not reply.timeline:
                self._finish_reply(reply)
                return
            self._maybe_finish_playback()
            # Marks normally end the turn; if the far end never echoes them, the play clock does.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reply.finished.wait(), max(0.0, self._unplayed_ms() / 1000) + MARK_GRACE_S)
            if not reply.spoken_text and not reply.interrupted:
                log.warning("call %s: marks not echoed, ending agent turn by the clock", self.ctx.call_id)
                for name in reply.mark_names:
                    self._pending_marks.pop(name, None)
                self._finish_reply(reply)
        except asyncio.CancelledError:
            raise
        except TransportClosed:
            # The caller hung up while the agent spoke: that is a hang-up, not a failure to hand over.
            log.info("call %s: caller hung up while the agent was speaking", self.ctx.call_id)
            self.on_stop("completed")
        except Exception:
            # Whatever broke (TTS, a bug), the caller is not left in silence.
            log.exception("call %s: agent turn failed", self.ctx.call_id)
            self._failed_replies += 1
            if self._failed_replies >= MAX_FAILED_REPLIES or self._transferring:
                # Crashing again, or while handing over: nothing better to say, so end the call.
                self._final_status = "failed"
                self._events.put_nowait(("stop", "failed"))
                return
            if not isinstance(self._action, Transfer):
                self._action = Transfer("agent error")
            self._finish_reply(reply)
            # The caller hears why before the line goes quiet for the transfer.
            self._start_reply(_one(FAILURE_TEXT), t0=self._loop.time(), kind="failure")
        finally:
            player.cancel()
            lines.cancel()
            producer.cancel()

    async def _play(self, reply: _Reply, lines: SentenceQueue, brain_queue: asyncio.Queue) -> None:
        """Speak the reply's sentences in order; if speaking fails, the reply stops taking the brain's pieces."""
        try:
            while (line := await lines.next()) is not None:
                await self._say(reply, *line)
        except BaseException:
            brain_queue.put_nowait(_PLAYER_STOPPED)
            raise

    def _synthesis_of(self, sentence: str) -> Synthesis | None:
        if not self.transport.carries_audio or self.tts is None:
            return None
        return Synthesis(self.tts, sentence)

    async def _produce(self, reply: _Reply, pieces: AsyncIterator[ReplyPiece], queue: asyncio.Queue) -> None:
        """Pull the brain's pieces into `queue` (None ends it). A brain that fails or stalls gets an apology
        and a hand-over to a person: a provider failure never leaves the caller in silence."""
        asked_at = self._loop.time()
        timeout = self.config.brain_first_piece_s
        try:
            while True:
                try:
                    async with asyncio.timeout(timeout):  # per piece of the reply: no task each, as wait_for makes
                        piece = await anext(pieces)
                except StopAsyncIteration:
                    if reply.kind in BRAIN_KINDS:
                        self._listen_for_answer()
                    break
                if not isinstance(piece, str):
                    self._action = piece  # a Transfer or EndCall: acted on once the reply has been spoken
                    continue
                if "llm_first_ms" not in reply.latency:
                    reply.latency["llm_first_ms"] = self._ms_since(reply.t0)
                    reply.provider_ms += (self._loop.time() - asked_at) * 1000
                queue.put_nowait(piece)
                timeout = self.config.brain_next_piece_s
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = "stalled" if isinstance(exc, TimeoutError) else "failed"
            log.exception("call %s: brain %s", self.ctx.call_id, reason)
            metrics.provider_error("brain", self.brain.name)
            self._action = Transfer(f"agent {reason}")
            queue.put_nowait(" " + FAILURE_TEXT)
        finally:
            queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await pieces.aclose()

    def _listen_for_answer(self) -> None:
        """The brain has worked out its reply: tell the recogniser what that reply asks for. The stream applies it
        from the caller's next utterance on (one already under way, a barge-in, keeps its model)."""
        if self._stt is None:
            return
        try:
            hint = self.brain.listening_hint(self.ctx)
        except Exception:
            log.exception("call %s: listening hint failed", self.ctx.call_id)
            hint = None
        self._stt.expect(hint)

    async def _say(self, reply: _Reply, sentence: str, synthesis: Synthesis | None) -> None:
        sentence_index = len(reply.sentences)
        reply.sentences.append(sentence)
        await self.transport.send_transcript("agent", sentence, final=True)
        if synthesis is None:
            return
        start_ms = reply.audio_ms
        chunk = self.config.send_chunk_ms * BYTES_PER_MS
        pending = bytearray()
        failure: BaseException | None = None
        try:
            while True:
                # Only what the synthesiser raised is a synthesis failure; a send that finds the caller gone
                # raises TransportClosed from _send_paced below.
                audio = await synthesis.chunks.get()
                if audio is None:
                    break
                if isinstance(audio, BaseException):
                    failure = audio
                    break
                if "tts_first_ms" not in reply.latency and synthesis.first_audio_at is not None:
                    reply.latency["tts_first_ms"] = self._ms_since(reply.t0)
                    reply.provider_ms += (synthesis.first_audio_at - synthesis.asked_at) * 1000
                pending += audio
                if len(pending) >= chunk:
                    whole = len(pending) - len(pending) % chunk
                    for offset in range(0, whole, chunk):
                        await self._send_paced(reply, bytes(pending[offset : offset + chunk]))
                    del pending[:whole]
        finally:
            synthesis.cancel()  # a sentence abandoned half-way stops synthesising
            if synthesis.first_audio_at is not None:  # the voice took the text (one that broke first never got it)
                self.usage.add(TTS, synthesis.tts.name, len(sentence))
        if failure is not None:
            log.error("call %s: speech synthesis failed", self.ctx.call_id, exc_info=failure)
            if self._voice_after_failure(synthesis.tts, spoke=reply.audio_ms > start_ms):
                reply.sentences.pop()
                await self._say(reply, sentence, self._synthesis_of(sentence))
                return
        if pending:
            await self._send_paced(reply, bytes(pending))
        if reply.audio_ms == start_ms:
            return  # nothing was said: no mark to wait for
        reply.timeline.append((sentence_index, start_ms, reply.audio_ms - start_ms))
        self._mark_seq += 1
        name = f"r{reply.index}s{sentence_index}m{self._mark_seq}"
        self._pending_marks[name] = (reply.index, sentence_index)
        reply.mark_names.add(name)
        await self.transport.send_mark(name)

    def _voice_after_failure(self, failed: TTSProvider, *, spoke: bool) -> bool:
        """True when the sentence can be said again in another voice. A sentence synthesised ahead by a voice that
        has since been replaced just goes again in the current one."""
        if failed is not self.tts:
            return self.tts is not None and not self._tts_failed
        return self._switch_voice(spoke=spoke)

    def _switch_voice(self, *, spoke: bool) -> bool:
        """The voice broke. True when the sentence can start again in the fallback voice (from its beginning, if
        the caller heard part of it: better a repeated half sentence than a missing one); otherwise the caller
        is handed to a person."""
        if self._fallback_tts is not None and self.tts is not self._fallback_tts:
            if spoke:
                log.info("call %s: voice failed mid-sentence; saying it again in the fallback voice", self.ctx.call_id)
            self._spent_tts.append(self.tts)  # closed with the call
            self.tts = self._fallback_tts  # speak on with the offline voice rather than go quiet
            return True
        # No voice left: hand the caller to a person (or end the call) instead of leaving them in silence.
        self._tts_failed = True
        self._action = Transfer("speech synthesis failed")
        return False

    async def _send_paced(self, reply: _Reply, audio: bytes) -> None:
        ahead = self._unplayed_ms()
        if ahead > self.config.playback_lead_ms:
            await asyncio.sleep((ahead - self.config.playback_lead_ms) / 1000)
        now = self._loop.time()
        if self._unplayed_ms() <= 0:
            # The caller's buffer ran dry (or this is the first audio): playback restarts now.
            self._play_start = now
            self._sent_ms = 0.0
        await self.transport.send_audio(audio)
        if self.recorder is not None:
            self.recorder.agent(audio, plays_at=self._play_start + self._sent_ms / 1000)
        if reply.first_audio_at is None:
            reply.first_audio_at = now
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
        reply = self._reply
        if not self.transport.carries_audio or reply is None or reply.interrupted or reply.spoken_text:
            return False
        if self._sent_ms <= 0:
            return False
        grace_ms = MARK_GRACE_S * 1000 if reply.mark_names & self._pending_marks.keys() else 0
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

    # ------------------------------------------------------------------ barge-in
    def _barge_in(self) -> None:
        if not self._agent_audible():
            return
        onset = self._speech_onset
        self._interrupt_agent()
        if onset is not None:
            self.stats["barge_in_ms"].append(self._ms_since(onset))
        if isinstance(self._action, Transfer):
            self._events.put_nowait(("transfer",))  # they asked for a person: don't make them wait for it
        elif isinstance(self._action, EndCall):
            self._action = None  # they spoke over the goodbye: they have more to say

    def _interrupt_agent(self) -> None:
        reply = self._reply
        if reply is None or reply.interrupted or reply.spoken_text:
            return
        reply.spoken_text = self._heard_text(reply) if reply.timeline or reply.audio_ms else ""
        reply.interrupted = True
        reply.finished.set()
        # Stop producing before anything else goes out, then drop what the phone has buffered.
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()
        if reply.first_audio_at is not None:
            self._spawn(self.transport.send_clear())
            if self.recorder is not None:
                self.recorder.cut_agent(self._loop.time())
        # Marks of the cleared audio come back at once after a clear: they prove nothing.
        self._pending_marks.clear()
        self._sent_ms = 0.0
        self._last_activity = self._loop.time()
        self._record_agent_turn(reply)
        if reply.kind in BRAIN_KINDS and reply.sentences:
            with contextlib.suppress(Exception):
                self.brain.interrupted(self.ctx, reply.spoken_text)
        log.info("call %s: agent cut short after %r", self.ctx.call_id, reply.spoken_text[-60:])

    def _heard_text(self, reply: _Reply) -> str:
        heard_ms = reply.audio_ms - max(0.0, self._unplayed_ms())
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
            # The sentence being sent when the caller spoke has no timeline entry yet: we know how much of
            # it was sent, not how long it is, so count the words by the share of its audio that played.
            if len(reply.sentences) > len(reply.timeline):
                start_ms = reply.timeline[-1][1] + reply.timeline[-1][2] if reply.timeline else 0.0
                sent_ms = reply.audio_ms - start_ms
                if heard_ms > start_ms and sent_ms > 0:
                    words = reply.sentences[len(reply.timeline)].split()
                    per_word_ms = 60_000 / 170  # a talker's pace: about 170 words a minute
                    keep = min(len(words), int((heard_ms - start_ms) / per_word_ms))
                    heard.append(" ".join(words[:keep]))
        return " ".join(h for h in heard if h).strip()

    # ------------------------------------------------------------------ recording
    def _next_index(self) -> int:
        index = self._turn_index
        self._turn_index += 1
        self.ctx.turn_index = index  # tool calls made now belong to this turn
        return index

    def _ms_since(self, t0: float) -> int:
        return max(0, int((self._loop.time() - t0) * 1000))

    def _wall(self, loop_time: float | None) -> datetime:
        now = _utcnow()
        if loop_time is None:
            return now
        return now - timedelta(seconds=max(0.0, self._loop.time() - loop_time))

    def _record_caller_turn(self, turn: _CallerTurn) -> None:
        self._queue_turn(
            self._next_index(),
            "caller",
            turn.text or "(unintelligible)",
            started_at=self._wall(turn.onset if turn.onset is not None else turn.t_end),
            ended_at=self._wall(turn.t_end),
        )

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
        """Database writes of one call, in order, off the event loop; None ends it.

        What is written is also published to the managers' live page (calls/live.py): the one place the
        session touches the channel layer, through a feed that never blocks or raises."""
        live = LiveFeed(self.ctx.call_id) if self._record else None
        if live is not None:
            live.started()
        while (item := await self._writes.get()) is not None:
            written = await self._write(item)
            if live is not None and written:
                if item[0] == "turn":
                    turn = item[1]
                    live.turn(index=turn["index"], role=turn["role"], text=turn["text"],
                              started_at=turn.get("started_at"), interrupted=turn.get("interrupted", False),
                              first_audio_ms=turn.get("first_audio_ms"))  # fmt: skip
                elif item[0] == "finish":
                    live.ended(outcome=item[2])
        if live is not None:
            live.close()

    async def _write(self, item) -> bool:
        from calls import services

        try:
            if item[0] == "turn":
                await in_db_thread(services.record_turn, **item[1])
                metrics.turn_recorded(item[1])
            elif item[0] == "finish":
                _, status, outcome, summary, callback = item
                call = await in_db_thread(
                    services.finish_call,
                    call_id=self.ctx.call_id,
                    status=status,
                    outcome=outcome,
                    summary=summary,
                    callback_requested=callback,
                )
                metrics.call_finished(direction=call.direction, outcome=call.outcome, status=call.status)
                self._count_provider_failures()
            elif item[0] == "usage":
                await in_db_thread(services.record_usage, call_id=self.ctx.call_id, usage=item[1])
            elif item[0] == "recording":
                await in_db_thread(save_recording, self.ctx.call_id, item[1])
        except Exception:
            log.exception("call %s: could not write %s", self.ctx.call_id, item[0])
            return False
        return True

    def _count_provider_failures(self) -> None:
        """What failed in this call, as the session saw it (a provider counts what it absorbs itself)."""
        if self._stt_provider is not None and self.transport.carries_audio and self._stt is None:
            metrics.provider_error("stt", self._stt_provider.name)
        for spent in self._spent_tts:  # voices that broke and were replaced by the offline one
            metrics.provider_error("tts", spent.name)
            metrics.provider_fallback("tts", spent.name, self.tts.name if self.tts else "")
        if self._tts_failed and self.tts is not None:
            metrics.provider_error("tts", self.tts.name)


async def _one(text: str) -> AsyncIterator[str]:
    yield text


async def _then(first: str, rest: AsyncIterator[ReplyPiece]) -> AsyncIterator[ReplyPiece]:
    """`first` said before a brain's reply (the recording notice before the greeting)."""
    try:
        yield first
        async for piece in rest:
            yield piece
    finally:
        await rest.aclose()


def _utcnow() -> datetime:
    return datetime.now(UTC)
