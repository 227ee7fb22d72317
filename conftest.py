"""Fixtures every app's tests share: a clean cache, the booking rules as documented, staff users in their
real roles, a shop, a customer and their vehicle (built with bartsvoice/tests/factories.py), and the
Chromium the browser tests drive."""

import os

import pytest
from django.core.cache import cache

from bartsvoice.tests.factories import (
    ADVISOR_PASSWORD,
    ADVISORS,
    BOOKING_RULES,
    MANAGER_PASSWORD,
    MANAGERS,
    CustomerFactory,
    UserFactory,
    VehicleFactory,
    build_shop,
)
from bartsvoice.tests.prerequisites import CHROMIUM, CHROMIUM_MISSING, in_ci, require, use_browser_deadlines
from scheduling.models import Appointment


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with an empty cache (tests run against a dedicated Redis database)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _booking_rules(settings):
    """The README's defaults, whatever the environment running the tests says."""
    for name, value in BOOKING_RULES.items():
        setattr(settings, name, value)


# ------------------------------------------------------------------------------------------------ staff


@pytest.fixture
def advisor(db):
    """A service advisor (the role the roles migration defines); logs in as advisor / pw-advisor-1."""
    return UserFactory(username="advisor", password=ADVISOR_PASSWORD, roles=[ADVISORS])


@pytest.fixture
def advisor_client(client, advisor):
    client.force_login(advisor)
    return client


@pytest.fixture
def manager(db):
    """A manager: every permission of the shop's apps, call logs included."""
    return UserFactory(username="morgan", password=MANAGER_PASSWORD, roles=[MANAGERS])


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


# ------------------------------------------------------------------------------------------------ the shop


@pytest.fixture
def shop(db):
    """Mon–Fri 7:00–18:00 and Sat 8:00–13:00 (closed Sundays), 4 active bays, and the services oil-change
    (30 min), brakes (90 min), inspection (60 min) and tire-rotation (30 min)."""
    built = build_shop()
    services = built.services
    built.oil_change = services["oil-change"]
    built.brakes = services["brakes"]
    built.inspection = services["inspection"]
    built.tire_rotation = services["tire-rotation"]
    return built


@pytest.fixture
def customer(db):
    return CustomerFactory(first_name="Dana", last_name="Whitfield", phone="+13125550142", postal_code="60614")


@pytest.fixture
def other_customer(db):
    return CustomerFactory(first_name="Luis", last_name="Ortega", phone="+13125550199", postal_code="60622")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(customer=customer, year=2019, make="Honda", model="Civic", plate="ABC1234")


@pytest.fixture
def place_appointment(customer):
    """Insert an appointment directly (no rules): for setting up load and history."""

    def make(start, end, *, status=Appointment.Status.SCHEDULED, who=None, services=()):
        appt = Appointment.objects.create(customer=who or customer, start=start, end=end, status=status)
        if services:
            appt.service_types.set(services)
        return appt

    return make


# ------------------------------------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def chromium_available():
    require(os.path.exists(CHROMIUM), CHROMIUM_MISSING)
    use_browser_deadlines()
    return CHROMIUM


# ------------------------------------------------------------------------------------------------ order


def pytest_collection_modifyitems(items):
    """The modules of slow and browser tests first (each module's tests stay together, in their order), so that
    pytest-xdist starts the long ones early and ends the run on short ones: a 30 s test picked up last would
    leave the other workers idle. Most of them wait (on a server, a browser, a call in real time), so they also
    share the cores well with the others."""
    heavy = {item.module for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.module not in heavy)  # stable: the order within each group is kept


def pytest_terminal_summary(terminalreporter):
    """One plain line when the browser tests did not run (the only tests of the softphone's JavaScript)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if CHROMIUM_MISSING in str(r.longrepr)]
    if skipped and not in_ci():
        terminalreporter.write_line(
            f"browser tests: {len(skipped)} skipped because {CHROMIUM_MISSING}; under CI=true they fail.",
            yellow=True,
            bold=True,
        )
