"""Reminder calls ringing in the softphone: without Twilio the dialer "calls" the customer here instead, and a
staff member answers to play the customer (calls.telephony.dialer._ring_softphone).

The page polls `ringing`; `answer` hands exactly one member of staff the call's stream token (a conditional UPDATE
from ringing to in progress); `decline` is a busy line, retried like one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from calls.agent.reminder_script import what_phrase, when_phrase
from calls.models import Call
from calls.softphone import STREAM_TOKEN_TTL, VIEW_CUSTOMERS, _softphone_json, media_stream_ws_url
from calls.stream_tokens import mint_stream_token
from calls.telephony.dialer import SOFTPHONE_RING_SECONDS, end_unanswered_ring
from crm.phones import format_phone_national
from scheduling.availability import shop_tz
from scheduling.selectors import upcoming_appointments


def _ringing():
    since = timezone.now() - timedelta(seconds=SOFTPHONE_RING_SECONDS)
    return Call.objects.filter(
        transport=Call.Transport.SOFTPHONE,
        direction=Call.Direction.OUTBOUND,
        status=Call.Status.RINGING,
        ended_at__isnull=True,
        stream_sid="",
        started_at__gte=since,
    ).select_related("customer", "appointment")


def _about(call: Call) -> str:
    """ "oil change appointment tomorrow at 9:00 AM"."""
    appointment = call.appointment
    if appointment is None or call.customer is None:
        return "an appointment"
    for item in upcoming_appointments(customer=call.customer):
        if item.pk == appointment.pk:
            names = {"services": [s.name for s in item.service_types.all()]}
            start = item.start.astimezone(shop_tz()).isoformat()
            return f"{what_phrase(names)} {when_phrase(start, timezone.now())}"
    return "an appointment"


@require_GET
@_softphone_json(VIEW_CUSTOMERS)
def ringing(request):
    calls = [
        {
            "call_sid": call.call_sid,
            "name": call.customer.full_name if call.customer else "",
            "phone_display": format_phone_national(call.to_number),
            "about": _about(call),
        }
        for call in _ringing().order_by("started_at")[:5]
    ]
    return JsonResponse({"calls": calls})


@require_POST
@_softphone_json(VIEW_CUSTOMERS)
def answer(request, call_sid: str):
    taken = _ringing().filter(call_sid=call_sid).update(status=Call.Status.IN_PROGRESS)
    if taken != 1:
        return JsonResponse(
            {"error": "This call is no longer ringing: someone else answered, or it rang out."}, status=409
        )
    call = Call.objects.select_related("customer").get(call_sid=call_sid)
    return JsonResponse(
        {
            "call_sid": call.call_sid,
            "stream_sid": "MZ" + uuid.uuid4().hex,
            "token": mint_stream_token(call_sid=call.call_sid, ttl=STREAM_TOKEN_TTL),
            "ws_url": media_stream_ws_url(request),
            "caller": {
                "phone": call.to_number,
                "phone_display": format_phone_national(call.to_number),
                "customer_id": call.customer_id,
                "name": call.customer.full_name if call.customer else "",
            },
        }
    )


@require_POST
@_softphone_json(VIEW_CUSTOMERS)
def decline(request, call_sid: str):
    if not _ringing().filter(call_sid=call_sid).exists() or not end_unanswered_ring(call_sid, reason="line busy"):
        return JsonResponse({"error": "This call is no longer ringing."}, status=409)
    return JsonResponse({"declined": call_sid})
