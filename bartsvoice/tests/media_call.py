"""Media-stream calls for tests: one opened in-process with the instant providers (for tests of what a call leaves
behind: logs, metrics, recordings) with the caller's side of it, and the phone's side of a call on a real server's
socket (what Twilio sends and answers)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

from channels.testing import WebsocketCommunicator

from bartsvoice.db import in_db_thread


async def open_instant_call(settings, stream_sid: str, *, sid: str = "") -> tuple[WebsocketCommunicator, str]:
    """A ringing inbound call, its socket connected and started; returns (communicator, CallSid)."""
    from calls.media_stream import media_stream_app
    from calls.services import start_call
    from calls.stream_tokens import mint_stream_token
    from calls.voice.providers import registry

    for key in ("VOICE_STT", "VOICE_TTS", "VOICE_BRAIN"):
        setattr(settings, key, "instant")
    registry.stt_provider.cache_clear()
    sid = sid or f"CA{uuid.uuid4().hex}"
    await in_db_thread(
        start_call,
        call_sid=sid,
        from_number="+13125550142",
        to_number="+13125550100",
        direction="inbound",
        transport="twilio",
    )
    token = await in_db_thread(mint_stream_token, call_sid=sid)
    comm = WebsocketCommunicator(media_stream_app, "/ws/media-stream/")
    assert (await comm.connect())[0]
    start = {"callSid": sid, "streamSid": stream_sid, "customParameters": {"token": token}, "tracks": ["inbound"]}
    await comm.send_to(text_data=json.dumps({"event": "start", "streamSid": stream_sid, "start": start}))
    return comm, sid


def caller_speech() -> bytes:
    """1.2 s of a synthesized caller asking something (μ-law, 8 kHz): enough for the agent to hear a question."""
    from calls.voice.providers.espeak import synthesize_ulaw

    return synthesize_ulaw("What time do you open on Saturday morning?")[: int(1.2 * 8000)]


async def _until_marks(ws, timeout: float = 10.0) -> int:
    """Read one agent reply (audio, then its marks), echoing each mark as the phone would; returns audio bytes."""
    audio = 0
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), timeout if not audio else 0.5)
        except TimeoutError:
            if audio:
                return audio
            raise
        message = json.loads(raw)
        if message["event"] == "media":
            audio += len(base64.b64decode(message["media"]["payload"]))
        elif message["event"] == "mark":
            await ws.send(raw)


async def phone_side_of_a_stream(url: str, *, call_sid: str, token: str, speech: bytes, ssl=None) -> str:
    """What Twilio does on a real Media Streams socket at `url` (ws:// or wss://): start the stream, hear the
    greeting, send `speech` then silence, hear the reply, stop. Returns the stream's sid."""
    from websockets.asyncio.client import connect

    from calls.voice.audio import ulaw_silence

    stream_sid = "MZ" + uuid.uuid4().hex
    async with connect(url, ssl=ssl, open_timeout=10) as ws:
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "callSid": call_sid,
            "streamSid": stream_sid,
            "customParameters": {"token": token},
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000},
        }
        await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": start}))
        assert await _until_marks(ws) > 0  # the greeting was spoken
        for chunk in [speech[i : i + 160] for i in range(0, len(speech), 160)] + [ulaw_silence(20)] * 40:
            payload = base64.b64encode(chunk).decode()
            media = {"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "payload": payload}}
            await ws.send(json.dumps(media))
        assert await _until_marks(ws) > 0  # and the reply
        await ws.send(json.dumps({"event": "stop", "streamSid": stream_sid, "stop": {"callSid": call_sid}}))
    return stream_sid


def media_frame(ulaw: bytes, stream_sid: str = "MZm") -> str:
    payload = base64.b64encode(ulaw).decode()
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "payload": payload}})


async def say(
    comm: WebsocketCommunicator,
    ulaw: bytes,
    stream_sid: str = "MZm",
    *,
    then_silence_ms: int = 800,
    real_time: bool = False,
):
    """The caller speaks `ulaw` in 20 ms frames, then stays silent long enough to end the turn. `real_time` paces
    the frames like a phone line does (for what depends on when audio arrives, e.g. a recording's timeline)."""
    from calls.voice.audio import ulaw_silence

    frames = [ulaw[i : i + 160] for i in range(0, len(ulaw), 160)] + [ulaw_silence(20)] * (then_silence_ms // 20)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n, frame in enumerate(frames):
        if real_time and (ahead := start + n * 0.02 - loop.time()) > 0:
            await asyncio.sleep(ahead)  # the line's own pace, not a wait for something to happen
        await comm.send_to(text_data=media_frame(frame, stream_sid))


async def agent_reply(comm: WebsocketCommunicator, timeout: float = 5.0) -> int:
    """Read one agent reply and echo its marks, until the agent has been quiet for 300 ms. Returns the bytes of
    audio received."""
    loop = asyncio.get_running_loop()
    deadline, quiet_since, saw_mark, audio = loop.time() + timeout, loop.time(), False, 0
    while loop.time() < deadline and not (saw_mark and loop.time() - quiet_since > 0.3):
        if await comm.receive_nothing(timeout=0.02, interval=0.005):
            continue
        message = json.loads((await comm.receive_output())["text"])
        quiet_since = loop.time()
        if message.get("event") == "mark":
            saw_mark = True
            await comm.send_to(text_data=json.dumps(message))
        elif message.get("event") == "media":
            audio += len(base64.b64decode(message["media"]["payload"]))
    assert saw_mark, "the agent said nothing"
    return audio
