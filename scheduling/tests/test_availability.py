import pickle
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from django.db import connection

from bartsvoice.tests.factories import local
from scheduling.availability import (
    assign_bays,
    available_slots,
    capacity,
    check_bookable,
    day_load,
    shop_tz,
    total_duration,
)
from scheduling.errors import BookingError
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay, ServiceType

MONDAY = date(2026, 3, 2)
SATURDAY = date(2026, 3, 7)
SUNDAY = date(2026, 3, 1)
# "Now" is the Friday before, so the lead time and horizon don't interfere unless a test wants them to.
FRIDAY_BEFORE = local(date(2026, 2, 27), 9)

pytestmark = pytest.mark.django_db


def hhmm(slots):
    return [f"{s:%H:%M}" for s in slots]


def grid(first: str, last: str, step: int = 30) -> list[str]:
    t = datetime.strptime(first, "%H:%M")
    end = datetime.strptime(last, "%H:%M")
    out = []
    while t <= end:
        out.append(f"{t:%H:%M}")
        t += timedelta(minutes=step)
    return out


def slots_on(day, services, **kw):
    kw.setdefault("now", FRIDAY_BEFORE)
    return available_slots(service_types=services, start_date=day, **kw)


# --- hours and the grid -------------------------------------------------------------------------------------


def test_weekday_grid_runs_from_opening_to_the_last_start_that_ends_by_closing(shop):
    slots = slots_on(MONDAY, [shop.oil_change])
    assert hhmm(slots) == grid("07:00", "17:30")
    assert all(s.tzinfo == shop_tz() for s in slots)
    assert hhmm(slots_on(MONDAY, [shop.brakes])) == grid("07:00", "16:30")


def test_saturday_short_hours_and_sunday_closed(shop):
    assert hhmm(slots_on(SATURDAY, [shop.inspection])) == grid("08:00", "12:00")
    assert slots_on(SUNDAY, [shop.oil_change]) == []


def test_service_durations_add_up(shop):
    both = [shop.oil_change, shop.brakes]
    assert total_duration(both) == timedelta(minutes=120)
    assert hhmm(slots_on(MONDAY, both)) == grid("07:00", "16:00")
    assert hhmm(slots_on(MONDAY, ["oil-change", "brakes", "inspection"])) == grid("07:00", "15:00")


def test_the_same_service_twice_counts_once(shop):
    assert slots_on(MONDAY, [shop.brakes, shop.brakes]) == slots_on(MONDAY, [shop.brakes])


def test_lunch_break_splits_the_day_and_a_visit_never_spans_it(shop):
    BusinessHours.objects.filter(weekday=0).delete()
    BusinessHours.objects.create(weekday=0, opens=time(7), closes=time(12))
    BusinessHours.objects.create(weekday=0, opens=time(13), closes=time(18))
    # 90 minutes: 10:30 is the last morning start; 11:00 would run into lunch.
    assert hhmm(slots_on(MONDAY, [shop.brakes])) == grid("07:00", "10:30") + grid("13:00", "16:30")


def test_the_grid_is_anchored_at_each_interval_start(shop):
    BusinessHours.objects.filter(weekday=0).delete()
    BusinessHours.objects.create(weekday=0, opens=time(7, 15), closes=time(9))
    BusinessHours.objects.create(weekday=0, opens=time(10), closes=time(11))
    assert hhmm(slots_on(MONDAY, [shop.oil_change])) == ["07:15", "07:45", "08:15", "10:00", "10:30"]
    assert hhmm(slots_on(MONDAY, [shop.oil_change], slot_minutes=20)) == [
        "07:15",
        "07:35",
        "07:55",
        "08:15",
        "10:00",
        "10:20",
    ]


def test_a_visit_longer_than_any_interval_has_no_slot(shop):
    long_job = ServiceType.objects.create(code="engine", name="Engine rebuild", duration_minutes=6 * 60)
    assert slots_on(SATURDAY, [long_job]) == []  # Saturday is open 5 hours
    assert len(slots_on(MONDAY, [long_job])) == 11  # 7:00..12:00


def test_closure_dates_have_no_slots(shop):
    Closure.objects.create(date=MONDAY, reason="Inventory")
    assert slots_on(MONDAY, [shop.oil_change]) == []
    week = slots_on(MONDAY, [shop.oil_change], end_date=MONDAY + timedelta(days=1))
    assert {s.date() for s in week} == {MONDAY + timedelta(days=1)}


def test_date_range_is_inclusive_and_in_order(shop):
    slots = slots_on(MONDAY, [shop.oil_change], end_date=SATURDAY + timedelta(days=1))
    per_day = {}
    for s in slots:
        per_day[s.date()] = per_day.get(s.date(), 0) + 1
    assert per_day == {MONDAY + timedelta(days=i): 22 for i in range(5)} | {SATURDAY: 10}
    assert slots == sorted(slots)


def test_limit_stops_early(shop):
    slots = slots_on(MONDAY, [shop.oil_change], end_date=SATURDAY, limit=3)
    assert hhmm(slots) == ["07:00", "07:30", "08:00"]
    assert slots_on(MONDAY, [shop.oil_change], limit=0) == []


# --- capacity ---------------------------------------------------------------------------------------------


def test_full_bays_remove_every_slot_they_touch(shop, place_appointment):
    for _ in range(4):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    oil = hhmm(slots_on(MONDAY, [shop.oil_change]))
    assert "08:30" in oil and "10:00" in oil
    assert "09:00" not in oil and "09:30" not in oil
    brakes = hhmm(slots_on(MONDAY, [shop.brakes]))
    assert "07:30" in brakes  # 7:30–9:00 ends as they start
    assert {"08:00", "08:30", "09:00", "09:30"}.isdisjoint(brakes)
    assert "10:00" in brakes


def test_capacity_is_checked_at_every_moment_not_just_the_start(shop, place_appointment):
    for _ in range(4):
        place_appointment(local(MONDAY, 10), local(MONDAY, 11))
    brakes = hhmm(slots_on(MONDAY, [shop.brakes]))
    # 9:00–10:30 starts with every bay free but runs into the full hour at 10:00.
    assert "08:30" in brakes
    assert "09:00" not in brakes


def test_load_is_the_number_running_at_once_not_the_number_overlapping(shop, place_appointment):
    # Two 8–9 and two 9–10: never more than two at once, though four overlap 8:30–9:30.
    for hour in (8, 8, 9, 9):
        place_appointment(local(MONDAY, hour), local(MONDAY, hour + 1))
    ServiceBay.objects.filter(pk__in=[b.pk for b in shop.bays[:1]]).update(active=False)  # capacity 3
    assert "08:30" in hhmm(slots_on(MONDAY, [shop.inspection]))


def test_only_scheduled_and_confirmed_appointments_take_a_bay(shop, place_appointment):
    S = Appointment.Status
    for status in (S.CANCELLED, S.COMPLETED, S.NO_SHOW, S.CANCELLED):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10), status=status)
    assert "09:00" in hhmm(slots_on(MONDAY, [shop.oil_change]))
    for status in (S.SCHEDULED, S.CONFIRMED, S.CONFIRMED, S.SCHEDULED):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10), status=status)
    assert "09:00" not in hhmm(slots_on(MONDAY, [shop.oil_change]))


def test_capacity_counts_active_bays_only(shop, place_appointment):
    assert capacity() == 4
    for _ in range(3):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    assert "09:00" in hhmm(slots_on(MONDAY, [shop.oil_change]))
    ServiceBay.objects.filter(pk=shop.bays[0].pk).update(active=False)
    assert capacity() == 3
    assert "09:00" not in hhmm(slots_on(MONDAY, [shop.oil_change]))
    ServiceBay.objects.update(active=False)
    assert slots_on(MONDAY, [shop.oil_change]) == []


def test_excluded_appointment_does_not_count(shop, place_appointment):
    mine = place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    for _ in range(3):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    assert "09:00" not in hhmm(slots_on(MONDAY, [shop.inspection]))
    assert "09:00" in hhmm(slots_on(MONDAY, [shop.inspection], exclude_appointment_id=mine.pk))


def test_appointments_from_the_day_before_and_after_are_ignored(shop, place_appointment):
    for _ in range(4):
        place_appointment(local(MONDAY - timedelta(days=3), 9), local(MONDAY - timedelta(days=3), 17))
        place_appointment(local(MONDAY + timedelta(days=1), 7), local(MONDAY + timedelta(days=1), 8))
    assert hhmm(slots_on(MONDAY, [shop.oil_change])) == grid("07:00", "17:30")


# --- lead time and horizon --------------------------------------------------------------------------------


def test_lead_time_keeps_the_grid(shop):
    now = local(MONDAY, 9, 10)  # + 2 hours = 11:10, next grid point 11:30
    assert hhmm(slots_on(MONDAY, [shop.oil_change], now=now))[:2] == ["11:30", "12:00"]


def test_lead_time_on_the_grid_point_is_bookable(shop, settings):
    settings.BOOKING_LEAD_MINUTES = 60
    assert hhmm(slots_on(MONDAY, [shop.oil_change], now=local(MONDAY, 9)))[0] == "10:00"


def test_lead_time_rolls_into_the_next_day(shop):
    slots = slots_on(MONDAY, [shop.oil_change], end_date=MONDAY + timedelta(days=1), now=local(MONDAY, 17))
    assert slots[0] == local(MONDAY + timedelta(days=1), 7)


def test_past_dates_have_no_slots(shop):
    assert slots_on(MONDAY, [shop.oil_change], now=local(MONDAY + timedelta(days=1), 7)) == []


def test_horizon_ends_the_search(shop, settings):
    settings.BOOKING_HORIZON_DAYS = 10  # now Monday 3/2 -> last bookable day Thursday 3/12
    slots = slots_on(date(2026, 3, 10), [shop.oil_change], end_date=date(2026, 3, 20), now=local(MONDAY, 8))
    assert {s.date() for s in slots} == {date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)}


# --- daylight saving time (America/Chicago) ---------------------------------------------------------------


def utc_hhmm(slots):
    return [f"{s.astimezone(UTC):%H:%M}" for s in slots]


def test_seven_oclock_is_seven_local_on_both_sides_of_spring_forward(shop):
    now = local(date(2026, 3, 4), 12)
    friday, monday = date(2026, 3, 6), date(2026, 3, 9)
    slots = available_slots(service_types=[shop.oil_change], start_date=friday, end_date=monday, now=now)
    firsts = {d: min(s for s in slots if s.date() == d) for d in (friday, monday)}
    assert hhmm(firsts.values()) == ["07:00", "07:00"]
    assert utc_hhmm([firsts[friday]]) == ["13:00"]  # CST, UTC-6
    assert utc_hhmm([firsts[monday]]) == ["12:00"]  # CDT, UTC-5


def test_spring_forward_day_has_one_hour_less(shop):
    BusinessHours.objects.create(weekday=6, opens=time(0), closes=time(6))  # open through the 2:00 jump
    day = date(2026, 3, 8)
    slots = slots_on(day, [shop.oil_change], now=local(date(2026, 3, 5), 9))
    # 5 real hours between 0:00 CST and 6:00 CDT; 2:00–2:59 does not exist.
    assert hhmm(slots) == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"]
    assert utc_hhmm(slots) == grid("06:00", "10:30")
    # Python subtracts same-zone datetimes as wall times; elapsed time needs UTC.
    utc = [s.astimezone(UTC) for s in slots]
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(utc))


def test_fall_back_day_has_one_hour_more(shop):
    BusinessHours.objects.create(weekday=6, opens=time(0), closes=time(6))
    day = date(2026, 11, 1)
    slots = slots_on(day, [shop.oil_change], now=local(date(2026, 10, 29), 9))
    # 7 real hours between 0:00 CDT and 6:00 CST; 1:00–1:59 happens twice.
    assert len(slots) == 14
    assert hhmm(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "01:00",
        "01:30",
        "02:00",
        "02:30",
        "03:00",
        "03:30",
        "04:00",
        "04:30",
        "05:00",
        "05:30",
    ]
    assert [s.fold for s in slots[2:6]] == [0, 0, 1, 1]
    assert utc_hhmm(slots) == grid("05:00", "11:30")


def test_seven_oclock_is_seven_local_on_both_sides_of_fall_back(shop):
    BusinessHours.objects.create(weekday=6, opens=time(7), closes=time(12))
    now = local(date(2026, 10, 28), 12)
    slots = available_slots(
        service_types=[shop.brakes], start_date=date(2026, 10, 30), end_date=date(2026, 11, 2), now=now
    )
    firsts = {}
    for s in slots:
        firsts.setdefault(s.date(), s)
    assert {d: f"{s:%H:%M}" for d, s in firsts.items()} == {
        date(2026, 10, 30): "07:00",
        date(2026, 10, 31): "08:00",
        date(2026, 11, 1): "07:00",
        date(2026, 11, 2): "07:00",
    }
    assert utc_hhmm(firsts.values()) == ["12:00", "13:00", "13:00", "13:00"]
    sunday = [s for s in slots if s.date() == date(2026, 11, 1)]
    assert hhmm(sunday) == grid("07:00", "10:30")  # 90 minutes must end by 12:00 local


def test_capacity_tells_the_two_one_oclocks_apart(shop, place_appointment):
    BusinessHours.objects.create(weekday=6, opens=time(0), closes=time(6))
    day = date(2026, 11, 1)
    first_one = local(day, 1)  # 1:00 CDT
    for _ in range(4):
        place_appointment(first_one, first_one + timedelta(minutes=30))
    slots = slots_on(day, [shop.oil_change], now=local(date(2026, 10, 29), 9))
    at_one = [s for s in slots if s.hour == 1 and s.minute == 0]
    assert [s.fold for s in at_one] == [1]  # the second 1:00 (CST) is free


# --- queries and speed --------------------------------------------------------------------------------------


def test_a_two_week_search_costs_four_queries(shop, place_appointment, django_assert_num_queries):
    for i in range(10):
        place_appointment(local(MONDAY, 9 + i % 5), local(MONDAY, 10 + i % 5))
    with django_assert_num_queries(4):  # bays, hours, closures, appointments
        slots = available_slots(
            service_types=[shop.oil_change, shop.brakes],
            start_date=MONDAY,
            end_date=MONDAY + timedelta(days=13),
            now=FRIDAY_BEFORE,
        )
    assert len(slots) > 100


def test_codes_cost_one_more_query(shop, django_assert_num_queries):
    with django_assert_num_queries(5):
        available_slots(service_types=["oil-change"], start_date=MONDAY, now=FRIDAY_BEFORE)


def _fill_history(customer, *, days_back: int, days_ahead: int) -> int:
    """A busy shop's table: 40 visits a weekday in the past (finished or cancelled), 20 a weekday ahead
    (two running at once all day, so the future is half full)."""
    tz = shop_tz()
    rows = []
    for offset in range(-days_back, days_ahead):
        day = MONDAY + timedelta(days=offset)
        if day.weekday() > 4:
            continue
        for i in range(40 if offset < 0 else 20):
            start = datetime.combine(day, time(7), tzinfo=tz) + timedelta(minutes=30 * (i % 20))
            if offset >= 0:
                status = Appointment.Status.SCHEDULED
            else:
                status = Appointment.Status.CANCELLED if i % 9 == 0 else Appointment.Status.COMPLETED
            rows.append(Appointment(customer=customer, start=start, end=start + timedelta(minutes=60), status=status))
    Appointment.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def test_two_week_search_over_20000_appointments_is_four_indexed_queries(shop, customer, django_assert_num_queries):
    """How fast it is on a shop this size is bench/scheduling.py's figure; here, that the work it does cannot
    grow with the data: a fixed number of queries, and the appointments read through their index."""
    created = _fill_history(customer, days_back=700, days_ahead=60)
    assert created >= 20_000
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE scheduling_appointment")
    services = [shop.oil_change, shop.brakes]
    with django_assert_num_queries(4):  # bays, hours, closures, appointments: nothing per day or per slot
        slots = available_slots(
            service_types=services, start_date=MONDAY, end_date=MONDAY + timedelta(days=13), now=FRIDAY_BEFORE
        )
    assert len(slots) > 100  # the search did real work
    with connection.cursor() as cursor:
        lo = local(MONDAY, 0)
        cursor.execute(
            "EXPLAIN SELECT start, \"end\" FROM scheduling_appointment WHERE status IN ('scheduled', 'confirmed') "
            'AND start < %s AND start > %s AND "end" > %s',
            [lo + timedelta(days=14), lo - timedelta(days=1), lo],
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "appointment_active_span" in plan, plan


# --- check_bookable: the reasons ----------------------------------------------------------------------------


def refuse(start, end, **kw) -> BookingError:
    kw.setdefault("now", FRIDAY_BEFORE)
    with pytest.raises(BookingError) as info:
        check_bookable(start=start, end=end, **kw)
    return info.value


def test_bookable_time_passes(shop):
    assert check_bookable(start=local(MONDAY, 7), end=local(MONDAY, 8, 30), now=FRIDAY_BEFORE) is None
    assert check_bookable(start=local(MONDAY, 16, 30), end=local(MONDAY, 18), now=FRIDAY_BEFORE) is None


def test_off_grid_start_is_accepted(shop):
    assert check_bookable(start=local(MONDAY, 7, 15), end=local(MONDAY, 7, 45), now=FRIDAY_BEFORE) is None


@pytest.mark.parametrize(
    ("start", "end", "code", "message"),
    [
        ((6, 30), (7, 0), "outside_hours", "We open at 7:00 AM on Mondays."),
        ((18, 0), (18, 30), "outside_hours", "We close at 6:00 PM on Mondays."),
        (
            (17, 0),
            (18, 30),
            "outside_hours",
            "That would run past closing: we close at 6:00 PM on Mondays, and this visit takes an hour and a half, "
            "so the latest start is 4:30 PM.",
        ),
    ],
)
def test_outside_hours_says_why(shop, start, end, code, message):
    err = refuse(local(MONDAY, *start), local(MONDAY, *end))
    assert err.code == code
    assert str(err) == message


def test_lunch_break_reasons(shop):
    BusinessHours.objects.filter(weekday=0).delete()
    BusinessHours.objects.create(weekday=0, opens=time(7), closes=time(12))
    BusinessHours.objects.create(weekday=0, opens=time(13), closes=time(18))
    err = refuse(local(MONDAY, 12, 30), local(MONDAY, 13))
    assert (err.code, str(err)) == ("outside_hours", "We're closed from noon to 1:00 PM on Mondays.")
    err = refuse(local(MONDAY, 11), local(MONDAY, 12, 30))
    assert err.code == "outside_hours"
    assert str(err) == (
        "That would run into our break from noon to 1:00 PM: this visit takes an hour and a half, "
        "so it has to start by 10:30 AM or after the break."
    )


def test_closed_weekday_and_closure_reasons(shop):
    assert str(refuse(local(SUNDAY + timedelta(days=7), 9), local(SUNDAY + timedelta(days=7), 10))) == (
        "We're closed on Sundays."
    )
    christmas_eve = date(2026, 12, 24)
    Closure.objects.create(date=christmas_eve, reason="Christmas Eve")
    err = refuse(local(christmas_eve, 9), local(christmas_eve, 10), now=local(date(2026, 12, 1), 9))
    assert (err.code, str(err)) == ("closed_day", "We're closed on Thursday, December 24 (Christmas Eve).")
    Closure.objects.create(date=MONDAY, reason="")
    assert str(refuse(local(MONDAY, 9), local(MONDAY, 10))) == "We're closed on Monday, March 2."


def test_time_rules(shop, settings):
    now = local(MONDAY, 9)
    err = refuse(local(MONDAY, 8), local(MONDAY, 9), now=now)
    assert (err.code, str(err)) == ("past", "That time has already passed.")
    err = refuse(local(MONDAY, 10, 30), local(MONDAY, 11), now=now)
    assert (err.code, str(err)) == ("lead_time", "Appointments have to be booked at least 2 hours ahead.")
    settings.BOOKING_HORIZON_DAYS = 30
    far = MONDAY + timedelta(days=31)
    err = refuse(local(far, 9), local(far, 10), now=now)
    assert err.code == "too_far"
    assert "30 days" in str(err)


def test_full_reason(shop, place_appointment):
    for _ in range(4):
        place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    err = refuse(local(MONDAY, 8, 30), local(MONDAY, 9, 30))
    assert (err.code, str(err)) == ("full", "That time is fully booked.")
    assert check_bookable(start=local(MONDAY, 8), end=local(MONDAY, 9), now=FRIDAY_BEFORE) is None
    assert check_bookable(start=local(MONDAY, 9), end=local(MONDAY, 10), now=FRIDAY_BEFORE, bay_count=5) is None


def test_booking_error_reads_as_a_sentence_and_survives_pickling():
    err = BookingError("That time is fully booked.", code="full")
    assert str(err) == "That time is fully booked."
    assert err.messages == ["That time is fully booked."]
    again = pickle.loads(pickle.dumps(err))  # noqa: S301 -- our own bytes
    assert (type(again), again.code, str(again)) == (BookingError, "full", "That time is fully booked.")
    with pytest.raises(ValueError, match="unknown BookingError code"):
        BookingError("Nope.", code="whatever")


def test_naive_and_inverted_times_are_refused(shop):
    naive = datetime(2026, 3, 2, 9)
    assert refuse(naive, naive + timedelta(hours=1)).code == "invalid"
    assert "time zone" in str(refuse(naive, naive + timedelta(hours=1)))
    assert refuse(local(MONDAY, 10), local(MONDAY, 9)).code == "invalid"
    with pytest.raises(BookingError) as info:
        available_slots(service_types=[shop.oil_change], start_date=MONDAY, now=datetime(2026, 2, 27, 9))
    assert info.value.code == "invalid"


def test_slot_search_refuses_bad_service_lists(shop):
    with pytest.raises(BookingError) as info:
        available_slots(service_types=[], start_date=MONDAY, now=FRIDAY_BEFORE)
    assert info.value.code == "no_service"
    with pytest.raises(BookingError) as info:
        available_slots(service_types=["teleportation"], start_date=MONDAY, now=FRIDAY_BEFORE)
    assert (info.value.code, str(info.value)) == ("unknown_service", "We don't offer “teleportation”.")
    ServiceType.objects.filter(code="brakes").update(active=False)
    with pytest.raises(BookingError) as info:
        available_slots(service_types=["brakes"], start_date=MONDAY, now=FRIDAY_BEFORE)
    assert info.value.code == "inactive_service"


# --- the day's picture ----------------------------------------------------------------------------------------


def test_day_load_merges_and_clips(shop, place_appointment):
    place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    place_appointment(local(MONDAY, 9, 30), local(MONDAY, 11))
    place_appointment(local(MONDAY, 10), local(MONDAY, 11))  # 10–11 runs two, like 9:30–10
    place_appointment(local(MONDAY, 12), local(MONDAY, 13), status=Appointment.Status.CANCELLED)
    place_appointment(local(MONDAY - timedelta(days=1), 23), local(MONDAY, 0, 30))
    load = [(f"{a:%H:%M}", f"{b:%H:%M}", n) for a, b, n in day_load(MONDAY)]
    assert load == [("00:00", "00:30", 1), ("09:00", "09:30", 1), ("09:30", "11:00", 2)]


def test_assign_bays_never_puts_overlapping_appointments_in_one_lane(shop, place_appointment):
    appts = [
        place_appointment(local(MONDAY, 9), local(MONDAY, 10)),
        place_appointment(local(MONDAY, 9), local(MONDAY, 11)),
        place_appointment(local(MONDAY, 10), local(MONDAY, 11)),  # reuses lane 0
        place_appointment(local(MONDAY, 10, 30), local(MONDAY, 12)),
        place_appointment(local(MONDAY, 11), local(MONDAY, 12)),
    ]
    lanes = assign_bays(appts)
    assert lanes == {appts[0].pk: 0, appts[1].pk: 1, appts[2].pk: 0, appts[3].pk: 2, appts[4].pk: 0}
    for a in appts:
        for b in appts:
            if a is not b and a.start < b.end and b.start < a.end:
                assert lanes[a.pk] != lanes[b.pk]
    as_dicts = list(Appointment.objects.values("id", "start", "end"))
    assert assign_bays(as_dicts) == lanes
