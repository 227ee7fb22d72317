"""Twilio voice webhooks. Thin: checks, then calls/services.py and twiml.py."""

import logging

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest

from calls import reminder_calls, services
from calls.models import Call
from calls.stream_tokens import mint_stream_token
from calls.telephony import rest, twiml
from calls.telephony.params import StatusParams, VoiceParams, read_params
from calls.telephony.public import media_stream_url
from calls.telephony.signatures import twilio_webhook
from calls.telephony.status import apply_status_callback
from crm.phones import mask_phone
from crm.services import find_customer_by_phone
from scheduling.models import ReminderAttempt

logger = logging.getLogger(__name__)

_MACHINE_PREFIXES = ("machine", "fax")
VOICEMAIL_SUMMARY = "Left a reminder message on voicemail"


def _twiml_response(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8")


def _no_stream(call: Call) -> HttpResponse:
    """A signed webhook for a call that has ended or already has its stream: a replay, most likely."""
    logger.warning(
        "Voice webhook for call %s refused: it is %s%s",
        call.call_sid,
        call.status,
        " and already has a stream" if call.stream_sid else "",
    )
    return HttpResponse("This call has ended or already has a media stream.", status=409, content_type="text/plain")


@twilio_webhook
def inbound_voice(request):
    """A caller rang the shop's number: record the call and hand its audio to the media stream."""
    params, bad = read_params(VoiceParams, request.POST)
    if bad:
        return bad
    call_sid, caller = params["CallSid"], params["From"]
    existing = services.get_call_by_sid(call_sid)
    if existing is not None and not services.may_open_stream(existing):
        return _no_stream(existing)
    try:
        call = services.start_call(
            call_sid=call_sid,
            from_number=caller,
            to_number=params["To"],
            direction=Call.Direction.INBOUND,
            transport=Call.Transport.TWILIO,
            customer=find_customer_by_phone(caller),
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    logger.info(
        "Inbound call %s from %s (call #%s, customer %s)", call_sid, mask_phone(caller), call.pk, call.customer_id
    )
    token = mint_stream_token(call_sid=call_sid)
    return _twiml_response(twiml.connect_stream(stream_url=media_stream_url(request), token=token))


@twilio_webhook
def outbound_voice(request, reminder_id: int):
    """A reminder call was answered: same media stream, with the call tied to the appointment."""
    reminder = ReminderAttempt.objects.select_related("appointment__customer").filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404("No such reminder.")
    params, bad = read_params(VoiceParams, request.POST)
    if bad:
        return bad
    call_sid = params["CallSid"]
    existing = services.get_call_by_sid(call_sid)
    if existing is not None and not services.may_open_stream(existing):
        return _no_stream(existing)
    if reminder.call_sid and reminder.call_sid != call_sid:
        logger.warning(
            "Outbound webhook for reminder #%s with call %s; its current call is %s",
            reminder.pk,
            call_sid,
            reminder.call_sid,
        )
    appointment = reminder.appointment
    try:
        call = services.start_call(
            call_sid=call_sid,
            from_number=params["From"],
            to_number=params["To"],
            direction=Call.Direction.OUTBOUND,
            transport=Call.Transport.TWILIO,
            customer=appointment.customer,
            appointment=appointment,
            reminder=reminder,
        )
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    reminder_calls.adopt_call(reminder, call_sid)
    logger.info("Reminder call %s answered (call #%s, reminder #%s)", call_sid, call.pk, reminder.pk)
    # With synchronous answering-machine detection Twilio says who answered before asking for TwiML:
    # a machine gets a short message instead of a conversation it cannot have.
    if params["AnsweredBy"].startswith(_MACHINE_PREFIXES):
        services.finish_call(call_id=call.pk, outcome=Call.Outcome.VOICEMAIL, summary=VOICEMAIL_SUMMARY)
        return _twiml_response(twiml.say_and_hang_up(twiml.reminder_voicemail_message(appointment)))
    token = mint_stream_token(call_sid=call_sid)
    return _twiml_response(twiml.connect_stream(stream_url=media_stream_url(request), token=token))


@twilio_webhook
def reminder_machine_detection(request, reminder_id: int):
    """Twilio's asynchronous answering-machine result for a reminder call, while the agent is already talking.

    A machine (after its greeting and beep) gets the short voicemail message instead of the conversation, then
    the call ends; a person, or "unknown", keeps the conversation."""
    reminder = ReminderAttempt.objects.select_related("appointment__customer").filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404("No such reminder.")
    params, bad = read_params(VoiceParams, request.POST)
    if bad:
        return bad
    call_sid, answered_by = params["CallSid"], params["AnsweredBy"]
    logger.info("Reminder call %s answered by %s", call_sid, answered_by or "?")
    if not answered_by.startswith(_MACHINE_PREFIXES):
        return HttpResponse(status=204)
    appointment = reminder.appointment
    call = services.start_call(
        call_sid=call_sid,
        from_number=params["From"],
        to_number=params["To"],
        direction=Call.Direction.OUTBOUND,
        transport=Call.Transport.TWILIO,
        customer=appointment.customer,
        appointment=appointment,
        reminder=reminder,
    )
    reminder_calls.adopt_call(reminder, call_sid)
    if answered_by == "fax":
        services.note_outcome(call_id=call.pk, outcome=Call.Outcome.FAILED, summary="A fax machine answered")
        rest.hangup_call(call_sid)
        return HttpResponse(status=204)
    services.note_outcome(call_id=call.pk, outcome=Call.Outcome.VOICEMAIL, summary=VOICEMAIL_SUMMARY)
    document = twiml.say_and_hang_up(twiml.reminder_voicemail_message(appointment))
    rest.redirect_call(call_sid, document, purpose="leave a voicemail on")
    return HttpResponse(status=204)


@twilio_webhook
def voice_status(request):
    """Twilio's call status callback: final statuses close the call record."""
    params, bad = read_params(StatusParams, request.POST)
    if bad:
        return bad
    try:
        call = apply_status_callback(params, reminder_id=_reminder_id(request))
    except ValidationError as exc:
        return HttpResponseBadRequest(" ".join(exc.messages), content_type="text/plain")
    if call is not None:
        logger.info(
            "Call %s ended: %s (status %s, outcome %s)",
            call.call_sid,
            params["CallStatus"],
            call.status,
            call.outcome or "-",
        )
    return HttpResponse(status=204)


def _reminder_id(request) -> int | None:
    """The dialer puts `?reminder=<id>` on a reminder call's status callback URL (signed with the rest)."""
    raw = request.GET.get("reminder", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None
