"""Open a real call over the Twilio media-stream socket with the instant providers (for tests of what a call
leaves behind: logs, metrics)."""

from __future__ import annotations

import json
import uuid

from channels.testing import WebsocketCommunicator

from bartsvoice.db import in_db_thread


async def open_instant_call(settings, stream_sid: str) -> tuple[WebsocketCommunicator, str]:
    """A ringing inbound call, its socket connected and started; returns (communicator, CallSid)."""
    from calls.media_stream import media_stream_app
    from calls.services import start_call
    from calls.stream_tokens import mint_stream_token
    from calls.voice.providers import registry

    for key in ("VOICE_STT", "VOICE_TTS", "VOICE_BRAIN"):
        setattr(settings, key, "instant")
    registry.stt_provider.cache_clear()
    sid = f"CA{uuid.uuid4().hex}"
    await in_db_thread(start_call, call_sid=sid, from_number="+13125550142", to_number="+13125550100",
                       direction="inbound", transport="twilio")
    token = await in_db_thread(mint_stream_token, call_sid=sid)
    comm = WebsocketCommunicator(media_stream_app, "/ws/media-stream/")
    assert (await comm.connect())[0]
    start = {"callSid": sid, "streamSid": stream_sid, "customParameters": {"token": token}, "tracks": ["inbound"]}
    await comm.send_to(text_data=json.dumps({"event": "start", "streamSid": stream_sid, "start": start}))
    return comm, sid
