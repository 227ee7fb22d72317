"""Concurrent bookings on real PostgreSQL: the bay lock must make capacity hold under any interleaving."""

import threading
from datetime import date

import pytest
from django.db import connection

from crm.models import Customer
from scheduling.errors import BookingError
from scheduling.models import Appointment
from scheduling.services import book_appointment
from scheduling.tests.conftest import local

MONDAY = date(2026, 3, 2)
NOW = local(date(2026, 2, 27), 9)
THREADS = 20


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.SHOP_TIMEZONE = "America/Chicago"
    settings.BOOKING_LEAD_MINUTES = 120
    settings.BOOKING_HORIZON_DAYS = 60


def _race(customers, start) -> tuple[list[int], list[str], list[str]]:
    """Every customer books `start` at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(customers), timeout=30)
    won, refused, crashed = [], [], []

    def attempt(customer):
        try:
            Customer.objects.filter(pk=customer.pk).exists()  # connect before the barrier, not after
            barrier.wait()
            appt = book_appointment(customer=customer, service_types=["brakes"], start=start, now=NOW)
            won.append(appt.pk)
        except BookingError as exc:
            refused.append(exc.code)
        except Exception as exc:
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return won, refused, crashed


def _customers(n):
    return [
        Customer.objects.create(first_name=f"Racer{i}", phone=f"+1312555{1000 + i:04d}", postal_code="60614")
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_twenty_callers_race_for_the_last_bay_and_exactly_one_wins(shop, place_appointment):
    for _ in range(3):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10, 30))
    won, refused, crashed = _race(_customers(THREADS), local(MONDAY, 9))
    assert crashed == []
    assert len(won) == 1
    assert refused == ["full"] * (THREADS - 1)
    assert Appointment.objects.filter(start=local(MONDAY, 9)).count() == 4
    assert Appointment.objects.filter(pk=won[0], status=Appointment.Status.SCHEDULED).exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_callers_race_for_four_free_bays_and_four_win(shop):
    won, refused, crashed = _race(_customers(THREADS), local(MONDAY, 13))
    assert crashed == []
    assert len(won) == 4
    assert sorted(refused) == ["full"] * (THREADS - 4)
    assert Appointment.objects.count() == 4
