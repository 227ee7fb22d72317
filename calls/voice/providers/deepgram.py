"""Deepgram: live speech-to-text (`/v1/listen`) and streaming text-to-speech (`/v1/speak`), through deepgram-sdk v7.

Both sockets go to `DEEPGRAM_BASE_URL` (its `ws(s)://` twin), so a proxy, a self-hosted Deepgram or the test fake
(calls/tests/fake_deepgram.py) plugs in without code changes.

Recognition: the socket opens with key terms (Nova-3 key term prompting: the caller's name and cars, the shop's
services and makes); after each agent reply, what it asked for (`expect`, a ListenHint) reorders them with the
options just offered first and replaces them on the live socket with a `Configure` message (one at a time: the next
waits for the server's answer), so the caller's answer is heard with the right words in mind. The caller's µ-law
goes out as it arrives; the turn is assembled by the session from `is_final`
segments and ends on `speech_final`, on `UtteranceEnd`, or on the final that answers our `Finalize` (sent the
moment our own VAD hears the caller stop). A dropped socket reconnects at once and re-sends the audio since the
last final result, so no words are lost; a second failure in the call hands the rest of it to the offline
recogniser, fed the same unrecognised audio.

Synthesis: one socket per call, opened while the greeting is prepared. Each sentence is a `Speak` followed by a
`Flush` (the session plays and marks sentence by sentence, so it needs each sentence's audio as a unit); an
abandoned sentence (barge-in) is `Clear`ed and its late audio dropped. A socket that fails raises from
`synthesize`, and the session speaks on with eSpeak.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable

from django.conf import settings

from calls.voice.listen_hint import ListenHint
from calls.voice.providers import keyterms as terms
from calls.voice.providers.base import STTProvider, STTStream, Transcript, TranscriptCallback, TTSProvider

log = logging.getLogger(__name__)

SAMPLE_RATE = 8000
BYTES_PER_S = 8000  # µ-law
MAX_UNFINAL_S = 30  # audio kept for a re-send; a final result normally trims it every few seconds
# Audio the stream may hold back while it is `batchable`: one message per 80 ms instead of one per 20 ms frame (a
# send and a wake-up of the sender each), well inside the 20-100 ms chunks Deepgram recommends for live audio.
BATCH_BYTES = 80 * BYTES_PER_S // 1000
SHOP_TERMS_TTL_S = 600
_FINALIZE = object()
_CONFIGURE = object()
_CLOSE = object()
_FLUSHED = object()


@functools.cache
def _client(api_key: str, base_url: str):
    """One SDK client per process (and key/endpoint): making one costs tens of milliseconds, sockets are per call."""
    from deepgram import AsyncDeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    base = base_url.rstrip("/")
    ws = "wss://" + base[len("https://") :] if base.startswith("https://") else "ws://" + base.split("://", 1)[-1]
    env = DeepgramClientEnvironment(base=base, production=ws, agent=ws, agent_rest=base)
    return AsyncDeepgramClient(api_key=api_key, environment=env)


def _import_sockets() -> None:
    from deepgram.listen.v1 import socket_client as listen  # noqa: F401
    from deepgram.speak.v1 import socket_client as speak  # noqa: F401
    from deepgram.speak.v1.types import SpeakV1Text  # noqa: F401


def shop_keyterms() -> dict[str, list[str]]:
    """Words of this shop worth boosting: its services and the makes it sees (database: call from a thread)."""
    from calls.voice.vocabulary import MAKES
    from scheduling.models import ServiceType

    names = list(ServiceType.objects.filter(active=True).order_by("name").values_list("name", flat=True)[:30])
    return {"services": names, "makes": [m.title() if len(m) > 3 else m.upper() for m in MAKES]}


# --------------------------------------------------------------------------------------------- speech-to-text


class DeepgramSTT(STTProvider):
    """One per process; each call opens its own stream (socket)."""

    name = "deepgram"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str | None = None,
        endpointing_ms: int | None = None,
        utterance_end_ms: int | None = None,
        keepalive_s: float = 4.0,
        connect_timeout_s: float = 5.0,
        finalize_wait_s: float = 2.0,
        offline: Callable[[], STTProvider] | None = None,
        shop_terms: Callable[[], dict[str, list[str]]] | None = shop_keyterms,
    ):
        self.api_key = api_key if api_key is not None else settings.DEEPGRAM_API_KEY
        self.base_url = base_url or settings.DEEPGRAM_BASE_URL
        self.model = model or settings.DEEPGRAM_STT_MODEL
        self.endpointing_ms = settings.DEEPGRAM_ENDPOINTING_MS if endpointing_ms is None else endpointing_ms
        self.utterance_end_ms = settings.DEEPGRAM_UTTERANCE_END_MS if utterance_end_ms is None else utterance_end_ms
        self.keepalive_s = keepalive_s  # the server closes after ~10 s without audio or a KeepAlive
        self.connect_timeout_s = connect_timeout_s
        self.finalize_wait_s = finalize_wait_s  # a Finalize unanswered this long is answered with an empty final
        self._offline = offline
        self._shop_terms_fn = shop_terms
        self._shop_terms: dict[str, list[str]] = {}
        self._shop_terms_at = -SHOP_TERMS_TTL_S
        self._client = None

    def client(self):
        if self._client is None:
            self._client = _client(self.api_key, self.base_url)
        return self._client

    def warm_up(self) -> None:
        """Import the SDK (and its socket client) now rather than on the first call."""
        self.client()
        _import_sockets()

    def open_stream(self, *, on_transcript: TranscriptCallback, hints: Iterable[str] = ()) -> STTStream:
        return DeepgramSTTStream(self, on_transcript, tuple(h for h in hints if h))

    def offline_provider(self) -> STTProvider:
        if self._offline is not None:
            return self._offline()
        from calls.voice.providers import registry

        return registry.offline_stt_provider()

    @property
    def live_keyterms(self) -> bool:
        """Key term prompting, and replacing the terms mid-stream (`Configure`), are Nova-3 features."""
        return self.model.startswith("nova-3")

    async def load_shop_terms(self) -> None:
        """The shop's services and makes, cached per process for a while (database: read in a thread)."""
        if self._shop_terms_fn is None or time.monotonic() - self._shop_terms_at <= SHOP_TERMS_TTL_S:
            return
        from bartsvoice.db import in_db_thread

        try:
            self._shop_terms = await in_db_thread(self._shop_terms_fn)
        except Exception:
            log.exception("could not load the shop's key terms")
        self._shop_terms_at = time.monotonic()

    def keyterms(self, hint: ListenHint | None, caller: Iterable[str]) -> list[str]:
        """The terms for the caller's next words: what they were just offered, then the caller's and the shop's."""
        return terms.keyterms(
            hint, caller=caller, services=self._shop_terms.get("services", ()), makes=self._shop_terms.get("makes", ())
        )

    def connect(self, keyterms: list[str]):
        """The SDK's live socket (an async context manager) with the options this product relies on."""
        options = {
            "model": self.model,
            "encoding": "mulaw",
            "sample_rate": SAMPLE_RATE,
            "channels": 1,
            "interim_results": "true",
            "endpointing": self.endpointing_ms if self.endpointing_ms > 0 else "false",
            "utterance_end_ms": self.utterance_end_ms,
            "vad_events": "true",
            "smart_format": "true",
        }
        if keyterms and self.live_keyterms:
            options["keyterm"] = keyterms
        elif keyterms:  # older models: keyword boosting (single words), fixed for the socket's life
            options["keywords"] = [t for t in keyterms if " " not in t] or None
        return self.client().listen.v1.connect(**options)


class DeepgramSTTStream(STTStream):
    def __init__(self, provider: DeepgramSTT, on_transcript: TranscriptCallback, hints: tuple[str, ...]):
        self._provider = provider
        self._on_transcript = on_transcript
        self._hints = hints
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Task | None = None
        # Audio since the last final result, for a re-send after a drop; `_unfinal_start` is its offset in the call.
        self._unfinal = bytearray()
        self._unfinal_start = 0
        self._origin = 0  # call offset of the current socket's first byte (its results count from there)
        self._outbox: list = []
        self._held = 0  # bytes of audio in the outbox that nothing has woken the sender for yet
        self._wake = asyncio.Event()
        self._sock = None
        self._closing = False
        self._finalize_pending = False
        self._finalize_guard: asyncio.TimerHandle | None = None
        self._open_turn = False  # final words since the last speech_final / UtteranceEnd
        self._last_sent = 0.0
        self.failures = 0
        self.fallback: STTStream | None = None
        self.audio_seconds = 0.0  # sent to Deepgram (what it bills)
        self.fallback_seconds = 0.0  # sent to the offline recogniser after a fall-back
        self._fallback_name = ""
        # Key terms in force: `keyterms` is what the stream wants; the socket has version `_terms_sent` of it
        # (Deepgram takes one Configure at a time: a newer list waits for the answer to the one in flight).
        self.keyterms: list[str] = []
        self._hint: ListenHint | None = None
        self._terms_version = 0
        self._terms_sent = 0
        self._configuring = False

    def audio_seconds_by_provider(self) -> dict[str, float]:
        used = {self._provider.name: self.audio_seconds}
        if self.fallback is not None:
            used[self._fallback_name] = self.fallback_seconds
        return used

    async def start(self) -> None:
        # Connecting takes a round trip or two: the greeting doesn't wait for it. Audio is kept meanwhile.
        self._loop = asyncio.get_running_loop()
        self._runner = asyncio.ensure_future(self._run())

    def expect(self, hint: ListenHint | None) -> None:
        if self.fallback is not None:
            self.fallback.expect(hint)
            return
        self._hint = hint
        wanted = self._provider.keyterms(hint, self._hints)
        if wanted == self.keyterms:
            return
        self.keyterms = wanted  # a socket opened from now on starts with them
        if not self._provider.live_keyterms:
            return  # no mid-stream update on older models
        self._terms_version += 1
        if self._sock is not None and not self._configuring:
            self._outbox.append(_CONFIGURE)
            self._wake.set()

    def send_audio(self, ulaw: bytes) -> None:
        if self.fallback is not None:
            self.fallback_seconds += len(ulaw) / BYTES_PER_S
            self.fallback.send_audio(ulaw)
            return
        if self._closing or not ulaw:
            return
        self._unfinal += ulaw
        excess = len(self._unfinal) - MAX_UNFINAL_S * BYTES_PER_S
        if excess > 0:
            del self._unfinal[:excess]
            self._unfinal_start += excess
        if self._sock is not None:
            self._outbox.append(ulaw)
            self._held += len(ulaw)
            if self._held >= BATCH_BYTES or not self.batchable:
                self._held = 0
                self._wake.set()

    async def finalize(self) -> None:
        if self.fallback is not None:
            await self.fallback.finalize()
            return
        if self._closing:
            return
        self._arm_finalize_guard()
        if self._sock is None:
            self._finalize_pending = True  # sent as soon as a socket is open again, after the re-sent audio
            return
        self._outbox.append(_FINALIZE)
        self._wake.set()

    async def close(self) -> None:
        if self.fallback is not None:
            await self.fallback.close()
        if self._closing:
            return
        self._closing = True
        self._cancel_finalize_guard()
        if self._sock is not None:
            self._outbox.append(_CLOSE)  # CloseStream: Deepgram flushes the last words, then closes
            self._wake.set()
        if self._runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 2.0)
            except BaseException:  # noqa: BLE001 - however the socket ends, the call is over
                self._runner.cancel()

    # ------------------------------------------------------------------ the socket
    async def _run(self) -> None:
        await self._provider.load_shop_terms()
        self.keyterms = self._provider.keyterms(self._hint, self._hints)  # with the hint, if one came meanwhile
        while not self._closing:
            try:
                await self._serve()
                reason = "closed by the server"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the socket counts; logged below
                reason = f"{type(exc).__name__}: {exc}"
            if self._closing:
                return
            self.failures += 1
            if self.failures >= 2:
                log.warning(
                    "Deepgram live socket failed again (%s): offline recogniser for the rest of the call", reason
                )
                await self._fall_back()
                return
            log.warning(
                "Deepgram live socket failed (%s): reconnecting, re-sending %.1f s of audio",
                reason,
                len(self._unfinal) / BYTES_PER_S,
            )

    async def _serve(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            version = self._terms_version  # a new socket opens with the terms in force now
            sock = await asyncio.wait_for(
                stack.enter_async_context(self._provider.connect(self.keyterms)), self._provider.connect_timeout_s
            )
            self._terms_sent, self._configuring = version, False
            # Everything not yet final goes first (all of it, on the first socket), then live audio.
            self._origin = self._unfinal_start
            self._outbox = [bytes(self._unfinal)] if self._unfinal else []
            self._held = 0
            if self._finalize_pending:
                self._finalize_pending = False
                self._outbox.append(_FINALIZE)
            if self._terms_sent != self._terms_version:
                self._outbox.append(_CONFIGURE)  # changed while connecting
            if self._closing:
                self._outbox.append(_CLOSE)
            self._sock = sock
            self._last_sent = self._loop.time()
            self._wake.set()
            sender = asyncio.ensure_future(self._send_loop(sock))
            keeper = asyncio.ensure_future(self._keep_alive(sock))
            try:
                async for message in _raw_messages(sock):
                    self._on_message(message)
            finally:
                self._sock = None
                sender.cancel()
                keeper.cancel()
                for task in (sender, keeper):
                    with contextlib.suppress(BaseException):
                        await task

    async def _send_loop(self, sock) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                items, self._outbox = self._outbox, []
                self._held = 0
                audio = bytearray()
                for item in items:
                    if isinstance(item, bytes):
                        audio += item
                        continue
                    if audio:
                        await self._send_media(sock, audio)
                        audio = bytearray()
                    if item is _CONFIGURE:
                        await self._send_configure(sock)
                    elif item is _FINALIZE:
                        await sock.send_finalize()
                    elif item is _CLOSE:
                        await sock.send_close_stream()
                if audio:
                    await self._send_media(sock, audio)

    async def _send_configure(self, sock) -> None:
        if self._configuring or self._terms_sent == self._terms_version:
            return  # one in flight: the answer to it sends the newest list
        from deepgram.listen.v1.types import ListenV1Configure

        self._configuring = True
        self._terms_sent = self._terms_version
        await sock.send_configure(ListenV1Configure(type="Configure", keyterms=list(self.keyterms)))

    def _on_configured(self, message: dict) -> None:
        self._configuring = False
        if message.get("type") == "ConfigureFailure":
            code = message.get("code", "")
            log.warning("Deepgram refused new key terms (%s): %s", code, message.get("description", ""))
            if code == "CONFIGURE_KEYTERMS_NOT_SUPPORTED":  # e.g. a regional endpoint: keep the terms it opened with
                self._terms_sent = self._terms_version
                return
        if self._terms_sent != self._terms_version and self._sock is not None:
            self._outbox.append(_CONFIGURE)
            self._wake.set()

    async def _send_media(self, sock, audio: bytearray) -> None:
        await sock.send_media(bytes(audio))
        self.audio_seconds += len(audio) / BYTES_PER_S
        self._last_sent = self._loop.time()

    async def _keep_alive(self, sock) -> None:
        interval = self._provider.keepalive_s
        while True:
            await asyncio.sleep(max(0.05, self._last_sent + interval - self._loop.time()))
            if self._loop.time() - self._last_sent >= interval:
                await sock.send_keep_alive()
                self._last_sent = self._loop.time()

    # ------------------------------------------------------------------ results
    def _on_message(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "Results":
            self._on_results(message)
        elif kind == "UtteranceEnd":
            # No speech_final came (noise kept the segment open): the pause still ends the turn.
            if self._open_turn:
                self._open_turn = False
                self._on_transcript(Transcript(text="", is_final=True, speech_final=True))
        elif kind in ("ConfigureSuccess", "ConfigureFailure"):
            self._on_configured(message)
        elif kind == "Error":
            log.warning("Deepgram live error: %s", message.get("description", message))

    def _on_results(self, message: dict) -> None:
        alternatives = (message.get("channel") or {}).get("alternatives") or []
        best = alternatives[0] if alternatives else {}
        text = (best.get("transcript") or "").strip()
        confidence = best.get("confidence")
        start, duration = message.get("start") or 0.0, message.get("duration") or 0.0
        heard_upto = self._origin / BYTES_PER_S + start + duration
        if not message.get("is_final"):
            if text:
                self._on_transcript(
                    Transcript(text=text, is_final=False, confidence=confidence, audio_end_s=heard_upto)
                )
            return
        # Audio up to the end of this result is recognised for good: a re-send starts after it.
        end = self._origin + int((start + duration) * BYTES_PER_S)
        cut = min(len(self._unfinal), end - self._unfinal_start)
        if cut > 0:
            del self._unfinal[:cut]
            self._unfinal_start += cut
        self._cancel_finalize_guard()
        speech_final = bool(message.get("speech_final"))
        if text:
            self._open_turn = not speech_final
        elif speech_final:
            self._open_turn = False
        self._on_transcript(
            Transcript(
                text=text, is_final=True, speech_final=speech_final, confidence=confidence, audio_end_s=heard_upto
            )
        )

    def _arm_finalize_guard(self) -> None:
        self._cancel_finalize_guard()
        self._finalize_guard = self._loop.call_later(self._provider.finalize_wait_s, self._finalize_unanswered)

    def _cancel_finalize_guard(self) -> None:
        if self._finalize_guard is not None:
            self._finalize_guard.cancel()
            self._finalize_guard = None

    def _finalize_unanswered(self) -> None:
        # The session waits for a final after a Finalize; a socket down for that long must not hold the turn.
        self._finalize_guard = None
        if self.fallback is None and not self._closing:
            self._on_transcript(Transcript(text="", is_final=True))

    async def _fall_back(self) -> None:
        self._cancel_finalize_guard()
        try:
            offline = self._provider.offline_provider()
            stream = offline.open_stream(on_transcript=self._on_transcript, hints=self._hints)
            await stream.start()
        except Exception:
            log.exception("the offline recogniser could not take over either")
            return
        pending, self._unfinal = bytes(self._unfinal), bytearray()
        self.fallback = stream
        self._fallback_name = offline.name
        if pending:
            self.fallback_seconds += len(pending) / BYTES_PER_S
            stream.send_audio(pending)
        if self._finalize_pending:
            self._finalize_pending = False
            await stream.finalize()


# --------------------------------------------------------------------------------------------- text-to-speech


class DeepgramTTS(TTSProvider):
    """One per call, with one socket for the whole call."""

    name = "deepgram"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        voice: str | None = None,
        connect_timeout_s: float = 5.0,
        first_audio_timeout_s: float = 5.0,
        next_audio_timeout_s: float = 5.0,
    ):
        self.api_key = api_key if api_key is not None else settings.DEEPGRAM_API_KEY
        self.base_url = base_url or settings.DEEPGRAM_BASE_URL
        self.voice = voice or settings.DEEPGRAM_TTS_VOICE
        self.connect_timeout_s = connect_timeout_s
        self.first_audio_timeout_s = first_audio_timeout_s
        self.next_audio_timeout_s = next_audio_timeout_s
        self._connecting: asyncio.Task | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._sock = None
        self._reader: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._current: asyncio.Queue | None = None
        self._clearing = False  # audio of a cleared sentence may still arrive until `Cleared`
        self._cleared: asyncio.Event | None = None
        self._broken: Exception | None = None
        self._closed = False
        self._side_tasks: set[asyncio.Task] = set()
        self.characters = 0  # sent for synthesis (what Deepgram bills)

    def warm_up(self) -> None:
        _client(self.api_key, self.base_url)
        _import_sockets()

    async def prepare(self) -> None:
        await self._connection()

    async def _connection(self):
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise ConnectionError("the Deepgram speak socket is closed")
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self):
        self._lock = asyncio.Lock()
        self._cleared = asyncio.Event()
        stack = contextlib.AsyncExitStack()
        client = _client(self.api_key, self.base_url)
        try:
            sock = await asyncio.wait_for(
                stack.enter_async_context(
                    client.speak.v1.connect(model=self.voice, encoding="mulaw", sample_rate=SAMPLE_RATE)
                ),
                self.connect_timeout_s,
            )
        except BaseException as exc:
            self._broken = exc if isinstance(exc, Exception) else ConnectionError("connect cancelled")
            raise
        self._stack, self._sock = stack, sock
        self._reader = asyncio.ensure_future(self._read(sock))
        return sock

    async def _read(self, sock) -> None:
        error: Exception | None = None
        try:
            async for message in sock:
                if isinstance(message, bytes | bytearray):
                    if not self._clearing and self._current is not None:
                        self._current.put_nowait(bytes(message))
                    continue
                kind = getattr(message, "type", None)
                if kind == "Flushed":
                    if not self._clearing and self._current is not None:
                        self._current.put_nowait(_FLUSHED)
                elif kind == "Cleared":
                    self._clearing = False
                    self._cleared.set()
                elif kind == "Warning":
                    description = getattr(message, "description", "") or "warning"
                    log.warning("Deepgram speak warning: %s", description)
                    if self._current is not None:  # e.g. the flush limit: this sentence will get no audio
                        self._current.put_nowait(RuntimeError(f"Deepgram speak: {description}"))
        except Exception as exc:  # noqa: BLE001 - logged below as the reason the socket broke
            error = exc
        finally:
            if not self._closed:
                self._broken = ConnectionError(f"the Deepgram speak socket closed ({error or 'by the server'})")
                log.warning("%s", self._broken)
            if self._current is not None:
                self._current.put_nowait(self._broken or ConnectionError("closed"))

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        from deepgram.speak.v1.types import SpeakV1Flush, SpeakV1Text

        sock = await self._connection()
        async with self._lock:
            if self._clearing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cleared.wait(), 1.0)
                self._clearing = False
            if self._broken is not None:
                raise self._broken
            queue: asyncio.Queue = asyncio.Queue()
            self._current = queue
            done = False
            try:
                await sock.send_text(SpeakV1Text(type="Speak", text=text))
                await sock.send_flush(SpeakV1Flush(type="Flush"))
                self.characters += len(text)
                timeout = self.first_audio_timeout_s
                while True:
                    async with asyncio.timeout(timeout):  # per chunk of audio: no task each, as wait_for makes
                        item = await queue.get()
                    if item is _FLUSHED:
                        done = True
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                    timeout = self.next_audio_timeout_s
            finally:
                self._current = None
                if not done and self._broken is None and not self._closed:
                    # Abandoned (barge-in, or a stall): stop the synthesis and drop what is still on its way.
                    self._clearing = True
                    self._cleared.clear()
                    self._side(self._send_clear(sock))

    async def _send_clear(self, sock) -> None:
        from deepgram.speak.v1.types import SpeakV1Clear

        try:
            await sock.send_clear(SpeakV1Clear(type="Clear"))
        except Exception:
            log.warning("could not send Clear to Deepgram", exc_info=True)

    def _side(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self._sock is not None:
            from deepgram.speak.v1.types import SpeakV1Close

            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._sock.send_close(SpeakV1Close(type="Close")), 1.0)
        if self._stack is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._stack.aclose(), 2.0)
        if self._reader is not None:
            self._reader.cancel()


async def _raw_messages(sock) -> AsyncIterator[dict]:
    """The live socket's JSON messages as dicts. The SDK's own iterator builds a pydantic model out of every message
    through a union of eight types (about a quarter of a call's CPU in the STT path at a turn peak) for fields read
    once here; audio never comes on this socket."""
    websocket = getattr(sock, "_websocket", None)
    if websocket is None:  # an SDK without the attribute: its models, read through the same fields
        async for message in sock:
            if not isinstance(message, bytes | bytearray):
                yield message.dict() if hasattr(message, "dict") else dict(message)
        return
    async for message in websocket:
        if isinstance(message, bytes | bytearray):
            continue
        try:
            parsed = json.loads(message)
        except ValueError:
            log.warning("Deepgram live socket: a message that is not JSON was skipped")
            continue
        if isinstance(parsed, dict):
            yield parsed
