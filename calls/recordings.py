"""Call recordings: ours (calls.voice.recorder, in file storage) and Twilio's; playing them to managers.

Our own file is served from storage with single Range requests answered here. Twilio's recordings (what its
recording callback tells us) are proxied:

The media lives at Twilio behind the account's credentials. The browser never gets a Twilio URL or
credential: the call-detail player asks our own view (permission checked), which fetches the audio
server-side and passes it through, Range requests included, so the player can seek. Credentials go only
to Twilio's API host (or `TWILIO_API_BASE_URL`, a proxy or a test fake), never to whatever URL a row holds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError

from calls.models import Call
from calls.recording_storage import recordings_storage

log = logging.getLogger(__name__)

FETCH_TIMEOUT = (5, 30)  # connect, read (s)
MEDIA_FORMAT = ".mp3"  # Twilio transcodes on request; MP3 is small and every browser seeks in it
_TWILIO_API_HOST = "api.twilio.com"
_MEDIA_PATH = re.compile(r"^/2010-04-01/Accounts/AC\w+/Recordings/RE\w+$")
PASSED_HEADERS = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified", "ETag")


class RecordingUnavailable(Exception):
    """The recording cannot be fetched now (Twilio down, refused, or no credentials). Says why."""


def attach_recording(*, call_sid: str, url: str, recording_sid: str = "", seconds: str | int | None = None) -> Call:
    """Store a finished recording of a call (Twilio retries callbacks: the same one again is harmless)."""
    call = Call.objects.filter(call_sid=call_sid).first()
    if call is None:
        raise ValidationError(f"There is no call {call_sid!r} to attach a recording to.")
    media_path(url)  # refuse a URL we would never fetch
    call.recording_url = url
    call.recording_sid = (recording_sid or "")[:64]
    try:
        call.recording_seconds = max(0, int(seconds)) if seconds not in (None, "") else None
    except (TypeError, ValueError):
        call.recording_seconds = None
    call.save(update_fields=["recording_url", "recording_sid", "recording_seconds"])
    return call


def media_path(url: str) -> str:
    """The API path of a Twilio recording URL (without extension); ValidationError for anything else."""
    parts = urlsplit(url or "")
    path = re.sub(r"\.(mp3|wav|json)$", "", parts.path)
    if parts.scheme != "https" or parts.hostname != _TWILIO_API_HOST or not _MEDIA_PATH.match(path):
        raise ValidationError(f"Not a Twilio recording URL: {url!r}.")
    return path


@dataclass
class Upstream:
    status: int
    headers: dict[str, str]
    body: requests.Response | _Chunks

    def chunks(self, size: int = 64 * 1024):
        try:
            yield from self.body.iter_content(size)
        finally:
            self.body.close()


def fetch_recording(call: Call, *, range_header: str = "") -> Upstream:
    """Open the call's recording at Twilio (streaming), asking for `range_header` when the player sent one."""
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        raise RecordingUnavailable("Twilio credentials are not configured on this server.")
    try:
        path = media_path(call.recording_url)
    except ValidationError as exc:
        raise RecordingUnavailable("This call's recording address is not a Twilio recording.") from exc
    base = (settings.TWILIO_API_BASE_URL or f"https://{_TWILIO_API_HOST}").rstrip("/")
    headers = {"Range": range_header} if range_header else {}
    try:
        response = requests.get(
            base + path + MEDIA_FORMAT,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            headers=headers,
            stream=True,
            timeout=FETCH_TIMEOUT,
        )
    except requests.RequestException as exc:
        log.warning("recording of call %s: Twilio unreachable (%s)", call.pk, exc)
        raise RecordingUnavailable("Twilio could not be reached; try again in a moment.") from exc
    if response.status_code not in (200, 206, 416):
        response.close()
        log.warning("recording of call %s: Twilio answered %s", call.pk, response.status_code)
        if response.status_code == 404:
            raise RecordingUnavailable("Twilio no longer has this recording (deleted or expired).")
        raise RecordingUnavailable(f"Twilio refused the recording (HTTP {response.status_code}).")
    passed = {name: response.headers[name] for name in PASSED_HEADERS if name in response.headers}
    passed.setdefault("Content-Type", "audio/mpeg")
    return Upstream(response.status_code, passed, response)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def open_own_recording(call: Call, *, range_header: str = "") -> Upstream:
    """The call's own recording from storage, the part `range_header` asks for (one range; 416 when it cannot
    be satisfied). RecordingUnavailable when the file is gone from storage."""
    name = call.recording_file.name or ""
    storage = recordings_storage()
    try:
        size = storage.size(name)
        handle = storage.open(name, "rb")
    except (OSError, NotImplementedError) as exc:
        log.warning("recording of call %s: %s not in storage (%s)", call.pk, name, exc)
        raise RecordingUnavailable("The recording file is missing from storage.") from exc
    headers = {"Content-Type": "audio/wav", "Accept-Ranges": "bytes"}  # µ-law WAV (calls.voice.recorder)
    start, end = 0, size - 1
    status = 200
    match = _RANGE.match(range_header.strip()) if range_header else None
    if (range_header and match is None) or (match and not (match[1] or match[2])):
        handle.close()
        return Upstream(416, {**headers, "Content-Range": f"bytes */{size}"}, _Chunks(None, 0, 0))
    if match:
        if match[1]:
            start, end = int(match[1]), min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # the last N bytes
            start = max(0, size - int(match[2]))
        if start > end or start >= size:
            handle.close()
            return Upstream(416, {**headers, "Content-Range": f"bytes */{size}"}, _Chunks(None, 0, 0))
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Upstream(status, headers, _Chunks(handle, start, end - start + 1))


class _Chunks:
    """A byte span of an open storage file, read in chunks (the same `iter_content`/`close` as a response)."""

    def __init__(self, handle, start: int, length: int):
        self._handle, self._start, self._length = handle, start, length

    def iter_content(self, size: int):
        if self._handle is None:
            return
        self._handle.seek(self._start)
        left = self._length
        while left > 0 and (data := self._handle.read(min(size, left))):
            left -= len(data)
            yield data

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
