"""The shop's facts for callers (ShopProfile, edited in the admin) and offers that keep the caller's limits: days
ruled out are never offered, and a window past closing time comes back as the latest openings with the hour."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bartsvoice.tests.factories import local
from scheduling.availability import shop_tz
from scheduling.models import ShopProfile
from scheduling.offers import TimePreference, find_offers
from scheduling.shop_facts import ShopFacts, shop_facts, shop_phone

pytestmark = pytest.mark.django_db


def test_facts_are_empty_until_the_shop_enters_them_then_read_from_its_profile():
    assert shop_facts() == ShopFacts()
    assert shop_facts().customers_can_wait == "unknown"  # never "yes" by default: an advisor confirms
    ShopProfile.objects.create(address=" 5 Main St ", loaner_cars=True, loaner_terms="Ask ahead")
    facts = shop_facts()
    assert (facts.address, facts.loaner_cars, facts.loaner_terms, facts.shuttle) == (
        "5 Main St",
        True,
        "Ask ahead",
        False,
    )
    assert (facts.customers_can_wait, facts.waiting_area, facts.what_to_bring) == ("unknown", "", "")
    ShopProfile.objects.update(customers_can_wait="no", waiting_area=" a bench ", what_to_bring=" your keys ")
    facts = shop_facts()
    assert (facts.customers_can_wait, facts.waiting_area, facts.what_to_bring) == ("no", "a bench", "your keys")


def test_a_manager_edits_the_one_profile_and_cannot_add_a_second(manager_client):
    profile = ShopProfile.objects.create(address="5 Main St")
    page = manager_client.get(reverse("admin:scheduling_shopprofile_change", args=[profile.pk]))
    assert page.status_code == 200
    saved = manager_client.post(
        reverse("admin:scheduling_shopprofile_change", args=[profile.pk]),
        {
            "address": "9 Oak Ave",
            "directions": "",
            "loaner_cars": "on",
            "loaner_terms": "",
            "shuttle_area": "",
            "customers_can_wait": "yes",
            "waiting_area": "the lounge by the front desk",
            "what_to_bring": "your keys",
        },
    )
    assert saved.status_code == 302
    profile.refresh_from_db()
    assert (profile.address, profile.loaner_cars) == ("9 Oak Ave", True)
    assert (profile.customers_can_wait, profile.waiting_area, profile.what_to_bring) == (
        "yes",
        "the lounge by the front desk",
        "your keys",
    )
    assert manager_client.get(reverse("admin:scheduling_shopprofile_add")).status_code == 403


def test_the_shops_number_is_its_profiles_else_the_twilio_number(settings):
    settings.TWILIO_PHONE_NUMBER = "+13125550100"
    assert shop_phone() == "+13125550100"  # no profile yet
    profile = ShopProfile.objects.create(address="5 Main St")
    assert shop_phone() == "+13125550100"  # a profile without a number
    ShopProfile.objects.filter(pk=profile.pk).update(phone="+13125550177")
    assert shop_facts().phone == shop_phone() == "+13125550177"
    settings.TWILIO_PHONE_NUMBER = ""
    assert shop_phone() == "+13125550177"
    ShopProfile.objects.filter(pk=profile.pk).update(phone="")
    assert shop_phone() == ""


def test_the_manager_enters_the_number_in_any_format_and_it_is_kept_as_e164(manager_client):
    profile = ShopProfile.objects.create(address="5 Main St")
    url = reverse("admin:scheduling_shopprofile_change", args=[profile.pk])
    form = {
        "address": "5 Main St",
        "directions": "",
        "loaner_terms": "",
        "shuttle_area": "",
        "customers_can_wait": "no",
    }
    assert 'name="phone"' in manager_client.get(url).content.decode()
    refused = manager_client.post(url, {**form, "phone": "555-01"})
    assert refused.status_code == 200 and "too short for a phone number" in refused.content.decode()
    assert manager_client.post(url, {**form, "phone": "(312) 555-0177"}).status_code == 302
    profile.refresh_from_db()
    assert profile.phone == "+13125550177"


def _next_monday():
    today = timezone.localdate(timezone=shop_tz())
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7)


def test_ruled_out_weekdays_and_dates_are_never_offered(shop):
    monday = _next_monday()
    offers = find_offers(
        service_types=[shop.oil_change],
        start=monday,
        end=monday + timedelta(days=6),
        now=timezone.now(),
        pref=TimePreference(mode="soonest"),
        limit=5,
        avoid_weekdays=frozenset({0}),
        avoid_days=frozenset({monday + timedelta(days=1)}),
    )
    assert offers.slots and {s.date() for s in offers.slots}.isdisjoint({monday, monday + timedelta(days=1)})


def test_a_window_after_closing_gives_the_closing_hour_and_the_latest_openings(shop):
    friday = _next_monday() + timedelta(days=4)
    offers = find_offers(
        service_types=[shop.oil_change],
        start=friday,
        end=friday,
        now=timezone.now(),
        pref=TimePreference(start=time(18), end=time(23, 59)),
        limit=3,
    )
    assert not offers.matched and offers.closes_at == time(18)
    assert [s.time() for s in offers.slots] == [time(17, 30), time(17), time(16, 30)]
    early = find_offers(
        service_types=[shop.oil_change],
        start=friday,
        end=friday,
        now=timezone.now(),
        pref=TimePreference(start=time(0), end=time(7)),
        limit=2,
    )
    assert early.opens_at == time(7) and [s.time() for s in early.slots] == [time(7), time(7, 30)]


@pytest.mark.parametrize(("asked", "closes"), [(time(18, 30), True), (time(18), True), (time(6), False)])
def test_a_time_asked_past_closing_or_before_opening_gives_the_hour_and_the_nearest_openings(shop, asked, closes):
    friday = _next_monday() + timedelta(days=4)
    offers = find_offers(
        service_types=[shop.oil_change],
        start=friday,
        end=friday,
        now=timezone.now(),
        pref=TimePreference(exact=asked),
        limit=3,
    )
    assert not offers.matched and offers.unavailable_exact is None
    if closes:
        assert offers.closes_at == time(18) and offers.slots[0].time() == time(17, 30)
    else:
        assert offers.opens_at == time(7) and offers.slots[0].time() == time(7)


def test_a_taken_time_inside_opening_hours_is_just_taken(shop):
    friday = _next_monday() + timedelta(days=4)
    offers = find_offers(
        service_types=[shop.oil_change],
        start=friday,
        end=friday,
        now=timezone.now(),
        pref=TimePreference(exact=time(17, 30)),
        limit=3,
        held=[(local(friday, 17, 30), local(friday, 18))] * 4,  # every bay taken at 5:30
    )
    assert offers.unavailable_exact == time(17, 30) and offers.closes_at is None


def test_the_soonest_openings_inside_a_window_come_first_not_spread_over_the_period(shop):
    monday = _next_monday()
    offers = find_offers(
        service_types=[shop.oil_change],
        start=monday,
        end=monday + timedelta(days=13),
        now=timezone.now(),
        pref=TimePreference(start=time(7), end=time(12), mode="soonest"),
        limit=3,
    )
    assert offers.matched
    assert [(s.date(), s.time()) for s in offers.slots] == [(monday, time(7)), (monday, time(8)), (monday, time(9))]


def test_the_next_openings_after_a_closed_day_keep_to_the_window_and_come_soonest_first(shop):
    monday = _next_monday()
    offers = find_offers(
        service_types=[shop.oil_change],
        start=monday - timedelta(days=1),  # a Sunday: closed
        end=monday - timedelta(days=1),
        now=timezone.now(),
        pref=TimePreference(start=time(7), end=time(12)),
        limit=3,
    )
    assert offers.empty is not None and offers.empty.reason == "closed"
    assert [s.date() for s in offers.slots] == [monday] * 3
    assert all(s.time() < time(12) for s in offers.slots)
