"""The Twilio side of a Media Stream, for tests, benchmarks and trying the agent without a phone.

It plays what Twilio does: sends `connected`, `start` (with the token parameter), caller audio as
20 ms `media` frames in real time, `dtmf`, `stop`; and, like a phone, "plays" the agent's audio on a
clock: marks are echoed when the audio before them has played, `clear` drops unplayed audio and
echoes pending marks at once. It records what it heard with timestamps for latency figures.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

FRAME_BYTES = 160
FRAME_S = 0.02


@dataclass
class Heard:
    media: list[tuple[float, int]] = field(default_factory=list)  # (arrival time, bytes)
    clears: list[float] = field(default_factory=list)
    marks: list[tuple[float, str]] = field(default_factory=list)
    transcripts: list[dict] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)  # playback underruns inside an agent turn (s)
    closed_code: int | None = None


class TwilioStreamClient:
    def __init__(self, url: str, *, call_sid: str, token: str, stream_sid: str | None = None, extra_params=None):
        self.url = url
        self.call_sid = call_sid
        self.token = token
        self.stream_sid = stream_sid or f"MZ{call_sid[2:]}"
        self.extra_params = extra_params or {}
        self.heard = Heard()
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._seq = 0
        self._chunk = 0
        self._t0 = 0.0
        self._play_end = 0.0  # when the audio received so far finishes playing
        self._pending_marks: list[tuple[float, str]] = []
        self._mark_task: asyncio.Task | None = None
        self.gap_threshold_s = 0.06  # a pause longer than this between agent sentences counts as a gap

    # -- connection
    async def connect(self, *, send_start: bool = True) -> None:
        self._ws = await connect(self.url, max_size=2**20, open_timeout=10)
        self._t0 = time.monotonic()
        self._reader = asyncio.ensure_future(self._read())
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        if send_start:
            await self.start()

    async def start(self) -> float:
        params = {"token": self.token, **self.extra_params}
        self.start_sent_at = time.monotonic()
        await self._send(
            {
                "event": "start",
                "streamSid": self.stream_sid,
                "start": {
                    "accountSid": "AC" + "0" * 32,
                    "callSid": self.call_sid,
                    "streamSid": self.stream_sid,
                    "tracks": ["inbound"],
                    "customParameters": params,
                    "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                },
            }
        )
        return self.start_sent_at

    async def close(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)
        if self._mark_task is not None:
            self._mark_task.cancel()

    async def wait_closed(self, timeout: float = 10) -> int | None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.heard.closed_code

    # -- sending
    async def _send(self, message: dict) -> None:
        self._seq += 1
        message.setdefault("sequenceNumber", str(self._seq))
        await self._ws.send(json.dumps(message))

    async def send_raw(self, text: str | bytes) -> None:
        await self._ws.send(text)

    async def stream_audio(self, ulaw: bytes, *, realtime: bool = True) -> tuple[float, float]:
        """Send audio as 20 ms frames on a real-time clock. Returns (first frame sent, last frame sent)."""
        first = last = time.monotonic()
        next_at = first
        for offset in range(0, len(ulaw), FRAME_BYTES):
            frame = ulaw[offset : offset + FRAME_BYTES]
            if len(frame) < FRAME_BYTES:
                frame = frame + b"\xff" * (FRAME_BYTES - len(frame))
            if realtime:
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at += FRAME_S
            self._chunk += 1
            last = time.monotonic()
            await self._send(
                {
                    "event": "media",
                    "streamSid": self.stream_sid,
                    "media": {
                        "track": "inbound",
                        "chunk": str(self._chunk),
                        "timestamp": str(int((last - self._t0) * 1000)),
                        "payload": base64.b64encode(frame).decode("ascii"),
                    },
                }
            )
        return first, last

    # -- continuous streaming, as Twilio does: silence frames whenever the caller is not talking
    def start_pump(self) -> None:
        self._speech: list[bytes] = []
        self._speech_done: asyncio.Future | None = None
        self._pump = asyncio.ensure_future(self._pump_frames())

    async def say(self, ulaw: bytes) -> tuple[float, float]:
        """Queue caller speech on the running pump; returns when it was sent: (first frame, last frame)."""
        loop = asyncio.get_running_loop()
        self._speech = [ulaw[i : i + FRAME_BYTES] for i in range(0, len(ulaw), FRAME_BYTES)]
        self._speech_done = loop.create_future()
        self._speech_times: list[float] = []
        await self._speech_done
        return self._speech_times[0], self._speech_times[-1]

    async def stop_pump(self) -> None:
        pump = getattr(self, "_pump", None)
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump

    async def _pump_frames(self) -> None:
        silence = b"\xff" * FRAME_BYTES
        next_at = time.monotonic()
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            next_at += FRAME_S
            if self._speech:
                frame = self._speech.pop(0)
                frame = frame + silence[len(frame) :]
                self._speech_times.append(time.monotonic())
                if not self._speech and self._speech_done is not None and not self._speech_done.done():
                    self._speech_done.set_result(None)
            else:
                frame = silence
            self._chunk += 1
            self._seq += 1
            stamp = int((time.monotonic() - self._t0) * 1000)
            payload = base64.b64encode(frame).decode("ascii")
            try:
                # Built by hand: this runs 50 times a second per simulated call.
                await self._ws.send(
                    f'{{"event":"media","sequenceNumber":"{self._seq}","streamSid":"{self.stream_sid}",'
                    f'"media":{{"track":"inbound","chunk":"{self._chunk}","timestamp":"{stamp}",'
                    f'"payload":"{payload}"}}}}'
                )
            except ConnectionClosed:
                if self._speech_done is not None and not self._speech_done.done():
                    self._speech_done.set_exception(ConnectionError("stream closed while speaking"))
                return

    async def silence(self, seconds: float) -> None:
        await self.stream_audio(b"\xff" * int(seconds * 8000))

    async def send_dtmf(self, digit: str) -> None:
        await self._send(
            {"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"track": "inbound_track", "digit": digit}}
        )

    async def stop(self) -> None:
        await self._send(
            {
                "event": "stop",
                "streamSid": self.stream_sid,
                "stop": {"accountSid": "AC" + "0" * 32, "callSid": self.call_sid},
            }
        )

    # -- receiving, with a simulated phone's playback clock
    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                now = time.monotonic()
                message = json.loads(raw)
                event = message.get("event")
                if event == "media":
                    size = len(base64.b64decode(message["media"]["payload"]))
                    self.heard.media.append((now, size))
                    if self._play_end and now > self._play_end:
                        gap = now - self._play_end
                        if gap > self.gap_threshold_s and self._in_agent_turn:
                            self.heard.gaps.append(gap)
                    start = max(now, self._play_end)
                    self._play_end = start + size / 8000
                    self._in_agent_turn = True
                elif event == "mark":
                    self._pending_marks.append((self._play_end, message["mark"]["name"]))
                    self._schedule_marks()
                elif event == "clear":
                    self.heard.clears.append(now)
                    self._play_end = now
                    self._in_agent_turn = False
                    pending, self._pending_marks = self._pending_marks, []
                    for _, name in pending:
                        await self._echo_mark(name)
                elif event == "transcript":
                    self.heard.transcripts.append(message)
        except ConnectionClosed:
            return
        finally:
            close_code = getattr(self._ws, "close_code", None)
            self.heard.closed_code = close_code

    _in_agent_turn = False

    def end_agent_turn(self) -> None:
        """Silence after this point is the agent waiting, not a gap in its speech."""
        self._in_agent_turn = False

    def _schedule_marks(self) -> None:
        if self._mark_task is None or self._mark_task.done():
            self._mark_task = asyncio.ensure_future(self._mark_pump())

    async def _mark_pump(self) -> None:
        while self._pending_marks:
            due, name = self._pending_marks[0]
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            self._pending_marks.pop(0)
            if not self._pending_marks:
                self._in_agent_turn = False
            await self._echo_mark(name)

    async def _echo_mark(self, name: str) -> None:
        self.heard.marks.append((time.monotonic(), name))
        with contextlib.suppress(Exception):
            await self._send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})

    # -- waiting for things
    def media_after(self, t: float) -> float | None:
        for arrived, _ in self.heard.media:
            if arrived >= t:
                return arrived
        return None

    async def wait_for_media_after(self, t: float, timeout: float = 10) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.media_after(t)
            if found is not None:
                return found
            await asyncio.sleep(0.005)
        return None

    async def wait_agent_quiet(self, timeout: float = 30, settle: float = 0.3) -> None:
        """Until the agent's audio has played out and nothing new arrived for `settle` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.heard.media[-1][0] if self.heard.media else 0
            now = time.monotonic()
            if now >= self._play_end and now - last >= settle and not self._pending_marks:
                return
            await asyncio.sleep(0.02)
