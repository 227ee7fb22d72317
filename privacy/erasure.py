"""Erasing a customer on request: their personal data goes, the shop's records stay (anonymised).

- recordings of their calls are deleted at Twilio first; if one cannot be, nothing else is changed and the
  erasure can simply be asked again (the ones deleted stay deleted);
- their calls lose transcripts, tool calls, summary, their number and the link to them (outcome and duration stay
  for the shop's figures);
- upcoming appointments are cancelled; every appointment keeps its time, services and status, but loses its notes,
  vehicle and calendar link;
- vehicles are deleted; the customer row stays as an anonymous shell ("Erased customer #12", never called again),
  so appointments keep a customer;
- an audit entry says who erased customer #N, when, why and how much was removed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from calls.models import Call, ToolCall, Turn
from crm.models import Customer
from privacy.export import customer_calls
from privacy.models import PrivacyRequest
from privacy.recordings import delete_call_recordings
from scheduling.models import Appointment
from scheduling.services import cancel_appointment

ERASED_REASON = "customer data erased"


class ErasureRefused(ValidationError):
    pass


def erased_name(customer_id: int) -> str:
    return f"Erased customer #{customer_id}"


def is_erased(customer: Customer) -> bool:
    return PrivacyRequest.objects.filter(customer_ref=customer.pk, action=PrivacyRequest.Action.ERASE).exists()


def erase_customer(*, customer: Customer, by, reason: str) -> PrivacyRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ErasureRefused("Say why (the customer's request and how it came in): it goes in the audit log.")
    if is_erased(customer):
        raise ErasureRefused(f"Customer #{customer.pk} has already been erased.")
    deleted, failed = _delete_recordings(customer)
    if failed:
        raise ErasureRefused(
            f"{failed} recording(s) of this customer's calls could not be deleted at Twilio, so nothing else was "
            "erased yet. Check the Twilio settings and the log, then erase again."
        )
    return _erase_records(customer=customer, by=by, reason=reason, recordings_deleted=deleted)


def _delete_recordings(customer: Customer) -> tuple[int, int]:
    deleted = failed = 0
    recorded = customer_calls(customer).exclude(recording_url="", recording_file="")
    for pk, url, file_name in recorded.values_list("pk", "recording_url", "recording_file"):
        if not delete_call_recordings(pk, url, file_name):
            failed += 1
            continue
        deleted += 1
    return deleted, failed


@transaction.atomic
def _erase_records(*, customer: Customer, by, reason: str, recordings_deleted: int) -> PrivacyRequest:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if is_erased(customer):  # a second erasure raced this one
        raise ErasureRefused(f"Customer #{customer.pk} has already been erased.")
    now = timezone.now()
    call_ids = list(customer_calls(customer).values_list("pk", flat=True))
    details = {
        "recordings_deleted": recordings_deleted,
        "turns_deleted": Turn.objects.filter(call_id__in=call_ids).delete()[0],
        "tool_calls_deleted": ToolCall.objects.filter(call_id__in=call_ids).delete()[0],
        "calls_anonymised": len(call_ids),
    }
    calls = Call.objects.filter(pk__in=call_ids)
    calls.filter(direction=Call.Direction.INBOUND).update(from_number="")
    calls.filter(direction=Call.Direction.OUTBOUND).update(to_number="")
    calls.update(summary="", customer=None)

    upcoming = customer.appointments.filter(status__in=Appointment.ACTIVE_STATUSES, start__gt=now)
    details["appointments_cancelled"] = 0
    for appointment in upcoming:
        cancel_appointment(appointment=appointment, reason=ERASED_REASON, now=now)
        details["appointments_cancelled"] += 1
    details["appointments_anonymised"] = customer.appointments.update(
        notes="", vehicle=None, calendar_event_id="", updated=now
    )
    customer.appointments.exclude(cancel_reason="").exclude(cancel_reason=ERASED_REASON).update(cancel_reason="")
    details["vehicles_deleted"] = customer.vehicles.all().delete()[0]

    customer.first_name = erased_name(customer.pk)
    customer.last_name = ""
    customer.phone = f"erased-{customer.pk}"  # unique, and never a number anyone calls from
    customer.email = ""
    customer.postal_code = ""
    customer.notes = ""
    customer.wrong_number = ""  # a phone number too
    customer.wrong_number_reported_at = None
    customer.preferred_advisor = None
    customer.do_not_call = True
    customer.save()
    return PrivacyRequest.objects.create(
        action=PrivacyRequest.Action.ERASE,
        customer=customer,
        customer_ref=customer.pk,
        requested_by=by,
        requested_by_name=by.get_username(),
        reason=reason[:300],
        details=details,
    )
