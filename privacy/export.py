"""Everything the shop holds about one customer, as one JSON document (a data-subject access request)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from calls.models import Call
from crm.models import Customer
from privacy.models import PrivacyRequest

FORMAT_VERSION = 1


def customer_calls(customer: Customer) -> QuerySet[Call]:
    """The customer's calls: bound to them, or from (inbound) or to (outbound) their number."""
    by_number = Q(direction=Call.Direction.INBOUND, from_number=customer.phone) | Q(
        direction=Call.Direction.OUTBOUND, to_number=customer.phone
    )
    return Call.objects.filter(Q(customer=customer) | by_number).order_by("started_at")


def customer_document(customer: Customer) -> dict[str, Any]:
    return {
        "customer": {
            "id": customer.pk,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
            "email": customer.email,
            "postal_code": customer.postal_code,
            "do_not_call": customer.do_not_call,
            "wrong_number": customer.wrong_number,
            "wrong_number_reported_at": customer.wrong_number_reported_at,
            "notes": customer.notes,
            "created": customer.created,
            "updated": customer.updated,
        },
        "vehicles": list(
            customer.vehicles.order_by("pk").values(
                "id", "vin", "year", "make", "model", "trim", "mileage", "plate", "decoded", "created"
            )
        ),
        "appointments": [
            {
                "id": appointment.pk,
                "start": appointment.start,
                "end": appointment.end,
                "status": appointment.status,
                "services": [service.name for service in appointment.service_types.all()],
                "vehicle_id": appointment.vehicle_id,
                "transport": appointment.transport,
                "notes": appointment.notes,
                "source": appointment.source,
                "cancel_reason": appointment.cancel_reason,
                "created": appointment.created,
                "reminders": list(
                    appointment.reminders.order_by("pk").values("kind", "status", "attempts", "result", "call_sid")
                ),
            }
            for appointment in customer.appointments.order_by("start").prefetch_related("service_types", "reminders")
        ],
        "calls": [
            {
                "call_sid": call.call_sid,
                "direction": call.direction,
                "from": call.from_number,
                "to": call.to_number,
                "started_at": call.started_at,
                "ended_at": call.ended_at,
                "outcome": call.outcome,
                "summary": call.summary,
                "recording_url": call.recording_url,
                "recording_file": call.recording_file.name or "",  # ours, in the server's file storage
                "turns": [{"role": turn.role, "text": turn.text, "at": turn.started_at} for turn in call.turns.all()],
                "tool_calls": [
                    {"tool": tool.name, "arguments": tool.arguments, "result": tool.result, "ok": tool.ok}
                    for tool in call.tool_calls.all()
                ],
            }
            for call in customer_calls(customer).prefetch_related("turns", "tool_calls")
        ],
    }


@transaction.atomic
def export_customer(*, customer: Customer, by: User, reason: str) -> dict[str, Any]:
    """The customer's document, with an audit entry saying who took it and why."""
    content = customer_document(customer)
    document = {"format": "bartsvoice-customer-export", "version": FORMAT_VERSION, "exported_at": timezone.now()}
    document.update(content)
    PrivacyRequest.objects.create(
        action=PrivacyRequest.Action.EXPORT,
        customer=customer,
        customer_ref=customer.pk,
        requested_by=by,
        requested_by_name=by.get_username(),
        reason=reason[:300],
        details={key: len(content[key]) for key in ("vehicles", "appointments", "calls")},
    )
    return document
