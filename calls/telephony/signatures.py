"""Only Twilio may call the voice webhooks: every request must carry a valid `X-Twilio-Signature`."""

import functools
import logging

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, RequestValidator

from bartsvoice.log_context import call_logging
from calls.telephony.public import request_public_url

logger = logging.getLogger(__name__)

NOT_CONFIGURED_MESSAGE = "Twilio is not configured: set TWILIO_AUTH_TOKEN."


def is_signed_by_twilio(request) -> bool:
    """Whether the request's signature matches the public URL and POST parameters under our auth token."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(request_public_url(request), request.POST, signature)


def twilio_webhook(view):
    """POST-only, CSRF-exempt, and refused unless signed by Twilio. Nothing runs for a refused request.

    503 when no auth token is configured (unsigned requests are never accepted, not even then),
    403 for a missing or wrong signature.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not settings.TWILIO_AUTH_TOKEN:
            logger.error("Refused Twilio webhook %s: TWILIO_AUTH_TOKEN is not set", request.path)
            return HttpResponse(NOT_CONFIGURED_MESSAGE, status=503, content_type="text/plain")
        if not is_signed_by_twilio(request):
            hint = ""
            if request.headers.get(SIGNATURE_SETTINGS_HEADER):
                hint = " (request names a signing key other than the auth token; only auth-token signing is supported)"
            elif not settings.PUBLIC_BASE_URL:
                hint = " (behind a proxy? set PUBLIC_BASE_URL to the URL Twilio calls)"
            logger.warning(
                "Refused Twilio webhook %s: %s signature for %s%s",
                request.path,
                "invalid" if request.headers.get(SIGNATURE_HEADER) else "missing",
                request_public_url(request),
                hint,
            )
            return HttpResponse("Forbidden: invalid Twilio signature.", status=403, content_type="text/plain")
        with call_logging(str(request.POST.get("CallSid", ""))[:64]):  # the log lines of the call it is about
            return view(request, *args, **kwargs)

    return csrf_exempt(require_POST(wrapper))
