import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from crm.models import Customer, Vehicle
from crm.services import add_vehicle, find_customer_by_phone, register_customer

ACCORD = "1HGCM82633A004352"


@pytest.fixture
def ann(db):
    return register_customer(first_name=" Ann ", last_name="Lee", phone="(312) 555-0142", postal_code=" 60601 ")


# --- lookup cache ----------------------------------------------------------------------------------


def test_register_normalises(ann):
    ann.refresh_from_db()
    assert (ann.first_name, ann.phone, ann.postal_code) == ("Ann", "+13125550142", "60601")


def test_uncached_lookup_is_one_query_then_cached_is_none(ann, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = find_customer_by_phone("312.555.0142")
    assert found.pk == ann.pk
    with django_assert_num_queries(0):
        cached = find_customer_by_phone("+1 312 555 0142")  # another format, same entry
    assert (cached.pk, cached.first_name, cached.phone, cached.created) == (ann.pk, "Ann", ann.phone, ann.created)
    assert cached._state.adding is False and cached._state.db == "default"


def test_cached_instance_saves_as_an_update(ann):
    find_customer_by_phone("3125550142")
    cached = find_customer_by_phone("3125550142")
    cached.notes = "prefers mornings"
    cached.save()
    assert Customer.objects.count() == 1
    assert Customer.objects.get().notes == "prefers mornings"


def test_unknown_caller_is_cached_as_a_miss(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert find_customer_by_phone("(773) 555-0199") is None
    with django_assert_num_queries(0):
        assert find_customer_by_phone("773-555-0199") is None
    # Registering the caller drops the cached miss.
    carl = register_customer(first_name="Carl", phone="773 555 0199")
    with django_assert_num_queries(1):
        assert find_customer_by_phone("7735550199").pk == carl.pk


def test_invalid_number_is_not_looked_up(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert find_customer_by_phone("anonymous") is None
        assert find_customer_by_phone("") is None


def test_phone_change_invalidates_old_and_new_numbers(ann):
    assert find_customer_by_phone("312-555-0142").pk == ann.pk
    assert find_customer_by_phone("312-555-0199") is None  # cached miss for the new number
    ann.phone = "+13125550199"
    ann.save()
    assert find_customer_by_phone("312-555-0142") is None
    assert find_customer_by_phone("312-555-0199").pk == ann.pk


def test_other_changes_refresh_the_cached_copy(ann):
    find_customer_by_phone("312-555-0142")
    ann.do_not_call = True
    ann.save()
    assert find_customer_by_phone("312-555-0142").do_not_call is True


def test_delete_invalidates(ann):
    assert find_customer_by_phone("312-555-0142") is not None
    ann.delete()
    assert find_customer_by_phone("312-555-0142") is None


@pytest.mark.django_db(transaction=True)
def test_lookup_racing_an_uncommitted_registration_is_not_cached_for_long():
    """Another connection looks the caller up after the save but before the commit."""

    def lookup_elsewhere():
        try:
            results.append(find_customer_by_phone("312-555-0177"))
        finally:
            connection.close()

    results = []
    with transaction.atomic():
        register_customer(first_name="Dee", phone="312-555-0177")
        thread = threading.Thread(target=lookup_elsewhere)
        thread.start()
        thread.join()
        assert results == [None]  # it saw no row and cached a miss
    assert find_customer_by_phone("312-555-0177").first_name == "Dee"  # the commit dropped that miss


# --- register_customer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"first_name": "  ", "phone": "312-555-0142"}, "first_name", "A first name is needed."),
        (
            {"first_name": "Bo", "phone": "555-0142"},
            "phone",
            "“555-0142” is missing the area code — dial it like (312) 555-0142.",
        ),
        ({"first_name": "Bo", "phone": "312-555-0142", "email": "bo@"}, "email", "Enter a valid email address."),
    ],
)
def test_register_rejects_bad_input_and_writes_nothing(db, kwargs, field, message):
    with pytest.raises(ValidationError) as exc_info:
        register_customer(**kwargs)
    assert exc_info.value.message_dict[field] == [message]
    assert not Customer.objects.exists()


def test_register_refuses_a_taken_phone_in_any_format(ann):
    with pytest.raises(ValidationError) as exc_info:
        register_customer(first_name="Bo", phone="+1 312 555 0142")
    assert exc_info.value.message_dict == {"phone": ["Another customer already has this phone number."]}
    assert Customer.objects.count() == 1


# --- add_vehicle -----------------------------------------------------------------------------------


def test_add_vehicle_decodes_the_vin(ann):
    vehicle = add_vehicle(customer=ann, vin="1hg cm826 33a004352", mileage=120_000, plate="ABC 123")
    vehicle.refresh_from_db()
    assert vehicle.vin == ACCORD
    assert (vehicle.year, vehicle.make, vehicle.model, vehicle.trim) == (2003, "Honda", "Accord", "EX-V6")
    assert vehicle.decoded["source"] == "offline"
    assert (vehicle.mileage, vehicle.plate) == (120_000, "ABC 123")


def test_add_vehicle_keeps_what_the_caller_said(ann):
    vehicle = add_vehicle(customer=ann, year=2004, make="Honda", model="Accord Coupe", vin=ACCORD)
    assert (vehicle.year, vehicle.model, vehicle.trim) == (2004, "Accord Coupe", "EX-V6")
    assert vehicle.vin_warnings == ["The VIN says model year 2003, but the year entered is 2004."]


def test_add_vehicle_without_vin(ann):
    vehicle = add_vehicle(customer=ann, year=2019, make="Toyota", model="Camry")
    assert (vehicle.vin, vehicle.decoded) == ("", {})
    # Several vehicles without a VIN are fine (the uniqueness only applies to real VINs).
    add_vehicle(customer=ann, make="Ford")
    assert Vehicle.objects.filter(vin="").count() == 2


def test_add_vehicle_rejects_invalid_vin(ann):
    with pytest.raises(ValidationError) as exc_info:
        add_vehicle(customer=ann, vin="1FTFW1ET5DFC10312")
    assert exc_info.value.message_dict == {
        "vin": ["VIN check digit is 5 but should be 9 — a character was probably mistyped."]
    }
    assert not Vehicle.objects.exists()


def test_add_vehicle_rejects_a_vin_already_on_file(ann):
    add_vehicle(customer=ann, vin=ACCORD)
    other = register_customer(first_name="Bo", phone="312-555-0100")
    with pytest.raises(ValidationError) as exc_info:
        add_vehicle(customer=other, vin=ACCORD.lower())
    assert exc_info.value.message_dict == {"vin": ["Another vehicle on file already has this VIN."]}
    assert Vehicle.objects.count() == 1


def test_model_validation_reports_each_phone_problem_once(db):
    with pytest.raises(ValidationError) as exc_info:
        Customer(first_name="Eve", phone="").full_clean()
    assert exc_info.value.message_dict["phone"] == ["This field cannot be blank."]
    with pytest.raises(ValidationError) as exc_info:
        Customer(first_name="Eve", phone="hello").full_clean()
    assert exc_info.value.message_dict["phone"] == [
        "“hello” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142."
    ]


def test_update_contact_details_validates_the_email(db):
    from crm.services import update_contact_details

    customer = register_customer(first_name="Nora", last_name="Quinn", phone="+13125550177")
    update_contact_details(customer=customer, email="nora@example.com", first_name="Norah")
    customer.refresh_from_db()
    assert (customer.first_name, customer.email) == ("Norah", "nora@example.com")
    with pytest.raises(ValidationError):
        update_contact_details(customer=customer, email="nora at example")
