import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from crm.models import Customer, Vehicle
from crm.services import add_vehicle, register_customer

ACCORD = "1HGCM82633A004352"
PILOT = "5FNYF5H59HB011946"
BMW_EUROPE = "WBA3A5C51CF256651"

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(db):
    customer = register_customer(first_name="Ann", last_name="Lee", phone="312-555-0142", postal_code="60601")
    add_vehicle(customer=customer, vin=ACCORD, plate="ANN 1")
    add_vehicle(customer=customer, vin=PILOT)
    return customer


@pytest.fixture
def bo(db):
    return register_customer(first_name="Bo", last_name="Diaz", phone="+44 20 7946 0958", email="bo@example.com")


def _inline_management(total=0, initial=0):
    return {
        "vehicles-TOTAL_FORMS": str(total),
        "vehicles-INITIAL_FORMS": str(initial),
        "vehicles-MIN_NUM_FORMS": "0",
        "vehicles-MAX_NUM_FORMS": "1000",
    }


def _customer_post(**overrides):
    data = {
        "first_name": "Cy",
        "last_name": "Young",
        "phone": "(773) 555-0123",
        "email": "",
        "postal_code": "60614",
        "preferred_advisor": "",
        "notes": "",
        **_inline_management(),
    }
    data.update(overrides)
    return data


# --- pages render for an advisor with view/add/change only ------------------------------------------


@pytest.mark.parametrize("model", ["customer", "vehicle"])
def test_changelist_and_add_pages_render(advisor_client, ann, bo, model):
    assert advisor_client.get(reverse(f"admin:crm_{model}_changelist")).status_code == 200
    assert advisor_client.get(reverse(f"admin:crm_{model}_add")).status_code == 200


def test_change_pages_render(advisor_client, ann):
    response = advisor_client.get(reverse("admin:crm_customer_change", args=[ann.pk]))
    assert response.status_code == 200
    assert response.context["adminform"].form["phone"].value() == "(312) 555-0142"
    assert ACCORD in response.content.decode()  # the vehicle inline
    vehicle = ann.vehicles.get(vin=ACCORD)
    response = advisor_client.get(reverse("admin:crm_vehicle_change", args=[vehicle.pk]))
    assert response.status_code == 200
    assert "&quot;make&quot;: &quot;Honda&quot;" in response.content.decode()  # pretty decoded JSON, escaped


def test_customer_list_shows_national_phone_and_vehicle_count(advisor_client, ann, bo):
    response = advisor_client.get(reverse("admin:crm_customer_changelist"))
    rows = {c.pk: c for c in response.context["cl"].result_list}
    assert rows[ann.pk].vehicle_count == 2 and rows[bo.pk].vehicle_count == 0
    html = response.content.decode()
    assert "(312) 555-0142" in html and "+44 20 7946 0958" in html


# --- search -------------------------------------------------------------------------------------------


def _customer_search(client, term):
    response = client.get(reverse("admin:crm_customer_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize(
    "term", ["312-555-0142", "(312) 555 0142", "+1 312 555 0142", "3125550142", "555-0142", "Lee", "ann lee"]
)
def test_customer_search_finds_phone_in_any_format_and_names(advisor_client, ann, bo, term):
    assert [c.pk for c in _customer_search(advisor_client, term)] == [ann.pk]


@pytest.mark.parametrize("term", ["020 7946 0958", "+44 20 7946 0958", "bo@example.com", "diaz"])
def test_customer_search_international_and_email(advisor_client, ann, bo, term):
    assert [c.pk for c in _customer_search(advisor_client, term)] == [bo.pk]


def test_customer_search_by_vin_keeps_one_row_and_true_vehicle_count(advisor_client, ann, bo):
    # "H" is in both VINs: a plain join would list Ann twice and count her vehicles four times.
    results = _customer_search(advisor_client, "H")
    assert [c.pk for c in results] == [ann.pk]
    assert results[0].vehicle_count == 2
    assert [c.pk for c in _customer_search(advisor_client, ACCORD.lower())] == [ann.pk]


def test_customer_search_misses(advisor_client, ann, bo):
    assert _customer_search(advisor_client, "773-555-0000") == []


@pytest.mark.parametrize("term", [ACCORD, '"ANN 1"', "pilot", "Lee", "312-555-0142"])
def test_vehicle_search(advisor_client, ann, bo, term):
    response = advisor_client.get(reverse("admin:crm_vehicle_changelist"), {"q": term})
    vins = sorted(v.vin for v in response.context["cl"].result_list)
    expected = [ACCORD] if term in (ACCORD, '"ANN 1"') else [PILOT] if term == "pilot" else sorted([ACCORD, PILOT])
    assert vins == expected


def test_customer_autocomplete_understands_phone_numbers(advisor_client, ann, bo):
    response = advisor_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "crm", "model_name": "vehicle", "field_name": "customer", "term": "312-555-0142"},
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(ann.pk)]


# --- forms --------------------------------------------------------------------------------------------


def test_invalid_phone_shows_the_reason_and_saves_nothing(advisor_client, db):
    response = advisor_client.post(reverse("admin:crm_customer_add"), _customer_post(phone="555-0123"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"] == [
        "“555-0123” is missing the area code — dial it like (312) 555-0142."
    ]
    assert "missing the area code" in response.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_phone_in_another_format_is_refused(advisor_client, ann):
    response = advisor_client.post(reverse("admin:crm_customer_add"), _customer_post(phone="+1 312 555 0142"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["phone"] == [
        "Another customer already has this phone number — search for it first."
    ]
    assert Customer.objects.count() == 1


def test_add_customer_with_vehicle_inline(advisor_client, db):
    data = _customer_post(**_inline_management(total=1))
    data.update({"vehicles-0-vin": "1hg cm826 33a 004352", "vehicles-0-mileage": "98000"})
    response = advisor_client.post(reverse("admin:crm_customer_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get()
    assert customer.phone == "+17735550123"
    vehicle = customer.vehicles.get()
    assert (vehicle.vin, vehicle.year, vehicle.make, vehicle.model) == (ACCORD, 2003, "Honda", "Accord")


def test_inline_vin_error_is_shown(advisor_client, db):
    data = _customer_post(**_inline_management(total=1))
    data["vehicles-0-vin"] = "1FTFW1ET5DFC10312"
    response = advisor_client.post(reverse("admin:crm_customer_add"), data)
    assert response.status_code == 200
    assert "VIN check digit is 5 but should be 9 — a character was probably mistyped." in response.content.decode()
    assert not Customer.objects.exists()


def _vehicle_post(customer, **overrides):
    data = {"customer": str(customer.pk), "vin": "", "year": "", "make": "", "model": "", "trim": ""}
    data.update({"mileage": "", "plate": "", **overrides})
    return data


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        ("1FTFW1ET5DFC10312", "VIN check digit is 5 but should be 9 — a character was probably mistyped."),
        ("1HGCM82633A0043521", "A VIN has exactly 17 characters, but 18 were given."),
        (
            "1HGCM82633AOO4352",
            "Character 12 is the letter O, which never appears in a VIN — it is probably the digit 0.",
        ),
        (ACCORD, "Another vehicle on file already has this VIN."),
    ],
)
def test_vehicle_form_shows_vin_errors(advisor_client, ann, bo, vin, message):
    response = advisor_client.post(reverse("admin:crm_vehicle_add"), _vehicle_post(bo, vin=vin))
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors["vin"]
    assert not bo.vehicles.exists()


def test_vehicle_form_saves_european_vin_with_a_warning(advisor_client, bo):
    response = advisor_client.post(reverse("admin:crm_vehicle_add"), _vehicle_post(bo, vin=BMW_EUROPE), follow=True)
    assert response.status_code == 200
    vehicle = bo.vehicles.get()
    assert (vehicle.year, vehicle.make, vehicle.model) == (2012, "BMW", "328i")
    warnings = [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert len(warnings) == 1 and "outside North America" in warnings[0]
    assert "outside North America" in response.content.decode()


def test_vehicle_change_keeps_typed_values_and_warns(advisor_client, ann):
    vehicle = ann.vehicles.get(vin=ACCORD)
    data = _vehicle_post(ann, vin=ACCORD, year="2005", make="Honda", model="Accord", trim="EX-V6")
    response = advisor_client.post(reverse("admin:crm_vehicle_change", args=[vehicle.pk]), data, follow=True)
    assert response.status_code == 200
    vehicle.refresh_from_db()
    assert vehicle.year == 2005
    messages = [m.message for m in get_messages(response.wsgi_request)]
    assert any("The VIN says model year 2003, but the year entered is 2005." in m for m in messages)


def test_advisor_cannot_delete(advisor_client, ann):
    response = advisor_client.get(reverse("admin:crm_customer_delete", args=[ann.pk]))
    assert response.status_code == 403
    assert Vehicle.objects.count() == 2


# --- fitting a laptop screen, people by name ------------------------------------------------------------


def test_vehicle_inline_is_compact_and_links_to_the_vehicle_page(advisor_client, ann):
    response = advisor_client.get(reverse("admin:crm_customer_change", args=[ann.pk]))
    inline = response.context["inline_admin_formsets"][0]
    assert [field["name"] for field in inline.fields()] == ["vin", "year", "make", "model", "plate"]
    html = response.content.decode()
    assert "compact-vehicles" in html
    vehicle = ann.vehicles.get(vin=ACCORD)
    assert reverse("admin:crm_vehicle_change", args=[vehicle.pk]) in html  # trim, mileage, decoded data there


def test_inline_edit_keeps_trim_and_mileage(advisor_client, ann):
    vehicle = ann.vehicles.get(vin=ACCORD)
    vehicle.trim, vehicle.mileage = "EX", 98000
    vehicle.save()
    data = _customer_post(first_name="Ann", last_name="Lee", phone="312-555-0142", postal_code="60601")
    data.update(_inline_management(total=2, initial=2))
    for i, car in enumerate(ann.vehicles.order_by("pk")):
        row = {"id": car.pk, "customer": ann.pk, "vin": car.vin, "year": car.year or "", "make": car.make,
               "model": car.model, "plate": car.plate}  # fmt: skip
        data.update({f"vehicles-{i}-{name}": str(value) for name, value in row.items()})
    data["vehicles-0-plate"] = "ANN 2"
    response = advisor_client.post(reverse("admin:crm_customer_change", args=[ann.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    vehicle.refresh_from_db()
    assert (vehicle.plate, vehicle.trim, vehicle.mileage) == ("ANN 2", "EX", 98000)


def test_preferred_advisor_by_full_name_in_dropdown_and_filter(advisor_client, advisor, ann, bo, django_user_model):
    rivera = django_user_model.objects.create_user("arivera", first_name="Alex", last_name="Rivera", is_staff=True)
    jo = django_user_model.objects.create_user("jo", is_staff=True)  # no name on file: the username stands in
    django_user_model.objects.create_user("portal")  # not staff: never an advisor
    Customer.objects.filter(pk=ann.pk).update(preferred_advisor=rivera)
    Customer.objects.filter(pk=bo.pk).update(preferred_advisor=jo)
    form = advisor_client.get(reverse("admin:crm_customer_add")).context["adminform"].form
    labels = [label for _, label in form.fields["preferred_advisor"].choices][1:]
    assert labels == ["advisor", "Alex Rivera", "jo"]  # sorted as shown
    response = advisor_client.get(reverse("admin:crm_customer_changelist"))
    advisor_filter = next(f for f in response.context["cl"].filter_specs if f.title == "preferred advisor")
    assert [label for _, label in advisor_filter.lookup_choices] == ["Alex Rivera", "jo"]
    assert advisor_filter.empty_value_display == "Unassigned"


def test_an_advisor_reopens_phone_verification_after_a_lock_out(advisor_client, ann, settings):
    from crm import identity

    claim = identity.Claim(ann.first_name, ann.last_name, ann.postal_code or "60601", vehicle_make="Nope")
    for n in range(settings.VERIFY_MAX_ATTEMPTS):
        identity.verify_caller(claim, calling_number=f"+1312555016{n}")
    assert identity.is_locked(number="+13125550199", customers=[ann])
    response = advisor_client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "allow_phone_verification", "_selected_action": [ann.pk]},
        follow=True,
    )
    assert "Phone verification is open again for 1 customer(s)." in response.content.decode()
    assert not identity.is_locked(number="+13125550199", customers=[ann])


def test_wrong_facts_lock_phone_verification_until_an_advisor_reopens_it(advisor_client, ann, settings):
    from django.core.cache import cache

    from crm import identity

    make = ann.vehicles.first().make
    wrong = identity.Claim("Ann", "Lee", "60601", vehicle_make="Nope")
    right = identity.Claim("Ann", "Lee", "60601", vehicle_make=make)
    for n in range(settings.VERIFY_MAX_WRONG_FACTS):
        assert identity.verify_caller(wrong, calling_number=f"+1312555016{n}").status == identity.Status.NO_MATCH
    # The counting window passes (its counters expire): the lock stays, the right fact is still refused.
    cache.delete_many([identity._facts_key("Ann", "Lee", "60601"), identity._name_key("Ann", "Lee")])
    assert identity.verify_caller(right, calling_number="+13125550199").status == identity.Status.LOCKED
    advisor_client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "allow_phone_verification", "_selected_action": [ann.pk]},
    )
    assert identity.verify_caller(right, calling_number="+13125550199").verified
