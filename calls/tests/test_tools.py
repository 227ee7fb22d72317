"""The agent's tools: schemas, argument validation, authorisation, database effects, ToolCall records."""

import json
from datetime import time, timedelta

import pytest

from calls.agent import tools
from calls.agent.actions import EndCall, Transfer, action_from_tool
from calls.agent.phrases import grid_phrase, slot_label
from calls.agent.schema import SchemaError, check_schema, validate
from calls.agent.tools import NOT_YOURS, arun_tool, registry, run_tool
from calls.models import Call, ToolCall
from calls.tests.conftest import MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from crm.models import Customer
from scheduling.availability import shop_tz
from scheduling.models import Appointment, BusinessHours, Closure
from scheduling.offers import Grid

EXPECTED_TOOLS = {
    "lookup_customer",
    "register_customer",
    "update_customer_details",
    "get_todays_visits",
    "note_for_advisor",
    "get_business_hours",
    "get_shop_info",
    "get_services",
    "get_available_slots",
    "book_appointment",
    "get_upcoming_appointments",
    "cancel_appointment",
    "reschedule_appointment",
    "confirm_appointment",
    "decode_vin",
    "add_vehicle",
    "transfer_to_advisor",
    "end_call",
    "restore_appointment",
    "add_services_to_appointment",
    "swap_appointment_services",
    "change_appointment_vehicle",
    "set_appointment_transport",
    "add_appointment_note",
    "stop_calls",
    "request_call_back",
    "report_wrong_number",
    "remove_services_from_appointment",
}


def test_registry_offers_every_tool_in_openai_format():
    specs = registry.openai_tools()
    assert {s["function"]["name"] for s in specs} == EXPECTED_TOOLS
    for spec in specs:
        assert spec["type"] == "function"
        fn = spec["function"]
        assert set(fn) == {"name", "description", "parameters"}
        assert len(fn["description"]) > 20
        params = fn["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert set(params["required"]) <= set(params["properties"])
        check_schema(params)
    json.dumps(specs)  # sendable as is
    assert [s["function"]["name"] for s in registry.openai_tools(["end_call"])] == ["end_call"]


def test_validator_messages():
    schema = registry.get("book_appointment").parameters
    with pytest.raises(SchemaError, match="Missing required argument 'start'"):
        validate({"services": ["oil-change"]}, schema)
    with pytest.raises(SchemaError, match="'services' must be array"):
        validate({"services": "oil-change", "start": "2026-12-01T09:00:00"}, schema)
    with pytest.raises(SchemaError, match="Unknown argument"):
        validate({"services": ["x"], "start": "2026-12-01T09:00:00", "customer_id": 7}, schema)
    with pytest.raises(SchemaError, match="ISO date and time"):
        validate({"services": ["x"], "start": "tomorrow at 9"}, schema)
    with pytest.raises(SchemaError, match="one of drop_off"):
        validate({"services": ["x"], "start": "2026-12-01T09:00:00", "transport": "teleport"}, schema)
    with pytest.raises(SchemaError, match="'vehicle_id' must be integer"):
        validate({"services": ["x"], "start": "2026-12-01T09:00:00", "vehicle_id": True}, schema)
    with pytest.raises(SchemaError, match="at least 1 item"):
        validate({"services": [], "start": "2026-12-01T09:00:00"}, schema)
    with pytest.raises(SchemaError, match="at most 8"):
        validate({"services": ["x"], "limit": 9}, registry.get("get_available_slots").parameters)
    validate({"services": ["x"], "start": "2026-12-01T09:00:00-06:00", "vehicle_id": 3}, schema)
    with pytest.raises(ValueError, match="unsupported schema keywords"):
        check_schema({"type": "object", "oneOf": []})


@pytest.mark.django_db
def test_bad_arguments_are_refused_and_recorded(agent_ctx, agent_customer):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    missing = run_tool(ctx, "book_appointment", {"services": ["oil-change"]})
    assert not missing.ok and missing.error == "Missing required argument 'start'."
    garbled = run_tool(ctx, "cancel_appointment", '{"appointment_id": ')
    assert not garbled.ok and "not valid JSON" in garbled.error
    unknown = run_tool(ctx, "launch_rocket", {})
    assert not unknown.ok and "no tool called" in unknown.error
    rows = list(ToolCall.objects.filter(call_id=ctx.call_id).order_by("id"))
    assert [(r.name, r.ok) for r in rows] == [
        ("book_appointment", False),
        ("cancel_appointment", False),
        ("launch_rocket", False),
    ]
    assert rows[0].arguments == {"services": ["oil-change"]} and rows[0].error.startswith("Missing")
    assert rows[1].arguments == {"_raw": '{"appointment_id": '}


@pytest.mark.django_db
def test_json_string_arguments_and_tool_call_record(agent_ctx, agent_customer):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    ctx.turn_index = 4
    res = run_tool(ctx, "get_services", '{"query": "my brakes are squeaking"}')
    assert res.ok
    assert [s["code"] for s in res.result["services"]] == ["brakes"]
    assert res.result["services"][0]["sentence"] == "Brake service takes about an hour and a half and costs $189."
    row = ToolCall.objects.get(call_id=ctx.call_id)
    assert (row.name, row.ok, row.turn_index) == ("get_services", True, 4)
    assert row.arguments == {"query": "my brakes are squeaking"}
    assert row.result == res.result
    assert json.loads(res.to_content()) == res.result


@pytest.mark.django_db
def test_lookup_by_caller_id_binds_the_call(agent_ctx, agent_customer):
    ctx = agent_ctx(MARIA_PHONE, None)
    res = run_tool(ctx, "lookup_customer", {})
    assert res.ok and res.result["found"] and res.result["how"] == "caller_id"
    assert res.result["customer"]["first_name"] == "Maria"
    assert res.result["customer"]["vehicles"][0]["label"] == "2018 Honda Civic"
    assert (ctx.customer_id, ctx.verified, ctx.customer_name) == (agent_customer.pk, True, "Maria")
    assert Call.objects.get(pk=ctx.call_id).customer_id == agent_customer.pk
    again = run_tool(ctx, "lookup_customer", {})
    assert again.result["how"] == "already_bound"


def _claim(**extra) -> dict:
    return {"first_name": "Maria", "last_name": "Garcia", "postal_code": "60601", **extra}


@pytest.mark.django_db
def test_lookup_by_name_postal_code_and_one_more_fact(agent_ctx, agent_customer):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    assert run_tool(ctx, "lookup_customer", {}).result["found"] is False
    # Name and postal code alone never bind the call, right or wrong: the answer asks for one more fact.
    for code in ("60601", "60602"):
        res = run_tool(ctx, "lookup_customer", _claim(postal_code=code))
        assert res.ok and res.result["found"] is False and res.result["needs"] == "extra_fact"
        assert "customer" not in res.result and ctx.customer_id is None
    wrong_make = run_tool(ctx, "lookup_customer", _claim(vehicle_make="Toyota"))
    assert wrong_make.ok and wrong_make.result["found"] is False and "needs" not in wrong_make.result
    only_last_name = run_tool(
        ctx, "lookup_customer", {"last_name": "Garcia", "postal_code": "60601", "vehicle_make": "Honda"}
    )
    assert not only_last_name.ok and "first and last name" in only_last_name.error
    right = run_tool(ctx, "lookup_customer", _claim(first_name="maria", last_name="GARCIA", vehicle_make="honda"))
    assert right.result["found"] and ctx.customer_id == agent_customer.pk and ctx.verified
    assert ctx.verified_by == "vehicle_make"
    assert "verified Maria Garcia by postal code and vehicle make" in ctx.summary


@pytest.mark.django_db
@pytest.mark.parametrize("said", ["6", "606", "6 0 6", "6060", "60601-9998x"])
def test_part_of_a_postal_code_verifies_nobody(agent_ctx, agent_customer, said):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    for args in (
        {"last_name": "Garcia", "postal_code": said},  # what the first digit alone used to be enough for
        _claim(postal_code=said),
        _claim(postal_code=said, vehicle_make="Honda"),  # the right make does not make up for the code
        {**_claim(postal_code=said), "first_name": "", "vehicle_make": "Honda"},
    ):
        res = run_tool(ctx, "lookup_customer", args)
        assert not (res.ok and res.result["found"]) and ctx.customer_id is None


@pytest.mark.django_db
def test_zip_plus_four_and_the_full_name(agent_ctx, agent_customer):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    other_first = run_tool(ctx, "lookup_customer", _claim(first_name="Mario", vehicle_make="Honda"))
    assert other_first.ok and not other_first.result["found"]
    res = run_tool(ctx, "lookup_customer", _claim(postal_code="60601-9999", vehicle_make="Honda"))
    assert res.ok and res.result["found"] and ctx.customer_id == agent_customer.pk
    agent_customer.postal_code = "60601-1234"
    agent_customer.save()
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    assert not run_tool(ctx, "lookup_customer", _claim(postal_code="606019999", vehicle_make="Honda")).result["found"]
    assert run_tool(ctx, "lookup_customer", _claim(postal_code="60601 1234", vehicle_make="Honda")).result["found"]


@pytest.mark.django_db
def test_the_day_of_an_upcoming_appointment_proves_it_too(agent_ctx, agent_customer, agent_appointment):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    day = agent_appointment.start.astimezone(agent_appointment.start.tzinfo).date()
    # (A wrong day is a wrong fact: see the day-guessing probe below; two of them lock the customer.)
    # Every fact given must be true: a right day does not excuse a wrong make.
    both = run_tool(ctx, "lookup_customer", _claim(appointment_date=day.isoformat(), vehicle_make="Ford"))
    assert both.ok and not both.result["found"]
    right = run_tool(ctx, "lookup_customer", _claim(appointment_date=day.isoformat()))
    assert right.result["found"] and ctx.verified_by == "appointment_day"
    cancelled = run_tool(ctx, "cancel_appointment", {"appointment_id": agent_appointment.pk})
    assert cancelled.ok


@pytest.mark.django_db
def test_failed_attempts_lock_the_number_across_calls(agent_ctx, agent_customer, settings):
    """Five failures from one number in 24 h, spread over calls: the sixth call cannot verify, not even rightly."""
    assert settings.VERIFY_MAX_ATTEMPTS == 5
    for attempt in range(5):
        ctx = agent_ctx(NEW_CALLER_PHONE, None)  # a new call each time
        res = run_tool(ctx, "lookup_customer", _claim(last_name=f"Smith{attempt}", vehicle_make="Honda"))
        assert res.ok and res.result["found"] is False
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    blocked = run_tool(ctx, "lookup_customer", _claim(vehicle_make="Honda"))
    assert not blocked.ok and "service advisor" in blocked.error
    assert ctx.customer_id is None
    assert not run_tool(ctx, "lookup_customer", _claim()).ok  # not even asked for the extra fact
    # Another caller is not affected.
    other = agent_ctx("+13125550177", None)
    assert run_tool(other, "lookup_customer", _claim(vehicle_make="Honda")).result["found"]


@pytest.mark.django_db
def test_failed_attempts_lock_the_customer_whatever_the_number(agent_ctx, agent_customer, agent_now):
    for n in range(5):  # wrong postal codes: the general limit on a name, whatever the numbers
        ctx = agent_ctx(f"+1312555017{n}", None)
        assert not run_tool(ctx, "lookup_customer", _claim(postal_code=f"6070{n}", vehicle_make="Honda")).result[
            "found"
        ]
    agent_customer.refresh_from_db()
    assert "Phone verification locked after 5 failed attempts" in agent_customer.notes
    assert "a number ending 0174" in agent_customer.notes
    ctx = agent_ctx("+13125550188", None)
    blocked = run_tool(ctx, "lookup_customer", _claim(vehicle_make="Honda"))
    assert not blocked.ok and ctx.customer_id is None
    assert "phone verification refused" in ctx.summary
    # The real customer calling from their own number is still known by caller ID.
    own = agent_ctx(MARIA_PHONE, None)
    assert run_tool(own, "lookup_customer", {}).result["found"]
    # One note per lock-out, kept after what the advisors wrote.
    agent_customer.refresh_from_db()
    assert agent_customer.notes.count("Phone verification locked") == 1


@pytest.mark.django_db
def test_verifying_rightly_is_no_failed_attempt(agent_ctx, agent_customer, settings):
    """A customer who calls from a work phone every day is never locked out by getting it right."""
    for _ in range(settings.VERIFY_MAX_ATTEMPTS + 1):
        ctx = agent_ctx(NEW_CALLER_PHONE, None)
        assert run_tool(ctx, "lookup_customer", _claim(vehicle_make="Honda")).result["found"]

    # ... and their failures still count from zero: one wrong make short of the budget, and the next call gets in.
    def new_call(make: str) -> bool:
        return run_tool(agent_ctx(NEW_CALLER_PHONE, None), "lookup_customer", _claim(vehicle_make=make)).result["found"]  # type: ignore[index]

    assert not any(new_call(f"Wrong{n}") for n in range(settings.VERIFY_MAX_WRONG_FACTS - 1))
    assert new_call("Honda")
    agent_customer.refresh_from_db()
    assert "locked" not in agent_customer.notes


@pytest.mark.django_db
def test_guessing_the_day_from_five_numbers_locks_the_customer(agent_ctx, agent_customer, agent_appointment):
    """The audit's probe: name and ZIP are known, the appointment is next week, and each call from a new number
    guesses another open day. Two wrong facts and phone verification is locked, the right day included."""
    right = agent_appointment.start.astimezone(shop_tz()).date()  # Wednesday
    guesses = [right + timedelta(days=d) for d in (-2, -1, 1, 2, 3)]  # Monday, Tuesday, Thursday to Saturday
    answers = [
        run_tool(agent_ctx(f"+1312555017{n}", None), "lookup_customer", _claim(appointment_date=day.isoformat()))
        for n, day in enumerate(guesses)
    ]
    assert [a.ok for a in answers] == [True, True, False, False, False]  # VERIFY_MAX_WRONG_FACTS is 2
    assert not any(a.ok and a.result["found"] for a in answers)
    assert {a.error for a in answers[2:]} == {tools.LOCKED_OUT}  # no word on which fact was wrong
    later = agent_ctx("+13125550188", None)
    assert not run_tool(later, "lookup_customer", _claim(appointment_date=right.isoformat())).ok
    assert later.customer_id is None
    agent_customer.refresh_from_db()
    assert agent_customer.notes.count("Phone verification locked") == 1
    assert "2 wrong answers to the extra question" in agent_customer.notes
    assert "a number ending 0170, a number ending 0171." in agent_customer.notes
    assert "5550170" not in agent_customer.notes
    # The real customer on their own phone is still known by caller ID.
    assert run_tool(agent_ctx(MARIA_PHONE, None), "lookup_customer", {}).result["found"]


@pytest.mark.django_db
def test_several_days_in_one_answer_are_one_wrong_answer(agent_ctx, agent_customer, agent_appointment):
    right = agent_appointment.start.astimezone(shop_tz()).date()
    days = [(right + timedelta(days=d)).isoformat() for d in (-2, -1, 0, 1, 2)]
    spray = run_tool(agent_ctx(NEW_CALLER_PHONE, None), "lookup_customer", _claim(appointment_dates=days))
    assert spray.ok and not spray.result["found"]
    # A caller who gets it right first time still verifies: one wrong answer is within the budget.
    ctx = agent_ctx("+13125550177", None)
    assert run_tool(ctx, "lookup_customer", _claim(appointment_dates=[right.isoformat()])).result["found"]
    assert ctx.verified_by == "appointment_day"


@pytest.mark.django_db
def test_a_lockout_says_nothing_about_whether_the_name_is_a_customer(agent_ctx, agent_customer, settings):
    """Maria Garcia of 60601 is a customer, Mario Garzia is nobody: probing either hears the same, lock-outs too."""

    def probe(first: str, last: str, numbers: str) -> list:
        heard = []
        claims = [("60601", "Ford")] * 3 + [(f"6070{n}", "Honda") for n in range(settings.VERIFY_MAX_ATTEMPTS)]
        for n, (code, make) in enumerate(claims):
            ctx = agent_ctx(f"{numbers}{n:02d}", None)
            claim = {"first_name": first, "last_name": last, "postal_code": code}
            for args in (claim, {**claim, "vehicle_make": make}):
                res = run_tool(ctx, "lookup_customer", args)
                heard.append((res.ok, res.error, res.result))
        return heard

    assert probe("Maria", "Garcia", "+131255502") == probe("Mario", "Garzia", "+131255503")


@pytest.mark.django_db
def test_lockout_note_follows_existing_notes(agent_ctx, agent_customer):
    agent_customer.notes = "Prefers mornings."
    agent_customer.save()
    for n in range(5):
        run_tool(agent_ctx(f"+1312555016{n}", None), "lookup_customer", _claim(vehicle_make="Ford"))
    agent_customer.refresh_from_db()
    first, second = agent_customer.notes.split("\n")
    assert first == "Prefers mornings." and second.startswith("[") and "locked" in second


@pytest.mark.django_db
def test_without_the_shared_cache_nobody_is_verified_by_knowledge(agent_ctx, agent_customer, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(cache, "incr", lambda *a, **k: None)  # django-redis answers None when Redis is down
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    res = run_tool(ctx, "lookup_customer", _claim(vehicle_make="Honda"))
    assert not res.ok and ctx.customer_id is None


@pytest.mark.django_db
def test_changes_from_a_number_not_on_the_account_need_the_extra_fact(agent_ctx, agent_customer, agent_appointment):
    # Bound without caller ID and without a proved fact (as a second stream of a call would have been).
    ctx = agent_ctx(NEW_CALLER_PHONE, agent_customer)
    assert ctx.verified_by == ""
    assert run_tool(ctx, "get_upcoming_appointments", {}).ok
    for name, args in (
        ("cancel_appointment", {}),
        ("confirm_appointment", {}),
        ("reschedule_appointment", {"new_start": agent_appointment.start.isoformat()}),
    ):
        res = run_tool(ctx, name, {"appointment_id": agent_appointment.pk, **args})
        assert not res.ok and res.error == tools.NEED_EXTRA_FACT, name
    agent_appointment.refresh_from_db()
    assert agent_appointment.status == "scheduled"
    assert run_tool(ctx, "lookup_customer", _claim(vehicle_make="Honda")).result["found"]
    assert run_tool(ctx, "cancel_appointment", {"appointment_id": agent_appointment.pk}).ok


@pytest.mark.django_db
def test_appointment_read_back_says_no_more_than_needed(agent_ctx, agent_customer, agent_appointment, agent_shop):
    from crm.models import Vehicle

    Vehicle.objects.create(customer=agent_customer, year=2021, make="Jeep", model="Wrangler")
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    (appt,) = run_tool(ctx, "get_upcoming_appointments", {}).result["appointments"]
    text = json.dumps(appt)
    assert appt["vehicle"] == "2018 Honda Civic" and "Jeep" not in text
    assert "555" not in text and "0142" not in text and "60601" not in text
    assert set(appt) == {
        "id",
        "start",
        "end",
        "label",
        "services",
        "service_codes",
        "services_spoken",
        "vehicle",
        "vehicle_id",
        "status",
        "transport",
    }
    assert appt["vehicle_id"] == agent_appointment.vehicle_id  # its own car (rebooking it keeps the car)


@pytest.mark.django_db
def test_register_customer_uses_the_caller_id(agent_ctx, agent_shop):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    res = run_tool(
        ctx,
        "register_customer",
        {
            "first_name": "John",
            "last_name": "Smith",
            "vehicle_year": 2015,
            "vehicle_make": "Toyota",
            "vehicle_model": "Camry",
        },
    )
    assert res.ok, res.error
    customer = Customer.objects.get(phone=NEW_CALLER_PHONE)
    assert customer.full_name == "John Smith"
    vehicle = customer.vehicles.get()
    assert (vehicle.year, vehicle.make, vehicle.model) == (2015, "Toyota", "Camry")
    assert (ctx.customer_id, ctx.verified) == (customer.pk, True)
    assert Call.objects.get(pk=ctx.call_id).customer_id == customer.pk
    twice = run_tool(ctx, "register_customer", {"first_name": "John"})
    assert not twice.ok and "already have an account" in twice.error
    assert Customer.objects.filter(phone=NEW_CALLER_PHONE).count() == 1


@pytest.mark.django_db
def test_register_without_a_usable_caller_id_is_refused(agent_ctx, agent_shop):
    ctx = agent_ctx("anonymous", None)
    res = run_tool(ctx, "register_customer", {"first_name": "Ann", "vehicle_make": "Ford"})
    assert not res.ok and "phone number" in res.error
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_appointment_tools_need_a_bound_customer(agent_ctx, agent_appointment, agent_now):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    for name, args in [
        ("get_upcoming_appointments", {}),
        ("cancel_appointment", {"appointment_id": agent_appointment.pk}),
        ("book_appointment", {"services": ["oil-change"], "start": (agent_now + timedelta(days=1)).isoformat()}),
    ]:
        res = run_tool(ctx, name, args)
        assert not res.ok and res.error == tools.NEED_ACCOUNT, name
    agent_appointment.refresh_from_db()
    assert agent_appointment.status == Appointment.Status.SCHEDULED
    assert Appointment.objects.count() == 1


@pytest.mark.django_db
def test_nobody_changes_someone_elses_appointment(
    agent_ctx, agent_customer, agent_appointment, agent_other_appointment, agent_now
):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    other = agent_other_appointment
    new_start = agent_local(agent_now + timedelta(days=4), 14).isoformat()
    attempts = [
        ("cancel_appointment", {"appointment_id": other.pk, "reason": "the model said so"}),
        ("reschedule_appointment", {"appointment_id": other.pk, "new_start": new_start}),
        ("confirm_appointment", {"appointment_id": other.pk}),
        ("remove_services_from_appointment", {"appointment_id": other.pk, "services": ["brakes"]}),
        ("get_available_slots", {"services": ["brakes"], "exclude_appointment_id": other.pk}),
        ("cancel_appointment", {"appointment_id": 999999}),
    ]
    for name, args in attempts:
        res = run_tool(ctx, name, args)
        assert (res.ok, res.error) == (False, NOT_YOURS), name
    other.refresh_from_db()
    assert other.status == Appointment.Status.SCHEDULED and other.cancel_reason == ""
    assert other.start == agent_now + timedelta(days=3)
    listed = run_tool(ctx, "get_upcoming_appointments", {}).result["appointments"]
    assert [a["id"] for a in listed] == [agent_appointment.pk]
    assert ToolCall.objects.filter(call_id=ctx.call_id, ok=False).count() == len(attempts)


@pytest.mark.django_db
def test_get_available_slots_exact_time(agent_ctx, agent_customer, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    tomorrow = (agent_now + timedelta(days=1)).date()
    res = run_tool(
        ctx,
        "get_available_slots",
        {"services": ["oil change"], "date_from": tomorrow.isoformat(), "time_preference": "09:30", "limit": 3},
    )
    assert res.ok, res.error
    data = res.result
    assert data["matched_preference"] and data["services"] == ["Oil change"] and data["duration_minutes"] == 30
    first = data["slots"][0]
    assert first["start"] == agent_local(tomorrow, 9, 30).isoformat()
    assert first["label"] == slot_label(agent_local(tomorrow, 9, 30))
    assert [s["time"] for s in data["slots"]] == ["09:30", "09:00", "10:00"]


@pytest.mark.django_db
def test_get_available_slots_full_time_offers_nearest(
    agent_ctx, agent_customer, agent_other_appointment, agent_now, agent_shop
):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    tomorrow = (agent_now + timedelta(days=1)).date()
    start = agent_local(tomorrow, 10)
    for _ in range(4):  # every bay busy 10:00-11:00
        a = Appointment.objects.create(
            customer=agent_other_appointment.customer, start=start, end=start + timedelta(hours=1)
        )
        a.service_types.set([agent_shop.diagnostics])
    res = run_tool(
        ctx,
        "get_available_slots",
        {"services": ["oil-change"], "day_phrase": "tomorrow", "time_preference": "around 10", "limit": 3},
    )
    data = res.result
    assert not data["matched_preference"]
    assert "10:00 AM isn't available" in data["note"]
    assert sorted(s["time"] for s in data["slots"]) == ["09:00", "09:30", "11:00"]


@pytest.mark.django_db
def test_get_available_slots_closed_day_and_closure(agent_ctx, agent_customer, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    sunday = (agent_now + timedelta(days=6)).date()
    res = run_tool(ctx, "get_available_slots", {"services": ["oil-change"], "date_from": sunday.isoformat()})
    data = res.result
    assert data["note"].startswith("We're closed on Sundays.")
    assert data["beyond_period"] and not data["matched_preference"]
    assert data["slots"][0]["date"] == (sunday + timedelta(days=1)).isoformat()  # Monday's first opening

    friday = (agent_now + timedelta(days=4)).date()
    Closure.objects.create(date=friday, reason="staff training")
    res = run_tool(ctx, "get_available_slots", {"services": ["oil-change"], "dates": [friday.isoformat()]})
    assert res.result["note"].startswith(f"We're closed on Friday, {friday:%B} {friday.day} (staff training).")


@pytest.mark.django_db
def test_get_available_slots_window_and_unknown_service(agent_ctx, agent_customer, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    res = run_tool(
        ctx,
        "get_available_slots",
        {"services": ["brakes"], "day_phrase": "next week", "time_preference": "afternoon", "limit": 5},
    )
    data = res.result
    assert data["matched_preference"]
    assert all("12:00" <= s["time"] < "17:00" for s in data["slots"])
    assert len({s["date"] for s in data["slots"]}) >= 3  # spread over the week, not five times Monday
    unknown = run_tool(ctx, "get_available_slots", {"services": ["teleportation"]})
    assert not unknown.ok and unknown.error == "We don't have a service called “teleportation”."
    inactive = run_tool(ctx, "get_available_slots", {"services": ["detailing"]})
    assert not inactive.ok
    too_far = run_tool(
        ctx,
        "get_available_slots",
        {"services": ["brakes"], "date_from": (agent_now + timedelta(days=400)).date().isoformat()},
    )
    assert not too_far.ok and "days ahead" in too_far.error


@pytest.mark.django_db
def test_book_appointment(agent_ctx, agent_customer, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    start = agent_local((agent_now + timedelta(days=1)).date(), 9, 30)
    res = run_tool(
        ctx,
        "book_appointment",
        {
            "services": ["oil-change", "tire rotation"],
            "start": start.isoformat(),
            "transport": "waiter",
            "notes": "squeak at the front",
        },
    )
    assert res.ok, res.error
    appt = Appointment.objects.get(pk=res.result["appointment"]["id"])
    assert appt.customer_id == agent_customer.pk and appt.start == start
    assert appt.end == start + timedelta(minutes=60)
    assert appt.vehicle == agent_customer.vehicles.get()  # the only vehicle, used by default
    assert (appt.source, appt.transport, appt.notes) == ("phone", "waiter", "squeak at the front")
    assert appt.time_chosen_at == agent_now  # the caller chose it: no reminder call within the lead time
    assert sorted(appt.service_types.values_list("code", flat=True)) == ["oil-change", "tire-rotation"]
    assert res.result["appointment"]["services_spoken"] == "an oil change and a tire rotation"
    assert ctx.outcome == "booked" and "booked oil change, tire rotation" in ctx.summary
    assert Call.objects.get(pk=ctx.call_id).appointment_id == appt.pk


@pytest.mark.django_db
def test_book_appointment_refusals(agent_ctx, agent_customer, agent_other_appointment, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    tomorrow = (agent_now + timedelta(days=1)).date()
    night = run_tool(
        ctx, "book_appointment", {"services": ["oil-change"], "start": agent_local(tomorrow, 20).isoformat()}
    )
    assert not night.ok and "6:00 PM" in night.error
    luis_car = agent_other_appointment.customer.vehicles.create(year=2010, make="Ford", model="Focus")
    foreign = run_tool(
        ctx,
        "book_appointment",
        {"services": ["oil-change"], "vehicle_id": luis_car.pk, "start": agent_local(tomorrow, 9).isoformat()},
    )
    assert not foreign.ok and foreign.error == "I can't find that vehicle on your account."
    naive = run_tool(ctx, "book_appointment", {"services": ["oil-change"], "start": f"{tomorrow}T11:00:00"})
    assert naive.ok  # a wall time at the shop
    assert Appointment.objects.get(pk=naive.result["appointment"]["id"]).start == agent_local(tomorrow, 11)
    assert Appointment.objects.filter(customer=agent_customer).count() == 1
    assert ctx.outcome == "booked"


@pytest.mark.django_db
def test_cancel_reschedule_confirm_own_appointment(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    new_start = agent_local((agent_now + timedelta(days=3)).date(), 14)
    moved = run_tool(
        ctx, "reschedule_appointment", {"appointment_id": agent_appointment.pk, "new_start": new_start.isoformat()}
    )
    assert moved.ok, moved.error
    old_local = agent_appointment.start.astimezone(new_start.tzinfo)
    assert moved.result["appointment"]["previous_label"] == slot_label(old_local)
    agent_appointment.refresh_from_db()
    assert agent_appointment.start == new_start and agent_appointment.end == new_start + timedelta(minutes=30)
    assert agent_appointment.time_chosen_at == agent_now
    assert ctx.outcome == "rescheduled"
    confirmed = run_tool(ctx, "confirm_appointment", {"appointment_id": agent_appointment.pk})
    assert confirmed.ok and confirmed.result["appointment"]["status"] == "confirmed"
    cancelled = run_tool(ctx, "cancel_appointment", {"appointment_id": agent_appointment.pk, "reason": "sold the car"})
    assert cancelled.ok
    agent_appointment.refresh_from_db()
    assert (agent_appointment.status, agent_appointment.cancel_reason) == ("cancelled", "sold the car")
    assert agent_appointment.cancelled_at == agent_now
    again = run_tool(ctx, "cancel_appointment", {"appointment_id": agent_appointment.pk})
    assert not again.ok and "was cancelled" in again.error
    assert ctx.outcome == "cancelled"


@pytest.mark.django_db
def test_business_hours_and_services(agent_ctx, agent_shop, agent_now):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    res = run_tool(ctx, "get_business_hours", {})
    assert res.result["summary"] == (
        "We're open Monday to Friday, 7:00 AM to 6:00 PM, and Saturday, 8:00 AM to 1:00 PM. We're closed on Sunday."
    )
    saturday = (agent_now + timedelta(days=5)).date()
    day = run_tool(ctx, "get_business_hours", {"date": saturday.isoformat()}).result["day"]
    assert day["open"] and day["intervals"] == [["08:00", "13:00"]]
    assert day["sentence"] == f"On Saturday, {saturday:%B} {saturday.day} we're open from 8:00 AM to 1:00 PM."
    services = run_tool(ctx, "get_services", {}).result["services"]
    assert [s["code"] for s in services] == ["brakes", "diagnostics", "oil-change", "tire-rotation"]
    oil = next(s for s in services if s["code"] == "oil-change")
    assert oil["sentence"] == "An oil change takes about 30 minutes and costs $49.99."
    assert ctx.outcome == "info"


@pytest.mark.django_db
def test_decode_vin(agent_ctx, agent_shop):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    res = run_tool(ctx, "decode_vin", {"vin": "1HGCM82633A004352"})
    assert res.ok, res.error
    assert res.result["make"].lower() == "honda" and res.result["vin"] == "1HGCM82633A004352"
    bad = run_tool(ctx, "decode_vin", {"vin": "1HGCM82633A004353"})  # wrong check digit
    assert not bad.ok and bad.error


@pytest.mark.django_db
def test_transfer_and_end_call_return_actions_and_leave_the_call_alone(agent_ctx, agent_shop):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    res = run_tool(ctx, "transfer_to_advisor", {"reason": "wants a quote for body work"})
    assert res.ok and action_from_tool(res.result) == Transfer("wants a quote for body work")
    res = run_tool(ctx, "end_call", {})
    assert res.ok and action_from_tool(res.result) == EndCall("")
    assert ctx.outcome == ""  # the session records what happened when it acts, not the tool


@pytest.mark.django_db
def test_a_bug_in_a_tool_is_reported_not_raised(agent_ctx, agent_shop, monkeypatch):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)

    def broken(ctx, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        registry._tools,
        "get_services",
        tools.Tool(
            name="get_services", description="x" * 30, parameters=registry.get("get_services").parameters, fn=broken
        ),
    )
    res = run_tool(ctx, "get_services", {})
    assert not res.ok and res.error == "Something went wrong on our side with that request."
    assert ToolCall.objects.get(call_id=ctx.call_id).error == res.error


@pytest.mark.django_db(transaction=True)
async def test_arun_tool_runs_in_a_worker_thread(agent_ctx, agent_customer, agent_appointment):
    from bartsvoice.db import in_db_thread

    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, agent_customer)
    res = await arun_tool(ctx, "get_upcoming_appointments", {})
    assert res.ok and [a["id"] for a in res.result["appointments"]] == [agent_appointment.pk]
    count = await in_db_thread(ToolCall.objects.filter(call_id=ctx.call_id, name="get_upcoming_appointments").count)
    assert count == 1


@pytest.mark.django_db
def test_get_available_slots_off_the_grid(agent_ctx, agent_customer, agent_other_appointment, agent_now, agent_shop):
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    tomorrow = (agent_now + timedelta(days=1)).date()
    args = {"services": ["oil-change"], "dates": [tomorrow.isoformat()], "time_preference": "12:45", "limit": 3}
    data = run_tool(ctx, "get_available_slots", args).result
    assert data["off_grid"] and data["grid"] == "on the hour and half hour" and not data["matched_preference"]
    assert data["note"] == "We book on the hour and half hour; these are the nearest times."
    assert [s["time"] for s in data["slots"]] == ["12:30", "13:00"]  # the grid times either side
    assert data["slots"][0]["time_label"] == "12:30 PM"

    busy = agent_local(tomorrow, 12, 30)
    for _ in range(4):  # 12:30-13:30 taken in every bay: the next nearest times instead
        a = Appointment.objects.create(
            customer=agent_other_appointment.customer, start=busy, end=busy + timedelta(hours=1)
        )
        a.service_types.set([agent_shop.diagnostics])
    data = run_tool(ctx, "get_available_slots", args).result
    assert data["off_grid"] and sorted(s["time"] for s in data["slots"]) == ["11:30", "12:00", "13:30"]

    # A grid time that is taken is unavailable, not off the grid; a time past closing is neither: we close then.
    data = run_tool(ctx, "get_available_slots", {**args, "time_preference": "12:30"}).result
    assert not data["off_grid"] and data["grid"] == "" and "isn't available" in data["note"]
    data = run_tool(ctx, "get_available_slots", {**args, "time_preference": "19:15"}).result
    assert not data["off_grid"] and data["grid"] == "" and data["closes_at"] == "18:00"
    assert data["note"].startswith("We close at 6:00 PM")


@pytest.mark.django_db
def test_grid_follows_the_opening_time(agent_ctx, agent_customer, agent_now, settings):
    assert grid_phrase(Grid(60, (time(7),))) == "on the hour"
    assert grid_phrase(Grid(15, (time(7),))) == "every quarter hour"
    assert grid_phrase(Grid(20, (time(7),))) == "every 20 minutes"
    assert grid_phrase(Grid(30, (time(7, 15),))) == "every 30 minutes from 7:15 AM"
    tuesday = (agent_now + timedelta(days=1)).date()
    BusinessHours.objects.filter(weekday=tuesday.weekday()).update(opens=time(7, 15))
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    data = run_tool(
        ctx,
        "get_available_slots",
        {"services": ["oil-change"], "dates": [tuesday.isoformat()], "time_preference": "10:00"},
    ).result
    assert data["off_grid"] and data["grid"] == "every 30 minutes from 7:15 AM"
    assert [s["time"] for s in data["slots"]][:2] == ["09:45", "10:15"]


@pytest.mark.django_db
def test_closed_day_names_the_closure_and_the_next_open_day(agent_ctx, agent_shop, agent_now):
    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    thursday, friday = (agent_now + timedelta(days=3)).date(), (agent_now + timedelta(days=4)).date()
    Closure.objects.create(date=thursday, reason="Thanksgiving")
    Closure.objects.create(date=friday, reason="Closed for staff training")
    res = run_tool(ctx, "get_business_hours", {"date": thursday.isoformat()}).result
    assert res["day"]["sentence"] == f"We're closed on Thursday, {thursday:%B} {thursday.day} (Thanksgiving)."
    friday_day = run_tool(ctx, "get_business_hours", {"date": friday.isoformat()}).result["day"]
    assert friday_day["sentence"] == f"We're closed on Friday, {friday:%B} {friday.day} (staff training)."
    saturday = friday + timedelta(days=1)
    assert res["next_open"]["date"] == saturday.isoformat() and res["next_open"]["hours"] == "8:00 AM to 1:00 PM"
    open_day = run_tool(ctx, "get_business_hours", {"date": (agent_now + timedelta(days=1)).date().isoformat()})
    assert "next_open" not in open_day.result and open_day.result["day"]["hours"] == "7:00 AM to 6:00 PM"
    # the caller's words reach the same day through day_phrase, holiday and closure names included
    slots = run_tool(ctx, "get_available_slots", {"services": ["oil-change"], "day_phrase": "the staff training"})
    assert slots.ok and slots.result["searched"]["from"] == friday.isoformat()


@pytest.mark.django_db
def test_shop_info_gives_the_shops_number_and_how_to_say_it(agent_ctx, agent_shop, settings):
    from scheduling.models import ShopProfile

    settings.TWILIO_PHONE_NUMBER = "+13125559999"
    ShopProfile.objects.create(phone="(312) 555-0100")
    res = run_tool(agent_ctx(NEW_CALLER_PHONE, None), "get_shop_info", {})
    assert res.ok, res.error
    assert (res.result["phone"], res.result["phone_spoken"]) == ("+13125550100", "3 1 2, 5 5 5, 0 1 0 0")


@pytest.mark.django_db
def test_shop_info_says_whether_customers_can_wait_and_what_to_bring(agent_ctx, agent_shop):
    from scheduling.models import ShopProfile

    ctx = agent_ctx(NEW_CALLER_PHONE, None)
    unset = run_tool(ctx, "get_shop_info", {}).result
    assert (unset["customers_can_wait"], unset["waiting_area"], unset["what_to_bring"]) == ("unknown", "", "")
    ShopProfile.objects.create(customers_can_wait="yes", waiting_area="the lounge", what_to_bring="the spare key")
    info = run_tool(ctx, "get_shop_info", {}).result
    assert (info["customers_can_wait"], info["waiting_area"], info["what_to_bring"]) == (
        "yes",
        "the lounge",
        "the spare key",
    )


@pytest.mark.django_db
def test_remove_services_from_appointment(agent_ctx, agent_customer, agent_appointment, agent_shop):
    agent_appointment.service_types.add(agent_shop.rotation, agent_shop.brakes)
    ctx = agent_ctx(MARIA_PHONE, agent_customer)
    args = {"appointment_id": agent_appointment.pk}
    # by the caller's words or the code; what remains is said back
    res = run_tool(ctx, "remove_services_from_appointment", {**args, "services": ["rotate my tires", "brakes"]})
    assert res.ok, res.error
    assert (res.result["removed"], res.result["remaining"]) == (["Tire rotation", "Brake service"], ["Oil change"])
    agent_appointment.refresh_from_db()
    assert agent_appointment.end == agent_appointment.start + timedelta(minutes=30)
    # never an empty appointment: the last one is a cancel, asked as one
    last = run_tool(ctx, "remove_services_from_appointment", {**args, "services": ["oil change"]})
    assert not last.ok and "cancel the appointment" in last.error
    missing = run_tool(ctx, "remove_services_from_appointment", {**args, "services": ["diagnostics"]})
    assert not missing.ok and missing.error == "That isn't on this appointment; it's for oil change."
    assert [st.code for st in agent_appointment.service_types.all()] == ["oil-change"]
    # a caller proved by name and postal code only changes nothing yet (like any other change)
    unproved = agent_ctx(NEW_CALLER_PHONE, agent_customer)
    unproved.verified_by = "postal_code"
    assert not run_tool(unproved, "remove_services_from_appointment", {**args, "services": ["oil change"]}).ok
