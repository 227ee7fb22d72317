"""Call recordings made by Twilio: what its recording callback tells us, and playing them to managers.

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
    body: requests.Response

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
