from datetime import UTC, date, datetime, time, timedelta

import pytest

from bartsvoice.tests.factories import local
from crm.models import Vehicle
from scheduling.availability import available_slots
from scheduling.errors import BookingError
from scheduling.models import Appointment, BusinessHours, Closure, ServiceType
from scheduling.services import (
    book_appointment,
    cancel_appointment,
    remove_services,
    reschedule_appointment,
    set_appointment_status,
    update_appointment,
)

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 3, 2)
TUESDAY = MONDAY + timedelta(days=1)
NOW = local(date(2026, 2, 27), 9)  # the Friday before
S = Appointment.Status


def book(customer, services, start, **kw):
    kw.setdefault("now", NOW)
    return book_appointment(customer=customer, service_types=services, start=start, **kw)


def refused(fn, **kw) -> BookingError:
    with pytest.raises(BookingError) as info:
        fn(**kw)
    return info.value


def fill(place_appointment, start, end, n=4):
    return [place_appointment(start, end) for _ in range(n)]


# --- booking --------------------------------------------------------------------------------------------------


def test_book_writes_the_appointment(shop, customer, vehicle):
    appt = book(
        customer,
        [shop.oil_change, shop.brakes],
        local(MONDAY, 9),
        vehicle=vehicle,
        transport=Appointment.Transport.WAITER,
        notes="  Squeal when braking  ",
        source=Appointment.Source.PHONE,
    )
    appt.refresh_from_db()
    assert appt.start == local(MONDAY, 9)
    assert appt.end - appt.start == timedelta(minutes=120)
    assert appt.status == S.SCHEDULED
    assert (appt.customer, appt.vehicle) == (customer, vehicle)
    assert (appt.transport, appt.source, appt.notes) == ("waiter", "phone", "Squeal when braking")
    assert set(appt.service_types.all()) == {shop.oil_change, shop.brakes}


def test_book_by_codes(shop, customer):
    appt = book(customer, ["Brakes", "inspection"], local(MONDAY, 13))
    assert appt.end == local(MONDAY, 15, 30)
    assert {st.code for st in appt.service_types.all()} == {"brakes", "inspection"}


def test_booked_slot_leaves_the_offer_when_full(shop, customer, place_appointment):
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10), n=3)
    book(customer, [shop.oil_change], local(MONDAY, 9, 30))
    slots = available_slots(service_types=[shop.oil_change], start_date=MONDAY, now=NOW)
    assert local(MONDAY, 9, 30) not in slots
    assert local(MONDAY, 9) in slots  # only three at 9:00–9:30


def test_end_is_real_elapsed_time_across_fall_back(shop, customer):
    BusinessHours.objects.create(weekday=6, opens=time(0), closes=time(6))  # a Sunday night shift through 1:00 twice
    start = local(date(2026, 11, 1), 0, 30)  # 0:30 CDT; 90 minutes later it is 1:00 CST
    appt = book(customer, [shop.brakes], start, now=local(date(2026, 10, 29), 9))
    appt.refresh_from_db()
    assert appt.end.astimezone(UTC) - appt.start.astimezone(UTC) == timedelta(minutes=90)
    assert appt.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert appt.end == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (local(date(2026, 2, 26), 9), "past"),
        (local(date(2026, 2, 27), 10), "lead_time"),
        (local(date(2026, 3, 1), 9), "closed_day"),  # Sunday
        (local(MONDAY, 6), "outside_hours"),
        (local(MONDAY, 17), "outside_hours"),  # brakes would run past 18:00
        (local(date(2026, 6, 1), 9), "too_far"),
    ],
)
def test_refusals_write_nothing(shop, customer, start, code):
    err = refused(
        book_appointment, customer=customer, service_types=[shop.brakes], start=start, now=NOW, source="phone"
    )
    assert err.code == code
    assert str(err)[-1] == "."  # a sentence, not a list repr
    assert Appointment.objects.count() == 0


def test_advisors_book_walk_ins_inside_the_lead_time(shop, customer):
    start = local(date(2026, 2, 27), 10)  # the phone refuses this one: inside the lead time
    appt = book_appointment(customer=customer, service_types=[shop.oil_change], start=start, now=NOW, source="admin")
    assert appt.start == start
    err = refused(
        book_appointment,
        customer=customer,
        service_types=[shop.oil_change],
        start=NOW - timedelta(hours=1),
        now=NOW,
        source="admin",
    )
    assert err.code == "past"


def test_closure_and_full_are_refused(shop, customer, place_appointment):
    Closure.objects.create(date=TUESDAY, reason="Staff training")
    err = refused(book_appointment, customer=customer, service_types=["oil-change"], start=local(TUESDAY, 9), now=NOW)
    assert (err.code, str(err)) == ("closed_day", "We're closed on Tuesday, March 3 (Staff training).")
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10))
    err = refused(book_appointment, customer=customer, service_types=["oil-change"], start=local(MONDAY, 9), now=NOW)
    assert (err.code, str(err)) == ("full", "That time is fully booked.")
    assert Appointment.objects.count() == 4


def test_service_list_refusals(shop, customer):
    ServiceType.objects.create(code="detailing", name="Detailing", duration_minutes=60, active=False)
    detailing = ServiceType.objects.get(code="detailing")
    cases = [
        ([], "no_service"),
        (None, "no_service"),
        (["oil-change", "warp-drive"], "unknown_service"),
        (["detailing"], "inactive_service"),
        ([shop.oil_change, detailing], "inactive_service"),
        ([42], "invalid"),
    ]
    for services, code in cases:
        err = refused(book_appointment, customer=customer, service_types=services, start=local(MONDAY, 9), now=NOW)
        assert err.code == code, services
    assert (
        str(refused(book_appointment, customer=customer, service_types=["detailing"], start=local(MONDAY, 9), now=NOW))
        == "Sorry, Detailing can't be booked right now."
    )
    assert Appointment.objects.count() == 0


def test_stale_instance_of_a_deactivated_service_is_refused(shop, customer):
    stale = shop.brakes  # still says active=True in memory
    ServiceType.objects.filter(pk=stale.pk).update(active=False)
    err = refused(book_appointment, customer=customer, service_types=[stale], start=local(MONDAY, 9), now=NOW)
    assert err.code == "inactive_service"


def test_vehicle_of_another_customer_is_refused(shop, customer, other_customer):
    theirs = Vehicle.objects.create(customer=other_customer, year=2020, make="Ford", model="F-150")
    err = refused(
        book_appointment,
        customer=customer,
        vehicle=theirs,
        service_types=["oil-change"],
        start=local(MONDAY, 9),
        now=NOW,
    )
    assert (err.code, str(err)) == ("wrong_vehicle", "That vehicle belongs to another customer.")
    assert Appointment.objects.count() == 0


def test_naive_start_and_bad_choices_are_refused(shop, customer):
    err = refused(book_appointment, customer=customer, service_types=["oil-change"], start=datetime(2026, 3, 2, 9))
    assert err.code == "invalid" and "time zone" in str(err)
    err = refused(
        book_appointment,
        customer=customer,
        service_types=["oil-change"],
        start=local(MONDAY, 9),
        transport="jetpack",
        now=NOW,
    )
    assert err.code == "invalid" and "transport" in str(err)
    assert Appointment.objects.count() == 0


# --- rescheduling ---------------------------------------------------------------------------------------------


def test_reschedule_ignores_its_own_slot(shop, customer, place_appointment):
    mine = book(customer, [shop.inspection], local(MONDAY, 9))
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10), n=3)
    # 9:30–10:30 overlaps three others plus my own current 9:00–10:00: full only if I counted myself.
    moved = reschedule_appointment(appointment=mine, start=local(MONDAY, 9, 30), now=NOW)
    assert moved is mine
    mine.refresh_from_db()
    assert (mine.start, mine.end) == (local(MONDAY, 9, 30), local(MONDAY, 10, 30))


def test_reschedule_into_a_full_slot_changes_nothing(shop, customer, place_appointment):
    mine = book(customer, [shop.inspection], local(MONDAY, 7))
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10))
    err = refused(reschedule_appointment, appointment=mine, start=local(MONDAY, 9), now=NOW)
    assert err.code == "full"
    mine.refresh_from_db()
    assert mine.start == local(MONDAY, 7)


def test_reschedule_keeps_length_or_takes_new_services(shop, customer):
    mine = book(customer, [shop.oil_change], local(MONDAY, 9))
    update_appointment(appointment=mine, end=local(MONDAY, 10), now=NOW)  # advisor made it an hour
    reschedule_appointment(appointment=mine, start=local(TUESDAY, 8), now=NOW)
    assert mine.end - mine.start == timedelta(hours=1)
    reschedule_appointment(appointment=mine, start=local(TUESDAY, 8), service_types=["brakes", "oil-change"], now=NOW)
    mine.refresh_from_db()
    assert mine.end == local(TUESDAY, 10)
    assert {st.code for st in mine.service_types.all()} == {"brakes", "oil-change"}


def test_reschedule_checks_hours_with_the_new_length(shop, customer):
    mine = book(customer, [shop.oil_change], local(MONDAY, 16))
    err = refused(reschedule_appointment, appointment=mine, start=local(MONDAY, 17), service_types=["brakes"], now=NOW)
    assert err.code == "outside_hours"
    assert "latest start is 4:30 PM" in str(err)
    mine.refresh_from_db()
    assert (mine.start, list(mine.service_types.values_list("code", flat=True))) == (local(MONDAY, 16), ["oil-change"])


@pytest.mark.parametrize(("status", "word"), [(S.CANCELLED, "cancelled"), (S.COMPLETED, "completed")])
def test_cancelled_or_completed_appointments_cannot_be_moved(shop, customer, place_appointment, status, word):
    appt = place_appointment(local(MONDAY, 9), local(MONDAY, 10), status=status)
    err = refused(reschedule_appointment, appointment=appt, start=local(TUESDAY, 9), now=NOW)
    assert err.code == "not_active"
    assert word in str(err) and "can't be moved" in str(err)


def test_reschedule_sees_the_stored_status_not_a_stale_copy(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    stale = Appointment.objects.get(pk=appt.pk)
    cancel_appointment(appointment=appt, reason="Sold the car", now=NOW)
    assert refused(reschedule_appointment, appointment=stale, start=local(TUESDAY, 9), now=NOW).code == "not_active"


# --- cancelling -----------------------------------------------------------------------------------------------


def test_cancel_frees_the_slot(shop, customer, place_appointment):
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10), n=3)
    mine = book(customer, [shop.inspection], local(MONDAY, 9))
    assert local(MONDAY, 9) not in available_slots(service_types=["oil-change"], start_date=MONDAY, now=NOW)
    cancel_appointment(appointment=mine, reason="  Car sold ", now=NOW)
    mine.refresh_from_db()
    assert (mine.status, mine.cancel_reason, mine.cancelled_at) == (S.CANCELLED, "Car sold", NOW)
    assert local(MONDAY, 9) in available_slots(service_types=["oil-change"], start_date=MONDAY, now=NOW)


def test_cancel_twice_is_refused(shop, customer):
    mine = book(customer, [shop.oil_change], local(MONDAY, 9))
    cancel_appointment(appointment=mine, reason="", now=NOW)
    err = refused(cancel_appointment, appointment=mine, reason="again", now=NOW)
    assert (err.code, str(err)) == ("not_active", "That appointment was cancelled, so it can't be cancelled.")
    mine.refresh_from_db()
    assert mine.cancel_reason == ""


# --- status ---------------------------------------------------------------------------------------------------


def test_status_happy_path(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    set_appointment_status(appointment=appt, status=S.CONFIRMED)
    set_appointment_status(appointment=appt, status=S.CONFIRMED)  # no-op
    set_appointment_status(appointment=appt, status=S.COMPLETED)
    appt.refresh_from_db()
    assert appt.status == S.COMPLETED


def test_finished_appointments_stay_finished(shop, customer, place_appointment):
    done = place_appointment(local(MONDAY, 9), local(MONDAY, 10), status=S.COMPLETED)
    for status in (S.SCHEDULED, S.CONFIRMED, S.NO_SHOW, S.CANCELLED):
        assert refused(set_appointment_status, appointment=done, status=status).code == "not_active"
    gone = place_appointment(local(MONDAY, 9), local(MONDAY, 10), status=S.CANCELLED)
    err = refused(set_appointment_status, appointment=gone, status=S.CONFIRMED)
    assert str(err) == "That appointment was cancelled, so it can't be marked confirmed."
    assert refused(set_appointment_status, appointment=gone, status="lost").code == "invalid"


def test_no_show_only_after_the_start_and_may_still_complete(shop, customer, place_appointment):
    appt = place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    err = refused(set_appointment_status, appointment=appt, status=S.NO_SHOW, now=local(MONDAY, 8, 59))
    assert err.code == "invalid"
    assert "Monday, March 2 at 9:00 AM" in str(err)
    set_appointment_status(appointment=appt, status=S.NO_SHOW, now=local(MONDAY, 9, 30))
    assert refused(set_appointment_status, appointment=appt, status=S.CONFIRMED).code == "not_active"
    set_appointment_status(appointment=appt, status=S.COMPLETED)
    appt.refresh_from_db()
    assert appt.status == S.COMPLETED


def test_cancelling_through_status_stamps_the_time(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    set_appointment_status(appointment=appt, status=S.CANCELLED, now=NOW)
    appt.refresh_from_db()
    assert (appt.status, appt.cancelled_at) == (S.CANCELLED, NOW)


# --- admin edits ----------------------------------------------------------------------------------------------


def test_update_plain_fields_needs_no_free_bay(shop, customer, vehicle, place_appointment, django_user_model):
    appt = place_appointment(local(MONDAY, 9), local(MONDAY, 10))
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10), n=4)  # overbooked by hand, and in the past
    advisor = django_user_model.objects.create_user("sam")
    update_appointment(
        appointment=appt,
        notes="Call when ready",
        vehicle=vehicle,
        advisor=advisor,
        transport="loaner",
        start=local(MONDAY, 9),
        now=local(MONDAY, 12),
    )
    appt.refresh_from_db()
    assert (appt.notes, appt.vehicle, appt.advisor, appt.transport) == ("Call when ready", vehicle, advisor, "loaner")


def test_update_start_is_rechecked(shop, customer, place_appointment):
    appt = book(customer, [shop.inspection], local(MONDAY, 7))
    fill(place_appointment, local(MONDAY, 9), local(MONDAY, 10))
    err = refused(update_appointment, appointment=appt, start=local(MONDAY, 9), notes="moved", now=NOW)
    assert err.code == "full"
    appt.refresh_from_db()
    assert (appt.start, appt.notes) == (local(MONDAY, 7), "")
    update_appointment(appointment=appt, start=local(MONDAY, 10), now=NOW)
    appt.refresh_from_db()
    assert (appt.start, appt.end) == (local(MONDAY, 10), local(MONDAY, 11))
    assert refused(update_appointment, appointment=appt, start=local(MONDAY, 6), now=NOW).code == "outside_hours"


def test_update_services_sets_the_length(shop, customer, place_appointment):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    update_appointment(appointment=appt, service_types=[shop.oil_change, shop.brakes], now=NOW)
    appt.refresh_from_db()
    assert appt.end == local(MONDAY, 11)
    fill(place_appointment, local(MONDAY, 11), local(MONDAY, 12))
    err = refused(update_appointment, appointment=appt, service_types=["oil-change", "brakes", "inspection"], now=NOW)
    assert err.code == "full"
    assert appt.service_types.count() == 2


def test_remove_services_shortens_the_visit_from_its_start(shop, customer):
    appt = book(customer, [shop.oil_change, shop.brakes, shop.tire_rotation], local(MONDAY, 9))
    assert appt.end == local(MONDAY, 11, 30)
    remove_services(appointment=appt, customer=customer, service_types=["brakes", shop.tire_rotation], now=NOW)
    appt.refresh_from_db()
    assert [st.code for st in appt.service_types.all()] == ["oil-change"]
    assert (appt.start, appt.end) == (local(MONDAY, 9), local(MONDAY, 9, 30))


def test_remove_services_keeps_a_deactivated_service_that_stays(shop, customer):
    appt = book(customer, [shop.brakes, shop.oil_change], local(MONDAY, 9))
    ServiceType.objects.filter(pk=shop.brakes.pk).update(active=False)
    remove_services(appointment=appt, customer=customer, service_types=["oil-change"], now=NOW)
    assert [st.code for st in appt.service_types.all()] == ["brakes"]


def test_remove_services_refusals_change_nothing(shop, customer, other_customer):
    appt = book(customer, [shop.oil_change, shop.tire_rotation], local(MONDAY, 9))
    end = appt.end

    def codes():
        return sorted(appt.service_types.values_list("code", flat=True))

    # another customer's appointment, whatever they ask
    err = refused(remove_services, appointment=appt, customer=other_customer, service_types=["oil-change"])
    assert err.code == "not_yours"
    # a service it does not have
    assert refused(remove_services, appointment=appt, customer=customer, service_types=["brakes"]).code == (
        "not_on_appointment"
    )
    # every service: that is a cancellation, asked as one
    err = refused(remove_services, appointment=appt, customer=customer, service_types=["oil-change", "tire-rotation"])
    assert err.code == "last_service" and "cancel" in str(err)
    assert codes() == ["oil-change", "tire-rotation"]
    appt.refresh_from_db()
    assert appt.end == end
    cancel_appointment(appointment=appt, reason="sold the car", now=NOW)
    err = refused(remove_services, appointment=appt, customer=customer, service_types=["oil-change"])
    assert err.code == "not_active"


def test_update_keeps_a_service_that_was_deactivated_since(shop, customer):
    appt = book(customer, [shop.brakes], local(MONDAY, 9))
    ServiceType.objects.filter(pk__in=[shop.brakes.pk, shop.inspection.pk]).update(active=False)
    update_appointment(appointment=appt, service_types=[shop.brakes], notes="ok", now=NOW)  # the form resubmits it
    err = refused(update_appointment, appointment=appt, service_types=[shop.brakes, shop.inspection], now=NOW)
    assert (err.code, str(err)) == ("inactive_service", "Sorry, Inspection can't be booked right now.")
    appt.refresh_from_db()
    assert appt.notes == "ok"


def test_update_explicit_end_is_checked(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 17))
    assert refused(update_appointment, appointment=appt, end=local(MONDAY, 18, 30), now=NOW).code == "outside_hours"
    assert refused(update_appointment, appointment=appt, end=local(MONDAY, 16), now=NOW).code == "invalid"
    update_appointment(appointment=appt, end=local(MONDAY, 18), now=NOW)
    appt.refresh_from_db()
    assert appt.end == local(MONDAY, 18)


def test_update_customer_and_vehicle_must_match(shop, customer, other_customer, vehicle):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9), vehicle=vehicle)
    assert refused(update_appointment, appointment=appt, customer=other_customer, now=NOW).code == "wrong_vehicle"
    update_appointment(appointment=appt, customer=other_customer, vehicle=None, now=NOW)
    appt.refresh_from_db()
    assert (appt.customer, appt.vehicle) == (other_customer, None)


def test_update_status_and_moves_of_finished_appointments(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    update_appointment(appointment=appt, status=S.CANCELLED, cancel_reason="Duplicate", now=NOW)
    appt.refresh_from_db()
    assert (appt.status, appt.cancel_reason, appt.cancelled_at) == (S.CANCELLED, "Duplicate", NOW)
    err = refused(update_appointment, appointment=appt, start=local(TUESDAY, 9), now=NOW)
    assert err.code == "not_active"
    update_appointment(appointment=appt, notes="Customer called back", now=NOW)  # notes stay editable
    assert refused(update_appointment, appointment=appt, status=S.SCHEDULED, now=NOW).code == "not_active"


def test_update_rejects_unknown_fields(shop, customer):
    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    with pytest.raises(TypeError, match="created"):
        update_appointment(appointment=appt, created=NOW)


def test_one_car_cannot_be_in_two_bays_at_once(shop, customer, vehicle):
    first = book_appointment(
        customer=customer, vehicle=vehicle, service_types=[shop.brakes], start=local(MONDAY, 9), now=NOW
    )
    err = refused(
        book_appointment,
        customer=customer,
        vehicle=vehicle,
        service_types=[shop.oil_change],
        start=local(MONDAY, 10),
        now=NOW,
    )
    assert err.code == "overlap"
    assert str(err) == "The 2019 Honda Civic already has an appointment at that time (Monday, March 2 at 9:00 AM)."
    # Another of the customer's cars may come in at the same time, and the same car right after.
    second_car = Vehicle.objects.create(customer=customer, year=2021, make="Ford", model="F-150")
    book_appointment(
        customer=customer, vehicle=second_car, service_types=[shop.oil_change], start=local(MONDAY, 9), now=NOW
    )
    book_appointment(
        customer=customer, vehicle=vehicle, service_types=[shop.oil_change], start=local(MONDAY, 10, 30), now=NOW
    )
    # Moving the first onto the later one is refused; moving it where the car is free is fine.
    err = refused(reschedule_appointment, appointment=first, start=local(MONDAY, 10), now=NOW)
    assert err.code == "overlap"
    assert reschedule_appointment(appointment=first, start=local(MONDAY, 13), now=NOW).start == local(MONDAY, 13)
    # A cancelled appointment holds nothing.
    cancel_appointment(appointment=first, reason="test", now=NOW)
    book_appointment(
        customer=customer, vehicle=vehicle, service_types=[shop.oil_change], start=local(MONDAY, 13), now=NOW
    )


def test_admin_edit_cannot_put_a_car_in_two_places(shop, customer, vehicle):
    book_appointment(customer=customer, vehicle=vehicle, service_types=[shop.brakes], start=local(MONDAY, 9), now=NOW)
    other = book_appointment(customer=customer, service_types=[shop.oil_change], start=local(MONDAY, 9), now=NOW)
    err = refused(update_appointment, appointment=other, vehicle=vehicle, now=NOW)
    assert err.code == "overlap"


# --- transport ------------------------------------------------------------------------------------------------


def test_a_loaner_is_reserved_and_given_back_with_a_note_for_the_advisors(shop, customer):
    from scheduling.models import ShopProfile
    from scheduling.services import change_transport

    appt = book(customer, [shop.oil_change], local(MONDAY, 9))
    assert refused(change_transport, appointment=appt, transport="loaner").code == "not_offered"
    ShopProfile.objects.create(loaner_cars=True)
    change_transport(appointment=appt, transport="loaner", note="Loaner asked for on the reminder call.")
    appt.refresh_from_db()
    assert (appt.transport, appt.notes) == ("loaner", "Loaner asked for on the reminder call.")
    change_transport(appointment=appt, transport="drop_off", note="No loaner needed after all.")
    appt.refresh_from_db()
    assert appt.transport == "drop_off" and appt.notes.endswith("\nNo loaner needed after all.")
    assert refused(change_transport, appointment=appt, transport="shuttle").code == "not_offered"
    cancel_appointment(appointment=appt, reason="", now=NOW)
    assert refused(change_transport, appointment=appt, transport="waiter").code == "not_active"


def test_a_note_for_the_advisors_goes_under_the_notes_once(shop, customer):
    from scheduling.services import add_appointment_note

    appt = book(customer, [shop.oil_change], local(MONDAY, 9), notes="Squeal when braking")
    add_appointment_note(appointment=appt, note="Reminder call: will call back to rebook")
    add_appointment_note(appointment=appt, note="Reminder call: will call back to rebook")
    appt.refresh_from_db()
    assert appt.notes == "Squeal when braking\nReminder call: will call back to rebook"
