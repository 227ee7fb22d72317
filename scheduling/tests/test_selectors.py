from datetime import date, timedelta

import pytest

from bartsvoice.tests.factories import local
from scheduling.models import Appointment, ServiceType
from scheduling.selectors import find_service_types, reminded_appointment, upcoming_appointments

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 3, 2)
S = Appointment.Status


def codes(services):
    return [s.code for s in services]


# --- upcoming appointments ------------------------------------------------------------------------------------


def test_upcoming_lists_only_the_customers_active_future_appointments(
    shop, customer, other_customer, place_appointment
):
    now = local(MONDAY, 12)
    later = place_appointment(local(MONDAY + timedelta(days=2), 9), local(MONDAY + timedelta(days=2), 10))
    soon = place_appointment(local(MONDAY, 13), local(MONDAY, 14), status=S.CONFIRMED, services=[shop.brakes])
    starting_now = place_appointment(now, now + timedelta(hours=1))
    place_appointment(local(MONDAY, 9), local(MONDAY, 10))  # already started
    place_appointment(local(MONDAY, 15), local(MONDAY, 16), status=S.CANCELLED)
    place_appointment(local(MONDAY, 15), local(MONDAY, 16), status=S.COMPLETED)
    place_appointment(local(MONDAY, 15), local(MONDAY, 16), who=other_customer)
    assert list(upcoming_appointments(customer=customer, now=now)) == [starting_now, soon, later]
    assert list(upcoming_appointments(customer=customer, now=now, limit=1)) == [starting_now]


def test_the_reminded_appointment_while_it_is_the_customers_and_upcoming(
    shop, customer, other_customer, place_appointment
):
    now = local(MONDAY, 12)
    many = [place_appointment(local(MONDAY + timedelta(days=n), 9), local(MONDAY + timedelta(days=n), 10))
            for n in range(1, 13)]  # fmt: skip
    assert many[-1] not in list(upcoming_appointments(customer=customer, now=now))  # past the first ten
    assert reminded_appointment(appointment_id=many[-1].pk, customer=customer, now=now) == many[-1]
    assert reminded_appointment(appointment_id=many[0].pk, customer=other_customer, now=now) is None
    assert reminded_appointment(appointment_id=many[0].pk, customer=customer, now=many[0].start) == many[0]
    assert reminded_appointment(appointment_id=many[0].pk, customer=customer, now=many[0].start + timedelta(1)) is None
    Appointment.objects.filter(pk=many[1].pk).update(status=S.CANCELLED)
    assert reminded_appointment(appointment_id=many[1].pk, customer=customer, now=now) is None
    assert reminded_appointment(appointment_id=None, customer=customer, now=now) is None


def test_upcoming_loads_services_and_vehicle_in_two_queries(
    shop, customer, vehicle, place_appointment, django_assert_num_queries
):
    for day in range(3):
        appt = place_appointment(
            local(MONDAY + timedelta(days=day), 9),
            local(MONDAY + timedelta(days=day), 10),
            services=[shop.oil_change, shop.inspection],
        )
        appt.vehicle = vehicle
        appt.save()
    with django_assert_num_queries(2):
        rows = list(upcoming_appointments(customer=customer, now=local(MONDAY, 8)))
        names = [[st.name for st in a.service_types.all()] for a in rows]
        makes = [a.vehicle.make for a in rows]
    assert names == [["Inspection", "Oil change"]] * 3
    assert makes == ["Honda"] * 3


# --- service matching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my brakes are squeaking", ["brakes"]),
        ("My BRAKES are GRINDING!", ["brakes"]),
        ("I need an oil change", ["oil-change"]),
        ("oil-change please", ["oil-change"]),
        ("I'd like my tires rotated and an oil change", ["oil-change"]),
        ("tire rotation and then an inspection", ["tire-rotation", "inspection"]),
        ("inspection, and my brake pads are worn", ["inspection", "brakes"]),
        ("can you rotate my tires", ["tire-rotation"]),
        ("I just have a question", []),
        ("", []),
        ("breaks", []),  # a different word, not a plural
        ("oilchange", []),  # whole words only
    ],
)
def test_find_service_types(shop, text, expected):
    assert codes(find_service_types(text)) == expected


def test_longer_phrase_wins_over_the_word_inside_it(shop):
    ServiceType.objects.create(code="tires", name="New tires", duration_minutes=60, keywords="tire, tires")
    assert codes(find_service_types("I need a tire rotation")) == ["tire-rotation"]
    assert codes(find_service_types("I need two new tires")) == ["tires"]
    assert codes(find_service_types("a new tire and a tire rotation")) == ["tires", "tire-rotation"]


def test_inactive_services_are_not_offered(shop):
    ServiceType.objects.filter(code="brakes").update(active=False)
    assert find_service_types("my brakes are squeaking") == []
