"""A local stand-in for Deepgram's two WebSockets, `/v1/listen` (live speech-to-text) and `/v1/speak` (streaming
text-to-speech), speaking their wire protocol closely enough that the real deepgram-sdk runs against it.

Used by the provider tests, the end-to-end socket test and `bench/calls.py --providers fakes`. No Django here.

Recognition is by ear, not by magic: `teach(clip, text)` gives the fake the exact µ-law audio of a sentence and its
words. Each word owns an equal share of the clip's 20 ms frames, and a word is heard on a socket only when most of
its frames arrived on *that* socket. So a client that reconnects without re-sending the audio since the last final
result loses words here, as it would with the real service. Frames it does not know count as silence unless loud.

Listen: interim results while speech arrives; `is_final` + `speech_final` once `endpointing` ms of audio after
the last speech frame has arrived; `UtteranceEnd` after `utterance_end_ms`; `Finalize` answered with a final
result (`from_finalize`), empty when nothing is pending; `KeepAlive` keeps an otherwise idle socket open (the
server closes after `idle_timeout_s` of nothing); `CloseStream` flushes, sends `Metadata` and closes. `Configure`
replaces the key terms (Nova-3 only) and is answered after `configure_ms` with `ConfigureSuccess`, or
`ConfigureFailure` (not Nova-3, over the token limit, or another Configure still unanswered).
Speak: `Speak` buffers text, `Flush` synthesises it (after `tts_first_audio_ms`) into µ-law chunks then
`Flushed`, at most `flush_limit` flushes a minute (then a `Warning`); `Clear` drops buffered text and audio not
yet sent and answers `Cleared`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from calls.tests.fake_server import served_in_thread

FRAME = 160  # 20 ms of µ-law at 8 kHz
BYTES_PER_MS = 8
LOUD = 1500  # mean absolute PCM level of an unknown frame that still counts as speech


def _decode_table() -> np.ndarray:
    # G.711 µ-law expansion (the same curve as calls.voice.audio, kept here so the fake has no project imports)
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int32)


_LEVEL = np.abs(_decode_table())


def tone(ms: int, hz: float = 330.0) -> bytes:
    """Non-silent µ-law audio standing in for synthesised speech."""
    n = max(1, ms) * BYTES_PER_MS
    pcm = (5000 * np.sin(2 * math.pi * hz * np.arange(n) / 8000)).astype(np.int32)
    # µ-law compression, inverse of _decode_table (bias 0x84, clip 32635)
    sign = np.where(pcm < 0, 0x80, 0)
    mag = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


@dataclass
class Clip:
    words: list[str]
    frames: int


@dataclass
class ListenRecord:
    """What one /v1/listen socket received: for the tests to check."""

    query: dict[str, list[str]]
    audio_bytes: int = 0
    audio_messages: int = 0
    keepalives: int = 0
    finalizes: int = 0
    close_stream: bool = False
    finals: list[str] = field(default_factory=list)
    dropped: bool = False
    configures: list[list[str]] = field(default_factory=list)  # key terms of each accepted Configure
    configure_failures: list[str] = field(default_factory=list)

    @property
    def keyterms(self) -> list[str]:
        """The key terms in force: the last accepted Configure's, else the query's."""
        return self.configures[-1] if self.configures else self.query.get("keyterm", [])


@dataclass
class SpeakRecord:
    query: dict[str, list[str]]
    texts: list[str] = field(default_factory=list)
    flushes: int = 0
    clears: int = 0
    closed: bool = False
    audio_bytes: int = 0


class FakeDeepgram:
    def __init__(
        self,
        *,
        api_key: str = "test-deepgram-key",
        finalize_ms: int = 0,
        tts_first_audio_ms: int = 0,
        tts_ms_per_char: int = 60,
        tts_speed: float = 20.0,
        idle_timeout_s: float = 10.0,
        flush_limit: int = 20,
        configure_ms: int = 0,
    ):
        self.api_key = api_key
        self.finalize_ms = finalize_ms  # how long a Finalize takes to answer
        self.tts_first_audio_ms = tts_first_audio_ms
        self.tts_ms_per_char = tts_ms_per_char
        self.tts_speed = tts_speed  # audio is sent this many times faster than real time
        self.idle_timeout_s = idle_timeout_s
        self.flush_limit = flush_limit
        self.configure_ms = configure_ms  # how long a Configure takes to answer
        self.speech_final = True  # False: never mark speech_final (clients must end turns on UtteranceEnd)
        self.listen_preamble: list[str] = []  # raw text frames sent as each listen socket opens (odd messages)
        self._frames: dict[bytes, tuple[int, int]] = {}  # frame -> (clip id, frame index)
        self._clips: list[Clip] = []
        self._index_cache: dict[int, set[int]] = {}
        # Failure knobs, consumed one per new socket: close the socket abruptly after this much audio / TTS audio.
        self.drop_listen_after_ms: deque[int] = deque()
        self.refuse_listen = 0  # refuse the next N listen handshakes (HTTP 503)
        self.drop_speak_after_bytes: deque[int] = deque()
        self.refuse_speak = 0
        self.listens: list[ListenRecord] = []
        self.speaks: list[SpeakRecord] = []
        self._server = None
        self.port = 0

    # ------------------------------------------------------------------ set-up
    def teach(self, clip: bytes, text: str) -> None:
        """The exact audio of a caller sentence and its words."""
        clip_id = len(self._clips)
        self._index_cache.clear()
        frames = [clip[i : i + FRAME] for i in range(0, len(clip) - FRAME + 1, FRAME)]
        self._clips.append(Clip(words=text.split(), frames=len(frames)))
        seen: dict[bytes, int] = {}
        for frame in frames:
            seen[frame] = seen.get(frame, 0) + 1
        for index, frame in enumerate(frames):
            if seen[frame] == 1 and _LEVEL[np.frombuffer(frame, dtype=np.uint8)].mean() > 60:
                self._frames[frame] = (clip_id, index)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> str:
        self._server = await serve(
            self._handle, "127.0.0.1", port, process_request=self._check_request, compression=None, max_queue=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.base_url

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def in_thread(self):
        """Serve from a thread with its own event loop (for code that runs its own loop, or another process)."""
        return served_in_thread(self, "fake-deepgram")

    def _check_request(self, connection: ServerConnection, request):
        path = urlsplit(request.path).path
        if request.headers.get("Authorization") != f"Token {self.api_key}":
            return _http(401, "INVALID_AUTH")
        if path == "/v1/listen" and self.refuse_listen > 0:
            self.refuse_listen -= 1
            return _http(503, "unavailable")
        if path == "/v1/speak" and self.refuse_speak > 0:
            self.refuse_speak -= 1
            return _http(503, "unavailable")
        if path not in ("/v1/listen", "/v1/speak"):
            return _http(404, "not found")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        parts = urlsplit(connection.request.path)
        query = parse_qs(parts.query)
        if parts.path == "/v1/listen":
            await _Listen(self, connection, query).run()
        else:
            await _Speak(self, connection, query).run()


def _http(status: int, body: str) -> Response:
    data = body.encode()
    return Response(status, "", Headers([("Content-Length", str(len(data))), ("Content-Type", "text/plain")]), data)


class _Listen:
    def __init__(self, fake: FakeDeepgram, ws: ServerConnection, query: dict[str, list[str]]):
        self.fake = fake
        self.ws = ws
        self.record = ListenRecord(query=query)
        fake.listens.append(self.record)
        self.endpointing = _int(query, "endpointing", 10)
        self.utterance_end_ms = _int(query, "utterance_end_ms", 0)
        self.interim = query.get("interim_results", ["false"])[0] == "true"
        self.vad_events = query.get("vad_events", ["false"])[0] == "true"
        self.drop_after_ms = fake.drop_listen_after_ms.popleft() if fake.drop_listen_after_ms else None
        self.remainder = b""
        self.audio_ms = 0  # this socket's audio clock
        self.heard: dict[int, set[int]] = {}  # clip id -> frame indexes heard on this socket
        self.final_words: dict[int, int] = {}  # clip id -> words already sent as final
        self.active: list[int] = []  # clips with words pending, in the order they were spoken
        self.in_speech = False
        self.last_speech_ms = 0
        self.segment_start_ms = 0
        self.last_interim_ms = 0
        self.utterance_open = False  # a final since the last UtteranceEnd
        self.request_id = str(uuid.uuid4())
        self.configuring = False
        self._answers: set[asyncio.Task] = set()

    async def run(self) -> None:
        try:
            for raw in self.fake.listen_preamble:
                await self.ws.send(raw)
            while True:
                try:
                    message = await asyncio.wait_for(self.ws.recv(), self.fake.idle_timeout_s)
                except TimeoutError:
                    await self.ws.close(1011, "NET-0001: no audio received")
                    return
                if isinstance(message, bytes):
                    if await self._audio(message):
                        return
                    continue
                kind = json.loads(message).get("type")
                if kind == "KeepAlive":
                    self.record.keepalives += 1
                elif kind == "Finalize":
                    self.record.finalizes += 1
                    if self.fake.finalize_ms:
                        await asyncio.sleep(self.fake.finalize_ms / 1000)
                    await self._final(speech_final=False, from_finalize=True, always=True)
                elif kind == "Configure":
                    await self._configure(json.loads(message))
                elif kind == "CloseStream":
                    self.record.close_stream = True
                    await self._final(speech_final=False, from_finalize=False)
                    await self._send(
                        {
                            "type": "Metadata",
                            "request_id": self.request_id,
                            "duration": self.audio_ms / 1000,
                            "channels": 1,
                        }
                    )
                    await self.ws.close(1000)
                    return
        except Exception:  # the client went away
            return

    async def _configure(self, message: dict) -> None:
        def refuse(code: str) -> dict:
            self.record.configure_failures.append(code)
            return {"type": "ConfigureFailure", "request_id": self.request_id, "code": code, "description": code}

        if self.configuring:
            await self._send(refuse("CONFIGURE_ALREADY_PENDING"))
            return
        keyterms = message.get("keyterms")
        if keyterms is not None and not self.record.query.get("model", [""])[0].startswith("nova-3"):
            answer = refuse("CONFIGURE_KEYTERMS_NOT_SUPPORTED")
        elif keyterms is not None and sum(len(t.split()) * 2 for t in keyterms) > 500:  # ~2 tokens a word
            answer = refuse("CONFIGURE_KEYTERM_LIMIT_EXCEEDED")
        else:
            if keyterms is not None:
                self.record.configures.append(list(keyterms))
            answer = {"type": "ConfigureSuccess", "request_id": self.request_id, "keyterms": keyterms}
        self.configuring = True
        asyncio.get_running_loop().call_later(self.fake.configure_ms / 1000, self._answer_configure, answer)

    def _answer_configure(self, answer: dict) -> None:
        self.configuring = False
        task = asyncio.ensure_future(self._send(answer))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _audio(self, data: bytes) -> bool:
        """Feed audio; True when the fake dropped the socket."""
        self.record.audio_messages += 1
        data = self.remainder + data
        whole = len(data) - len(data) % FRAME
        self.remainder = data[whole:]
        for offset in range(0, whole, FRAME):
            frame = data[offset : offset + FRAME]
            self.audio_ms += 20
            self.record.audio_bytes += FRAME
            hit = self.fake._frames.get(frame)
            if hit is not None:
                clip_id, index = hit
                if self.final_words.get(clip_id) == len(self.fake._clips[clip_id].words):
                    # Said again (the same question twice): a new utterance of that clip.
                    self.heard[clip_id], self.final_words[clip_id] = set(), 0
                self.heard.setdefault(clip_id, set()).add(index)
                if clip_id not in self.active:
                    self.active.append(clip_id)
                speech = True
            else:
                speech = _LEVEL[np.frombuffer(frame, dtype=np.uint8)].mean() > LOUD
            if speech:
                if not self.in_speech:
                    self.in_speech = True
                    self.segment_start_ms = self.audio_ms - 20
                    if self.vad_events:
                        await self._send(
                            {"type": "SpeechStarted", "channel": [0, 1], "timestamp": self.segment_start_ms / 1000}
                        )
                self.last_speech_ms = self.audio_ms
            if self.drop_after_ms is not None and self.audio_ms >= self.drop_after_ms:
                self.record.dropped = True
                self.ws.transport.abort()  # no close frame: a dropped connection
                return True
            if self.in_speech and self.interim and self.audio_ms - self.last_interim_ms >= 200:
                self.last_interim_ms = self.audio_ms
                text = " ".join(self._pending_words())
                if text:
                    await self._results(text, is_final=False, speech_final=False)
            if self.in_speech and self.audio_ms - self.last_speech_ms >= self.endpointing:
                self.in_speech = False
                await self._final(speech_final=self.fake.speech_final, from_finalize=False)
            if (
                self.utterance_end_ms
                and self.utterance_open
                and not self.in_speech
                and self.audio_ms - self.last_speech_ms >= self.utterance_end_ms
            ):
                self.utterance_open = False
                await self._send(
                    {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": self.last_speech_ms / 1000}
                )
        return False

    def _pending_words(self, *, commit: bool = False) -> list[str]:
        """Words heard on this socket and not yet sent as final, in the order they were spoken."""
        words: list[str] = []
        for clip_id in self.active:
            found, upto = self._scan(clip_id)
            words += found
            if commit:
                self.final_words[clip_id] = upto
        if commit:
            self.active = [c for c in self.active if self.final_words.get(c, 0) < len(self.fake._clips[c].words)]
        return words

    def _scan(self, clip_id: int) -> tuple[list[str], int]:
        """(heard words from the first not yet final, index after the last word decided). A word is heard when
        at least half of its known frames arrived; one whose frames are all behind the latest frame heard but
        that was not heard is lost (its audio never came on this socket)."""
        clip = self.fake._clips[clip_id]
        heard = self.heard.get(clip_id, set())
        indexed = self._indexed(clip_id)
        latest = max(heard, default=-1)
        count = len(clip.words)
        i = self.final_words.get(clip_id, 0)
        out: list[str] = []
        while i < count:
            lo, hi = i * clip.frames // count, (i + 1) * clip.frames // count
            known = [f for f in range(lo, hi) if f in indexed]
            got = sum(1 for f in known if f in heard)
            if (known and got * 2 >= len(known)) or (not known and latest >= hi):
                out.append(clip.words[i])
            elif latest < hi:
                break  # still being spoken
            i += 1
        return out, i

    def _indexed(self, clip_id: int) -> set[int]:
        cache = self.fake._index_cache
        if clip_id not in cache:
            cache[clip_id] = {index for (c, index) in self.fake._frames.values() if c == clip_id}
        return cache[clip_id]

    async def _final(self, *, speech_final: bool, from_finalize: bool, always: bool = False) -> None:
        text = " ".join(self._pending_words(commit=True))
        if not text and not always:
            return
        if text:
            self.record.finals.append(text)
            self.utterance_open = True
        await self._results(text, is_final=True, speech_final=speech_final, from_finalize=from_finalize)

    async def _results(self, text: str, *, is_final: bool, speech_final: bool, from_finalize: bool = False) -> None:
        start = self.segment_start_ms / 1000
        end = (self.last_speech_ms if is_final else self.audio_ms) / 1000
        words = text.split()
        step = (end - start) / max(1, len(words))
        await self._send({
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(self.audio_ms / 1000 - start, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{
                "transcript": text,
                "confidence": 0.98 if text else 0.0,
                "words": [{"word": w.lower().strip(".,?!"), "start": round(start + i * step, 3),
                           "end": round(start + (i + 1) * step, 3), "confidence": 0.98, "punctuated_word": w}
                          for i, w in enumerate(words)],
            }]},
            "metadata": {"request_id": self.request_id, "model_info": {"name": "fake", "version": "0", "arch": "x"},
                         "model_uuid": "00000000-0000-0000-0000-000000000000"},
        })  # fmt: skip
        if is_final:
            # Audio up to here is final: the next segment starts after it.
            self.segment_start_ms = self.audio_ms

    async def _send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))


class _Speak:
    def __init__(self, fake: FakeDeepgram, ws: ServerConnection, query: dict[str, list[str]]):
        self.fake = fake
        self.ws = ws
        self.record = SpeakRecord(query=query)
        fake.speaks.append(self.record)
        self.buffer: list[str] = []
        self.jobs: asyncio.Queue = asyncio.Queue()
        self.sequence = 0
        self.flush_times: deque[float] = deque()
        self.drop_after = fake.drop_speak_after_bytes.popleft() if fake.drop_speak_after_bytes else None
        self.generation = 0  # bumped by Clear: jobs of an older generation are dropped

    async def run(self) -> None:
        worker = asyncio.ensure_future(self._work())
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    continue
                data = json.loads(message)
                kind = data.get("type")
                if kind == "Speak":
                    self.record.texts.append(data.get("text", ""))
                    self.buffer.append(data.get("text", ""))
                elif kind == "Flush":
                    now = time.monotonic()
                    while self.flush_times and now - self.flush_times[0] > 60:
                        self.flush_times.popleft()
                    if len(self.flush_times) >= self.fake.flush_limit:
                        await self.ws.send(
                            json.dumps(
                                {"type": "Warning", "description": "Flush limit exceeded", "code": "FLUSH_LIMIT"}
                            )
                        )
                        continue
                    self.flush_times.append(now)
                    self.record.flushes += 1
                    text, self.buffer = " ".join(self.buffer), []
                    self.jobs.put_nowait((self.generation, self.sequence, text, now))
                    self.sequence += 1
                elif kind == "Clear":
                    self.record.clears += 1
                    self.generation += 1
                    self.buffer = []
                    await self.ws.send(json.dumps({"type": "Cleared", "sequence_id": self.sequence}))
                elif kind == "Close":
                    self.record.closed = True
                    await self.ws.close(1000)
                    break
        except Exception:
            pass
        finally:
            worker.cancel()

    async def _work(self) -> None:
        while True:
            generation, sequence, text, flushed_at = await self.jobs.get()
            if generation != self.generation:
                continue
            wait = flushed_at + self.fake.tts_first_audio_ms / 1000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            audio = tone(max(200, len(text) * self.fake.tts_ms_per_char))
            chunk = 100 * BYTES_PER_MS
            for offset in range(0, len(audio), chunk):
                if generation != self.generation:
                    break
                piece = audio[offset : offset + chunk]
                if self.drop_after is not None and self.record.audio_bytes + len(piece) > self.drop_after:
                    self.ws.transport.abort()
                    return
                await self.ws.send(piece)
                self.record.audio_bytes += len(piece)
                await asyncio.sleep(len(piece) / BYTES_PER_MS / 1000 / self.fake.tts_speed)
            else:
                await self.ws.send(json.dumps({"type": "Flushed", "sequence_id": sequence}))


def _int(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query[name][0])
    except (KeyError, ValueError, IndexError):
        return default
