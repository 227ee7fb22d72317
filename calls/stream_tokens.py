"""One-time tokens that let a Twilio Media Stream in.

The WebSocket upgrade from Twilio is not reliably signed, so the signed voice webhook mints a token,
hands it to Twilio as a `<Parameter name="token">` of `<Stream>`, and the media-stream consumer redeems
it on the `start` message. A token is bound to one CallSid, expires after `ttl` seconds and works once.

Format: a TimestampSigner-signed JSON payload {sid, nonce, ttl}; nothing is stored when minting. Single
use is enforced at redemption with an atomic `cache.add` (SET NX on Redis) of the nonce, which every
web process shares.
"""

import logging
import secrets

from django.core import signing
from django.core.cache import cache

logger = logging.getLogger(__name__)

_SALT = "calls.stream-token"
_USED_KEY = "stream-token-used:{nonce}"
# The used-marker outlives the token by this margin so a token can never be redeemed after the marker
# expires (timestamps are whole seconds, so a token may be accepted up to ttl + 1 s after minting).
_USED_MARGIN_SECONDS = 60


def mint_stream_token(*, call_sid: str, ttl: int = 60) -> str:
    """A signed token for `call_sid`'s media stream, valid once within `ttl` seconds."""
    if not call_sid:
        raise ValueError("A stream token needs the CallSid it is bound to.")
    if ttl <= 0:
        raise ValueError("A stream token's lifetime must be positive.")
    payload = {"sid": call_sid, "nonce": secrets.token_urlsafe(16), "ttl": int(ttl)}
    return signing.TimestampSigner(salt=_SALT).sign_object(payload)


def redeem_stream_token(token: str, *, call_sid: str) -> bool:
    """True exactly once for a genuine, unexpired token bound to `call_sid`; False otherwise (logged)."""
    if not token:
        logger.warning("Stream token rejected for call %s: missing", call_sid or "?")
        return False
    signer = signing.TimestampSigner(salt=_SALT)
    try:
        payload = signer.unsign_object(token)
    except signing.BadSignature:
        logger.warning("Stream token rejected for call %s: bad signature or garbage", call_sid or "?")
        return False
    if not _well_formed(payload):
        logger.warning("Stream token rejected for call %s: malformed payload", call_sid or "?")
        return False
    try:
        signer.unsign_object(token, max_age=payload["ttl"])
    except signing.SignatureExpired:
        logger.warning("Stream token rejected for call %s: expired (ttl %s s)", call_sid or "?", payload["ttl"])
        return False
    if not call_sid or payload["sid"] != call_sid:
        logger.warning("Stream token rejected for call %s: bound to another call (%s)", call_sid or "?", payload["sid"])
        return False
    key = _USED_KEY.format(nonce=payload["nonce"])
    try:
        first_use = cache.add(key, 1, payload["ttl"] + _USED_MARGIN_SECONDS)
    except Exception:
        # Without the shared cache single use cannot be proven: refuse rather than risk a replay.
        logger.exception("Stream token rejected for call %s: cache unavailable", call_sid)
        return False
    if not first_use:
        logger.warning("Stream token rejected for call %s: already used", call_sid)
        return False
    return True


def _well_formed(payload) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("sid"), str)
        and isinstance(payload.get("nonce"), str)
        and bool(payload.get("nonce"))
        and isinstance(payload.get("ttl"), int)
        and payload["ttl"] > 0
    )
