"""Twilio Media Streams wire format (see ../shared/PROTOCOLS.md), and the transport that speaks it.

Outbound messages are built as strings: their only variable parts are ids and base64, which never
need JSON escaping, and this path runs for every audio chunk of every call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bartsvoice.db import in_db_thread
from calls.voice.transports.base import Transport

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class FrameError(ValueError):
    """A frame we cannot use; it is logged and skipped, the call goes on."""


@dataclass(slots=True)
class Inbound:
    event: str
    data: dict
    audio: bytes = b""


def parse_frame(text: str | bytes | None) -> Inbound:
    if text is None:
        raise FrameError("binary frame (Twilio sends text)")
    if len(text) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(text)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise FrameError("frame without an event name")
    event = data["event"]
    if event == "media":
        media = data.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str):
            raise FrameError("media frame without a payload")
        if isinstance(media, dict) and media.get("track", "inbound") not in ("inbound", "inbound_track"):
            raise FrameError(f"media on unexpected track {media.get('track')!r}")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise FrameError("media payload is not valid base64") from None
        return Inbound(event, data, audio)
    return Inbound(event, data)


def start_info(data: dict) -> dict:
    """The fields of a `start` frame we use, validated."""
    start = data.get("start")
    if not isinstance(start, dict):
        raise FrameError("start frame without a start object")
    call_sid = start.get("callSid") or ""
    stream_sid = start.get("streamSid") or data.get("streamSid") or ""
    params = start.get("customParameters") or {}
    if not isinstance(params, dict):
        params = {}
    if not _SAFE_ID.match(str(call_sid)) or not _SAFE_ID.match(str(stream_sid)):
        raise FrameError("start frame without a valid callSid/streamSid")
    return {"call_sid": call_sid, "stream_sid": stream_sid, "params": params}


def media_message(stream_sid: str, ulaw: bytes) -> str:
    payload = base64.b64encode(ulaw).decode("ascii")
    return f'{{"event":"media","streamSid":"{stream_sid}","media":{{"payload":"{payload}"}}}}'


def mark_message(stream_sid: str, name: str) -> str:
    return f'{{"event":"mark","streamSid":"{stream_sid}","mark":{{"name":"{name}"}}}}'


def clear_message(stream_sid: str) -> str:
    return f'{{"event":"clear","streamSid":"{stream_sid}"}}'


class MediaStreamTransport(Transport):
    """Audio to Twilio (or the softphone, which speaks the same protocol) over the ASGI socket."""

    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        close: Callable[[int], Awaitable[None]],
        *,
        stream_sid: str,
        call_sid: str,
        softphone: bool = False,
    ):
        self._send_text = send_text
        self._close = close
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.softphone = softphone
        self._recording: asyncio.Future[str | None] | None = None  # Twilio's recording of this call, when asked

    async def send_audio(self, ulaw: bytes) -> None:
        await self._send_text(media_message(self.stream_sid, ulaw))

    async def send_mark(self, name: str) -> None:
        await self._send_text(mark_message(self.stream_sid, name))

    async def send_clear(self) -> None:
        await self._send_text(clear_message(self.stream_sid))

    async def send_transcript(self, role: str, text: str, *, final: bool) -> None:
        if self.softphone:
            message = {"event": "transcript", "role": role, "text": text, "final": final}
            await self._send_text(json.dumps(message))

    async def hangup(self) -> None:
        if not self.softphone:
            from calls.telephony import rest

            # Closing the socket alone also ends a <Connect><Stream> call; the REST call makes it immediate.
            await in_db_thread(rest.hangup_call, self.call_sid)
        await self._close(1000)

    async def transfer(self, number: str) -> bool:
        if self.softphone or not number:
            return False
        from calls.telephony import rest

        return await in_db_thread(rest.transfer_call, self.call_sid, number)

    async def start_recording(self) -> None:
        if self.softphone or self._recording is not None:
            return
        from django.urls import reverse

        from calls.telephony import rest
        from calls.telephony.public import absolute_public_url

        self._recording = asyncio.get_running_loop().create_future()
        try:
            callback = absolute_public_url(reverse("calls:twilio-recording"))
            sid = await in_db_thread(rest.start_recording, self.call_sid, status_callback=callback)
        except Exception:
            log.exception("call %s: could not ask Twilio to record", self.call_sid)
            sid = None
        self._recording.set_result(sid)

    async def stop_recording(self) -> None:
        if self._recording is None:
            return
        from calls.telephony import rest

        sid = await self._recording  # a decline heard while the request was on its way waits for its SID
        if sid:
            await in_db_thread(rest.discard_recording, self.call_sid, sid)
