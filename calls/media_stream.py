"""WS /ws/media-stream/: Twilio Media Streams (and the softphone, which speaks the same protocol).

A bare ASGI application rather than a Channels consumer: Channels closes stale database
connections on every incoming message, a hop to a worker thread per 20 ms audio frame. The socket
never needs the database per frame, so it takes none of that; the database is used once at `start`
(in a thread) and per turn by the session's writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bartsvoice import metrics
from bartsvoice.db import in_db_thread
from bartsvoice.log_context import bind_call
from calls.models import Call
from calls.voice.bootstrap import open_stream_call
from calls.voice.providers import registry
from calls.voice.session import CallSession
from calls.voice.transports.base import TransportClosed
from calls.voice.transports.twilio import FrameError, MediaStreamTransport, parse_frame, start_info

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
START_TIMEOUT_S = 10.0  # a socket that doesn't identify its call by then is closed
_LOG_EVERY = 100  # after the first few, log one bad frame in this many


class _Connection:
    def __init__(self, send):
        self._send = send
        self.closed = False
        self.bad_frames = 0
        self.closing: asyncio.Future | None = None

    async def send_text(self, text: str) -> None:
        if self.closed:
            raise TransportClosed("the media stream has closed")
        try:
            await self._send({"type": "websocket.send", "text": text})
        except Exception as exc:
            # Between the caller's close frame and the disconnect event, daphne (autobahn) refuses sends with
            # its own exception: the caller has hung up, whatever the agent was saying.
            self.closed = True
            raise TransportClosed("the media stream has closed") from exc

    async def close(self, code: int = 1000) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(Exception):  # already gone from the other side
                await self._send({"type": "websocket.close", "code": code})

    def skip(self, reason: str) -> None:
        self.bad_frames += 1
        if self.bad_frames <= 5 or self.bad_frames % _LOG_EVERY == 0:
            log.warning("media stream: skipped frame (%s); %d skipped so far", reason, self.bad_frames)


async def media_stream_app(scope, receive, send):
    if scope["type"] != "websocket":
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    conn = _Connection(send)
    session: CallSession | None = None
    runner: asyncio.Task | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    try:
        while True:
            if session is None:
                try:
                    message = await asyncio.wait_for(receive(), max(0.01, deadline - loop.time()))
                except TimeoutError:
                    log.warning("media stream refused: no start within %.0f s", START_TIMEOUT_S)
                    await conn.close(POLICY_VIOLATION)
                    break
            else:
                message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                conn.closed = True
                if session is not None:
                    session.on_stop("completed")
                break
            if kind != "websocket.receive":
                continue
            try:
                frame = parse_frame(message.get("text") if message.get("text") is not None else message.get("bytes"))
            except FrameError as exc:
                conn.skip(str(exc))
                continue
            event = frame.event
            if event == "media":
                if session is not None:
                    session.on_audio(frame.audio)
            elif event == "mark":
                mark = frame.data.get("mark")
                if session is not None and isinstance(mark, dict) and isinstance(mark.get("name"), str):
                    session.on_mark(mark["name"])
            elif event == "dtmf":
                dtmf = frame.data.get("dtmf")
                if session is not None and isinstance(dtmf, dict) and isinstance(dtmf.get("digit"), str):
                    session.on_dtmf(dtmf["digit"])
            elif event == "start":
                if session is not None:
                    conn.skip("second start on one stream")
                    continue
                started_at = loop.time()  # greeting latency counts from the start frame, bootstrap included
                session = await _start_session(frame.data, conn)
                if session is None:
                    await conn.close(POLICY_VIOLATION)
                    break
                runner = asyncio.ensure_future(_serve(session, started_at))
                runner.add_done_callback(lambda _task: _close_after_call(conn))
            elif event == "stop":
                if session is not None:
                    session.on_stop("completed")
            elif event == "connected":
                continue
            else:
                conn.skip(f"unknown event {event!r}")
    finally:
        if runner is not None:
            if session is not None and not session.ended:
                session.on_stop("completed")
            with contextlib.suppress(Exception):
                await runner


async def _serve(session: CallSession, started_at: float) -> None:
    async with metrics.call_in_progress(session.ctx.direction):
        await session.run(started_at=started_at)


def _close_after_call(conn: _Connection) -> None:
    conn.closing = asyncio.ensure_future(conn.close(1000))  # kept, so it isn't garbage-collected mid-way


async def _start_session(data: dict, conn: _Connection) -> CallSession | None:
    try:
        info = start_info(data)
    except FrameError as exc:
        log.warning("media stream refused: %s", exc)
        return None
    # Every line logged for this call from here on (its session's tasks included) names it.
    bind_call(info["call_sid"], info["stream_sid"])
    token = info["params"].get("token")
    stream_call = await in_db_thread(
        open_stream_call,
        call_sid=info["call_sid"],
        stream_sid=info["stream_sid"],
        token=token if isinstance(token, str) else "",
    )
    if stream_call is None:
        log.warning("media stream refused for call %s: invalid stream token", info["call_sid"])
        return None
    transport = MediaStreamTransport(
        conn.send_text,
        conn.close,
        stream_sid=info["stream_sid"],
        call_sid=info["call_sid"],
        softphone=stream_call.transport == Call.Transport.SOFTPHONE,
    )
    return CallSession(
        transport=transport,
        ctx=stream_call.ctx,
        brain=registry.brain_for_call(),
        stt=registry.stt_provider(),
        tts=registry.tts_for_call(),
        fallback_tts=registry.fallback_tts_for_call(),
        vad=registry.speech_detector_for_call(),
        stt_hints=stream_call.hints,
    )
