"""POST /twilio/voice/recording/: Twilio's recording status callback (signed, like every voice webhook)."""

import logging

from django.core.exceptions import ValidationError
from django.http import HttpResponse

from calls.recordings import attach_recording
from calls.telephony.params import RecordingParams, read_params
from calls.telephony.signatures import twilio_webhook

logger = logging.getLogger(__name__)


@twilio_webhook
def recording_status(request):
    """A recording is ready (`RecordingStatus=completed`): remember where it is. Other statuses are progress."""
    params, bad = read_params(RecordingParams, request.POST)
    if bad:
        return bad  # a value that cannot fit its column: refused whole, before anything is written
    if (params["RecordingStatus"] or "completed") != "completed":
        return HttpResponse(status=204)
    try:
        call = attach_recording(
            call_sid=params["CallSid"],
            url=params["RecordingUrl"],
            recording_sid=params["RecordingSid"],
            seconds=params["RecordingDuration"],
        )
    except ValidationError as exc:
        logger.warning("Recording callback ignored: %s", " ".join(exc.messages))
        # 200, not an error: Twilio would only retry a request that can never succeed.
        return HttpResponse(" ".join(exc.messages), status=200, content_type="text/plain")
    logger.info("Recording %s stored for call %s", call.recording_sid, call.call_sid)
    return HttpResponse(status=204)
