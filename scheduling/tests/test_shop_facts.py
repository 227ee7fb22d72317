"""The shop's facts for callers (ShopProfile, edited in the admin) and offers that keep the caller's limits: days
ruled out are never offered, and a window past closing time comes back as the latest openings with the hour."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.availability import shop_tz
from scheduling.models import ShopProfile
from scheduling.offers import TimePreference, find_offers
from scheduling.shop_facts import ShopFacts, shop_facts

pytestmark = pytest.mark.django_db


def test_facts_are_empty_until_the_shop_enters_them_then_read_from_its_profile():
    assert shop_facts() == ShopFacts()
    ShopProfile.objects.create(address=" 5 Main St ", loaner_cars=True, loaner_terms="Ask ahead")
    facts = shop_facts()
    assert (facts.address, facts.loaner_cars, facts.loaner_terms, facts.shuttle) == (
        "5 Main St",
        True,
        "Ask ahead",
        False,
    )


def test_a_manager_edits_the_one_profile_and_cannot_add_a_second(manager_client):
    profile = ShopProfile.objects.create(address="5 Main St")
    page = manager_client.get(reverse("admin:scheduling_shopprofile_change", args=[profile.pk]))
    assert page.status_code == 200
    saved = manager_client.post(
        reverse("admin:scheduling_shopprofile_change", args=[profile.pk]),
        {"address": "9 Oak Ave", "directions": "", "loaner_cars": "on", "loaner_terms": "", "shuttle_area": ""},
    )
    assert saved.status_code == 302
    profile.refresh_from_db()
    assert (profile.address, profile.loaner_cars) == ("9 Oak Ave", True)
    assert manager_client.get(reverse("admin:scheduling_shopprofile_add")).status_code == 403


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
