"""Reads about appointments and services for the agent, admin and views."""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from scheduling.models import Appointment, ServiceType


def _upcoming(customer, now: datetime | None) -> QuerySet:
    now = timezone.now() if now is None else now
    return (
        Appointment.objects.filter(customer=customer, status__in=Appointment.ACTIVE_STATUSES, start__gte=now)
        .select_related("vehicle")
        .prefetch_related("service_types")
    )


def upcoming_appointments(*, customer, now: datetime | None = None, limit: int = 10) -> QuerySet:
    """The customer's active appointments starting from now, soonest first, with vehicle and services loaded."""
    return _upcoming(customer, now).order_by("start", "id")[:limit]


def visits_on_day(*, customer, day, tz) -> QuerySet:
    """The customer's appointments on a day of the shop (`tz`), cancelled ones aside, in order: is the car ready?"""
    from datetime import datetime as dt
    from datetime import time, timedelta

    start = dt.combine(day, time(0), tzinfo=tz)
    return (
        Appointment.objects.filter(customer=customer, start__gte=start, start__lt=start + timedelta(days=1))
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("vehicle")
        .prefetch_related("service_types")
        .order_by("start", "id")
    )


def reminded_appointment(*, appointment_id: int | None, customer, now: datetime | None = None) -> Appointment | None:
    """The appointment a reminder call is about, while it is still one of the customer's upcoming ones (None once
    it is cancelled, over or started, and for anybody else's), however many others they have booked."""
    if not appointment_id or customer is None:
        return None
    return _upcoming(customer, now).filter(pk=appointment_id).first()


def _normalise(text: str) -> str:
    """Lower case, words separated by single spaces: “Oil-Change!” -> “oil change”."""
    return " ".join(re.findall(r"[a-z0-9']+", (text or "").lower().replace("’", "'")))


def _phrase_pattern(phrase: str) -> re.Pattern:
    # Whole words only ("brake" must not match "brakeless"), with a plural allowed ("brake" finds "brakes").
    return re.compile(r"\b" + re.escape(phrase) + r"(?:e?s)?\b")


def find_service_types(text: str) -> list[ServiceType]:
    """Active services whose name, code or keywords occur in free text, in the order the caller said them.

    “my brakes are squeaking” -> [Brakes]. When one service's phrase lies inside a longer phrase matched for
    another (“tire” inside “tire rotation”), only the longer match counts.
    """
    said = _normalise(text)
    if not said:
        return []
    found = []  # (service, [(begin, end), ...])
    for service in ServiceType.objects.filter(active=True):
        phrases = {_normalise(service.name), _normalise(service.code)}
        phrases.update(_normalise(k) for k in service.keyword_list)
        spans = [m.span() for p in phrases if p for m in _phrase_pattern(p).finditer(said)]
        if spans:
            found.append((service, spans))

    def covered(span, others) -> bool:
        return any(b <= span[0] and span[1] <= e and (e - b) > (span[1] - span[0]) for b, e in others)

    result = []
    for service, spans in found:
        others = [s for other, other_spans in found if other is not service for s in other_spans]
        kept = [s for s in spans if not covered(s, others)]
        if kept:
            result.append((min(kept), service))
    result.sort(key=lambda item: (item[0][0], item[1].name))
    return [service for _, service in result]
