"""Deleting call recordings: Twilio's (calls.Call.recording_url points there: deleting one means asking Twilio)
and our own (calls.Call.recording_file, in the 'recordings' file storage: calls.recording_storage)."""

from __future__ import annotations

import enum
import logging
import re

from twilio.base.exceptions import TwilioException, TwilioRestException

from calls.models import Call
from calls.recording_storage import recordings_storage
from calls.telephony import rest

log = logging.getLogger(__name__)

_RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.\w+)?(?:[?#].*)?$")
_NOT_FOUND = 20404


class Deletion(enum.Enum):
    DELETED = "deleted"  # gone at Twilio (or was already)
    NOT_TWILIO = "not_twilio"  # a URL we cannot act on: only forgetting it is possible
    FAILED = "failed"  # Twilio refused or could not be reached, or is not configured: keep the URL, try again


def recording_sid(url: str) -> str | None:
    match = _RECORDING_SID.search(url or "")
    return match.group(1) if match else None


def delete_recording(url: str) -> Deletion:
    sid = recording_sid(url)
    if sid is None:
        log.warning("Recording URL %r is not a Twilio recording: only the link is removed", url[:120])
        return Deletion.NOT_TWILIO
    if not rest.is_configured():
        log.error("Cannot delete recording %s: Twilio is not configured (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)", sid)
        return Deletion.FAILED
    try:
        rest.get_client().recordings(sid).delete()
    except TwilioRestException as exc:
        if exc.code == _NOT_FOUND or exc.status == 404:
            return Deletion.DELETED
        log.error("Deleting recording %s failed: Twilio error %s (HTTP %s): %s", sid, exc.code, exc.status, exc.msg)
        return Deletion.FAILED
    except (TwilioException, OSError) as exc:
        log.error("Deleting recording %s failed: %s: %s", sid, type(exc).__name__, exc)
        return Deletion.FAILED
    log.info("Deleted recording %s", sid)
    return Deletion.DELETED


def delete_stored_recording(name: str) -> Deletion:
    """Delete our own recording file (a file already gone counts as deleted)."""
    try:
        recordings_storage().delete(name)
    except (OSError, NotImplementedError) as exc:
        log.error("Deleting recording file %s failed: %s: %s", name, type(exc).__name__, exc)
        return Deletion.FAILED
    log.info("Deleted recording file %s", name)
    return Deletion.DELETED


def delete_call_recordings(call_id: int, url: str, file_name: str) -> bool:
    """Delete both recordings of a call and forget them. False when one could not be deleted: its link stays so
    that a later run tries again."""
    ok = True
    if url:
        if delete_recording(url) is Deletion.FAILED:
            ok = False
        else:
            Call.objects.filter(pk=call_id, recording_url=url).update(recording_url="", recording_sid="")
    if file_name:
        if delete_stored_recording(file_name) is Deletion.FAILED:
            ok = False
        else:
            Call.objects.filter(pk=call_id, recording_file=file_name).update(recording_file="")
    return ok
