"""Open a real call over the Twilio media-stream socket with the instant providers (for tests of what a call
leaves behind: logs, metrics, recordings), and play the caller's side of it."""

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
    """1.2 s of a caller's words (eSpeak NG), µ-law."""
    from calls.voice.providers.espeak import synthesize_ulaw

    return synthesize_ulaw("What time do you open on Saturday morning?")[: int(1.2 * 8000)]


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
