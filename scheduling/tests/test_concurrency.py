"""Concurrent bookings on real PostgreSQL: the bay lock must make capacity hold under any interleaving."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection

from bartsvoice.tests.factories import local
from crm.models import Customer
from scheduling.errors import BookingError
from scheduling.models import Appointment
from scheduling.services import book_appointment, reschedule_appointment

MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
NOW = local(date(2026, 2, 27), 9)
THREADS = 20


def _race(customers, start) -> tuple[list[int], list[str], list[str]]:
    """Every customer books `start` at the same moment, each on its own connection."""
    return _all_at_once(
        customers, lambda customer: book_appointment(customer=customer, service_types=["brakes"], start=start, now=NOW)
    )


def _all_at_once(items, act) -> tuple[list[int], list[str], list[str]]:
    """`act(item)` for every item at the same moment, each in its own thread and connection; returns the pks
    of the appointments it returned, the codes of the BookingErrors it raised, and anything else raised."""
    barrier = threading.Barrier(len(items), timeout=30)
    won, refused, crashed = [], [], []

    def attempt(item):
        try:
            Customer.objects.exists()  # connect before the barrier, not after
            barrier.wait()
            won.append(act(item).pk)
        except BookingError as exc:
            refused.append(exc.code)
        except Exception as exc:
            crashed.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(item,)) for item in items]
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


@pytest.mark.django_db(transaction=True)
def test_twenty_callers_race_to_move_into_the_last_bay_and_exactly_one_moves(shop, place_appointment):
    for _ in range(3):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10, 30))
    # Twenty 90-minute brake jobs every half hour on Tuesday; each owner moves theirs to Monday 9:00.
    starts = [local(TUESDAY, 7) + timedelta(minutes=30 * i) for i in range(THREADS)]
    movers = [
        place_appointment(start, start + timedelta(minutes=90), who=who, services=[shop.brakes])
        for start, who in zip(starts, _customers(THREADS), strict=True)
    ]
    won, refused, crashed = _all_at_once(
        movers, lambda appointment: reschedule_appointment(appointment=appointment, start=local(MONDAY, 9), now=NOW)
    )
    assert crashed == []
    assert len(won) == 1
    assert refused == ["full"] * (THREADS - 1)
    assert Appointment.objects.filter(start=local(MONDAY, 9)).count() == 4
    for appointment in movers:
        before = (appointment.start, appointment.end)
        appointment.refresh_from_db()
        if appointment.pk in won:
            assert (appointment.start, appointment.end) == (local(MONDAY, 9), local(MONDAY, 10, 30))
        else:
            assert (appointment.start, appointment.end) == before  # a refused move leaves the booking as it was
