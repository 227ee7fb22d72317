"""The browser softphone: staff talk to the voice agent from their microphone.

The page's JavaScript speaks the Twilio Media Streams protocol to the same socket Twilio uses
(`/ws/media-stream/`), so everything behind the socket is exercised exactly as on a phone call.
These views only pick the caller, create the call record and hand out a one-time stream token.
"""

from __future__ import annotations

import json
import uuid
from functools import wraps

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from calls import services
from calls.models import Call
from calls.stream_tokens import mint_stream_token
from crm.models import Customer
from crm.phones import format_phone_national, normalize_phone, phone_search_digits
from crm.services import find_customer_by_phone

SEARCH_LIMIT = 20
SEARCH_MIN_CHARS = 2
STREAM_TOKEN_TTL = 60  # seconds between "Call" and the socket's `start`: the page connects at once
# Keys of the DTMF pad with their captions; 0 asks the agent for a human (see CallSession._on_dtmf).
KEYPAD = [
    ("1", ""), ("2", "abc"), ("3", "def"), ("4", "ghi"), ("5", "jkl"), ("6", "mno"),
    ("7", "pqrs"), ("8", "tuv"), ("9", "wxyz"), ("*", ""), ("0", "advisor"), ("#", ""),
]  # fmt: skip


USE_SOFTPHONE = "calls.use_softphone"
VIEW_CUSTOMERS = "crm.view_customer"


def may_use_softphone(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(USE_SOFTPHONE)


def _softphone_json(*permissions: str):
    """Staff with the softphone permission (and `permissions`), answering JSON: a fetch() that follows a login
    redirect would get an HTML page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return JsonResponse({"error": "Your session has expired: sign in again."}, status=401)
            if not may_use_softphone(user):
                return JsonResponse({"error": "You don't have permission to use the softphone."}, status=403)
            if not user.has_perms(permissions):
                return JsonResponse({"error": "You don't have permission to look up customers."}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


@require_GET
@staff_member_required
def softphone_page(request):
    if not may_use_softphone(request.user):
        raise PermissionDenied("You don't have permission to use the softphone.")
    return render(
        request,
        "calls/softphone.html",
        {
            "shop_name": settings.SHOP_NAME,
            "keypad": KEYPAD,
            "can_search_customers": request.user.has_perm(VIEW_CUSTOMERS),
        },
    )


@require_GET
@_softphone_json(VIEW_CUSTOMERS)
def customer_search(request):
    """Up to 20 customers whose name or phone matches `q` (every word of a name must match)."""
    return JsonResponse({"customers": search_customers(request.GET.get("q", ""))})


def search_customers(query: str, *, limit: int = SEARCH_LIMIT) -> list[dict]:
    query = (query or "").strip()
    if len(query) < SEARCH_MIN_CHARS:
        return []
    digits = phone_search_digits(query)
    if digits:
        condition = Q(phone__contains=digits)
    else:
        condition = Q()
        for word in query.split():
            condition &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    customers = Customer.objects.filter(condition).order_by("last_name", "first_name", "pk")[:limit]
    return [{"id": c.pk, "name": c.full_name, "phone": c.phone, "phone_display": c.phone_display} for c in customers]


@require_POST
@_softphone_json()
def start_softphone_call(request):
    """Create the call and return what the page needs to open its media stream."""
    # Calling as a customer shows their name and number, and the agent reads out their appointments: the
    # softphone permission alone calls as an unknown caller.
    may_pick = request.user.has_perm(VIEW_CUSTOMERS)
    refused = JsonResponse({"error": "You don't have permission to look up customers."}, status=403)
    try:
        data = _request_data(request)
        if data.get("customer_id") not in (None, "") and not may_pick:
            return refused  # before the id is looked up: which ids exist is not theirs to learn either
        from_number = _caller_number(data)
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    customer = find_customer_by_phone(from_number)
    if customer is not None and not may_pick:
        return refused
    call_sid = "SP" + uuid.uuid4().hex
    call = services.start_call(
        call_sid=call_sid,
        from_number=from_number,
        to_number=settings.TWILIO_PHONE_NUMBER or "softphone",
        direction=Call.Direction.INBOUND,
        transport=Call.Transport.SOFTPHONE,
        customer=customer,
    )
    customer = call.customer
    return JsonResponse(
        {
            "call_sid": call.call_sid,
            "stream_sid": "MZ" + uuid.uuid4().hex,
            "token": mint_stream_token(call_sid=call.call_sid, ttl=STREAM_TOKEN_TTL),
            "ws_url": media_stream_ws_url(request),
            "caller": {
                "phone": from_number,
                "phone_display": format_phone_national(from_number),
                "customer_id": customer.pk if customer else None,
                "name": customer.full_name if customer else "",
            },
        }
    )


def media_stream_ws_url(request) -> str:
    """The media socket on the host and scheme (ws/wss) the page itself was served from."""
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/media-stream/"


def _request_data(request) -> dict:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("The request was not valid JSON.") from None
        if not isinstance(data, dict):
            raise ValidationError("The request must be a JSON object.")
        return data
    return request.POST.dict()


def _caller_number(data: dict) -> str:
    """E.164 number the call comes from: the picked customer's phone, or the typed number."""
    customer_id = data.get("customer_id")
    if customer_id not in (None, ""):
        try:
            pk = int(customer_id)
        except (TypeError, ValueError):
            raise ValidationError("Pick a customer from the list.") from None
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise ValidationError(f"There is no customer #{pk}: they may have been deleted. Search again.")
        return customer.phone
    phone = data.get("phone")
    if not isinstance(phone, str) or not phone.strip():
        raise ValidationError("Pick a customer, or type the number an unknown caller is calling from.")
    return normalize_phone(phone)
