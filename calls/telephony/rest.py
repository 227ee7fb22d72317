"""Twilio REST actions on calls: hang up, transfer to an advisor, place a reminder call.

The functions block on HTTP (timeouts below). From async code use the `a…` wrappers, which run them in
a worker thread. Without TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN every action is a logged no-op that
returns a falsy value, so the offline demo and the simulator never reach out.

`TWILIO_API_BASE_URL` (e.g. "http://127.0.0.1:8765") sends every request to another host with the same
paths: a local fake in tests, or an egress proxy.
"""

import logging
import threading
from urllib.parse import urlsplit, urlunsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from twilio.base import values
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from calls.telephony import twiml
from crm.phones import mask_phone, try_normalize_phone

logger = logging.getLogger(__name__)

# Seconds per HTTP request. Mid-call actions must not hang a call's session for long.
REQUEST_TIMEOUT = 10
# Twilio error codes meaning the call is already over: no such (live) call, or "not in-progress".
CALL_NOT_FOUND = 20404
CALL_NOT_IN_PROGRESS = 21220
TRANSFER_MESSAGE = "Please hold while I connect you to a service advisor."


class TelephonyError(Exception):
    """Twilio refused a request or could not be reached. The message says why, for logs and people."""


class OutboundCallRefused(TelephonyError):
    """We will not dial this number (not a valid phone number, or not on OUTBOUND_CALL_ALLOWLIST)."""


class TelephonyUnreachable(TelephonyError):
    """No answer from Twilio (timeout, connection reset): the request may or may not have been carried out."""


class _BaseUrlHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to `base_url` instead of *.twilio.com, keeping paths and queries."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        parts = urlsplit(base_url.rstrip("/"))
        self._scheme, self._netloc, self._prefix = parts.scheme, parts.netloc, parts.path

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


_clients: dict[tuple[str, str, str], Client] = {}
_clients_lock = threading.Lock()


def is_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def get_client() -> Client:
    """One client (and HTTP connection pool) per configuration, shared by all threads."""
    key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if settings.TWILIO_API_BASE_URL:
                http_client = _BaseUrlHttpClient(settings.TWILIO_API_BASE_URL, timeout=REQUEST_TIMEOUT)
            else:
                http_client = TwilioHttpClient(timeout=REQUEST_TIMEOUT)
            # environment={} keeps the SDK from reading TWILIO_* variables behind the settings' back.
            client = Client(key[0], key[1], http_client=http_client, environment={})
            _clients[key] = client
        return client


def hangup_call(call_sid: str) -> bool:
    """End a live call now. True when it is over (including when it already was)."""
    if not _ready("hang up", call_sid):
        return False
    try:
        get_client().calls(call_sid).update(status="completed")
    except TwilioRestException as exc:
        if exc.code in (CALL_NOT_FOUND, CALL_NOT_IN_PROGRESS):
            logger.info("Hang-up of %s: the call had already ended", call_sid)
            return True
        logger.error("Hang-up of %s failed: Twilio error %s (HTTP %s): %s", call_sid, exc.code, exc.status, exc.msg)
        return False
    except (TwilioException, OSError) as exc:
        logger.error("Hang-up of %s failed: %s", call_sid, _describe(exc))
        return False
    logger.info("Hung up call %s", call_sid)
    return True


def transfer_call(call_sid: str, to_number: str, *, message: str = TRANSFER_MESSAGE) -> bool:
    """Replace the call's media stream with a <Dial> to `to_number` (a service advisor)."""
    if not _ready("transfer", call_sid):
        return False
    number = try_normalize_phone(to_number or "")
    if number is None:
        logger.error(
            "Transfer of %s refused: %r is not a phone number (check SHOP_ADVISOR_NUMBER)", call_sid, to_number
        )
        return False
    document = twiml.transfer(to_number=number, message=message)
    try:
        get_client().calls(call_sid).update(twiml=document)
    except TwilioRestException as exc:
        logger.error(
            "Transfer of %s to %s failed: Twilio error %s: %s", call_sid, mask_phone(number), exc.code, exc.msg
        )
        return False
    except (TwilioException, OSError) as exc:
        logger.error("Transfer of %s to %s failed: %s", call_sid, mask_phone(number), _describe(exc))
        return False
    logger.info("Transferred call %s to %s", call_sid, mask_phone(number))
    return True


def place_call(
    *,
    to: str,
    url: str,
    status_callback: str = "",
    from_: str = "",
    machine_detection: str = "",
    async_amd: bool = False,
    async_amd_status_callback: str = "",
    record: bool = False,
    timeout: int = 30,
) -> str | None:
    """Dial `to`; Twilio fetches `url` for TwiML when answered. Returns the new CallSid.

    None (logged) when Twilio or TWILIO_PHONE_NUMBER is not configured. Raises OutboundCallRefused for
    a number we may not call, TelephonyError when Twilio refuses or is unreachable.
    """
    number = try_normalize_phone(to or "")
    if number is None:
        raise OutboundCallRefused(f"“{to}” is not a phone number we can dial.")
    allowlist = settings.OUTBOUND_CALL_ALLOWLIST
    if allowlist and number not in {try_normalize_phone(n) or n for n in allowlist}:
        logger.warning("Refused to dial %s: not on OUTBOUND_CALL_ALLOWLIST", mask_phone(number))
        raise OutboundCallRefused(f"{number} is not on OUTBOUND_CALL_ALLOWLIST; calls go only to listed numbers.")
    if not is_configured():
        logger.warning(
            "Not dialling %s: Twilio is not configured (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)", mask_phone(number)
        )
        return None
    caller_id = from_ or settings.TWILIO_PHONE_NUMBER
    if not caller_id:
        logger.warning("Not dialling %s: TWILIO_PHONE_NUMBER (the caller ID) is not set", mask_phone(number))
        return None
    options: dict = {"url": url, "timeout": timeout}
    if status_callback:
        options["status_callback"] = status_callback  # Twilio then reports the final status only
    if machine_detection:
        options["machine_detection"] = machine_detection
        if async_amd:
            options["async_amd"] = "true"
            if async_amd_status_callback:
                options["async_amd_status_callback"] = async_amd_status_callback
    if record:
        options["record"] = True
    try:
        call = get_client().calls.create(to=number, from_=caller_id, **options)
    except TwilioRestException as exc:
        raise TelephonyError(f"Twilio refused the call to {number}: error {exc.code}: {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise TelephonyUnreachable(f"Could not reach Twilio to call {number}: {_describe(exc)}") from exc
    logger.info("Dialling %s: call %s", mask_phone(number), call.sid)
    return call.sid


def start_recording(call_sid: str, *, status_callback: str) -> str | None:
    """Ask Twilio to record a live call in two channels; it posts the result to `status_callback` (signed, like
    every webhook). Returns the recording SID, None when it could not (logged: the call goes on unrecorded)."""
    if not _ready("record", call_sid):
        return None
    try:
        recording = (
            get_client()
            .calls(call_sid)
            .recordings.create(
                recording_channels="dual",
                recording_status_callback=status_callback,
                recording_status_callback_event=["completed"],
            )
        )
    except (TwilioException, OSError) as exc:
        logger.error("Could not record call %s: %s", call_sid, _describe(exc))
        return None
    logger.info("Twilio is recording call %s (%s)", call_sid, recording.sid)
    return recording.sid


def discard_recording(call_sid: str, recording_sid: str) -> bool:
    """Stop a live recording and delete it (the caller declined). True when nothing of it is kept at Twilio."""
    if not _ready("stop recording", call_sid):
        return False
    client = get_client()
    try:
        client.calls(call_sid).recordings(recording_sid).update(status="stopped")
    except TwilioRestException as exc:
        if exc.status != 404:  # an ended call has stopped recording already
            logger.error("Could not stop recording %s: Twilio error %s: %s", recording_sid, exc.code, exc.msg)
    except (TwilioException, OSError) as exc:
        logger.error("Could not stop recording %s: %s", recording_sid, _describe(exc))
    try:
        client.recordings(recording_sid).delete()
    except TwilioRestException as exc:
        if exc.status == 404:
            return True
        logger.error("Could not delete recording %s: Twilio error %s: %s", recording_sid, exc.code, exc.msg)
        return False
    except (TwilioException, OSError) as exc:
        logger.error("Could not delete recording %s: %s", recording_sid, _describe(exc))
        return False
    logger.info("Recording %s of call %s stopped and deleted", recording_sid, call_sid)
    return True


def redirect_call(call_sid: str, document: str, *, purpose: str) -> bool:
    """Replace what a live call is doing with the TwiML `document` (e.g. a voicemail message instead of the
    stream). False when it failed or the call is over (logged, with `purpose`)."""
    if not _ready(purpose, call_sid):
        return False
    try:
        get_client().calls(call_sid).update(twiml=document)
    except TwilioRestException as exc:
        level = logging.INFO if exc.code in (CALL_NOT_FOUND, CALL_NOT_IN_PROGRESS) else logging.ERROR
        logger.log(level, "Could not %s call %s: Twilio error %s: %s", purpose, call_sid, exc.code, exc.msg)
        return False
    except (TwilioException, OSError) as exc:
        logger.error("Could not %s call %s: %s", purpose, call_sid, _describe(exc))
        return False
    return True


def recent_calls_to(number: str, *, since) -> list[dict]:
    """Calls Twilio placed to `number` from our caller ID since `since` (newest first), as {sid, status,
    answered_by}: how the dialer finds out whether a call went out when it could not hear Twilio's answer."""
    if not is_configured():
        return []
    try:
        found = get_client().calls.list(
            to=number, from_=settings.TWILIO_PHONE_NUMBER or values.unset, start_time_after=since, limit=20
        )
    except TwilioRestException as exc:
        raise TelephonyError(f"Twilio refused the call list: error {exc.code}: {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise TelephonyUnreachable(f"Could not reach Twilio for the call list: {_describe(exc)}") from exc
    # Twilio filters by day only; the exact cut is ours.
    return [
        {"sid": c.sid, "status": c.status, "answered_by": c.answered_by or ""}
        for c in found
        if c.date_created is None or c.date_created >= since.replace(microsecond=0)  # Twilio keeps whole seconds
    ]


def send_sms(*, to: str, body: str, status_callback: str = "") -> str:
    """Send a text from TWILIO_PHONE_NUMBER; returns the message SID. Raises TelephonyError (Twilio refused or
    unreachable) and OutboundCallRefused (not a number). Callers check configuration and the allowlist."""
    number = try_normalize_phone(to or "")
    if number is None:
        raise OutboundCallRefused(f"“{to}” is not a phone number we can text.")
    options = {"status_callback": status_callback} if status_callback else {}
    try:
        message = get_client().messages.create(to=number, from_=settings.TWILIO_PHONE_NUMBER, body=body, **options)
    except TwilioRestException as exc:
        raise TelephonyError(f"Twilio refused the text to {mask_phone(number)}: error {exc.code}: {exc.msg}") from exc
    except (TwilioException, OSError) as exc:
        raise TelephonyUnreachable(f"Could not reach Twilio to text {mask_phone(number)}: {_describe(exc)}") from exc
    logger.info("Texted %s: message %s", mask_phone(number), message.sid)
    return message.sid


# Async wrappers: they run the blocking call in a worker thread (no database access, so not
# thread-sensitive: a slow Twilio must not hold up other calls' database writes).
ahangup_call = sync_to_async(hangup_call, thread_sensitive=False)
atransfer_call = sync_to_async(transfer_call, thread_sensitive=False)
aplace_call = sync_to_async(place_call, thread_sensitive=False)


def _ready(action: str, call_sid: str) -> bool:
    if not is_configured():
        logger.warning(
            "Not able to %s call %s: Twilio is not configured (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)",
            action,
            call_sid or "?",
        )
        return False
    if not call_sid:
        logger.warning("Not able to %s: no CallSid", action)
        return False
    return True


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
