"""The back office in a real browser at 1366 × 768 (a common laptop), navigation and filter panels open:
every list column in view, no page scrolling sideways, the appointment form's vehicle search limited to the
chosen customer. Headless Chromium (Debian's) driven by Playwright against pytest-django's live server.

Playwright's sync API keeps an event loop alive on this thread, which Django's ORM refuses to run beside:
all database work happens before the browser starts.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from bartsvoice.tests.factories import local
from bartsvoice.tests.prerequisites import CHROMIUM
from calls.models import Call, ToolCall, Turn
from crm.models import Customer, Vehicle
from scheduling.models import Appointment
from scheduling.tests.test_admin import business_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
LAPTOP = {"width": 1366, "height": 768}
PASSWORD = "pw-browser-1"

# Header cells that end right of the visible part of the list (the list scrolls inside its own box).
CUT_COLUMNS = """() => {
  const box = document.querySelector('#changelist .results');
  const edge = Math.min(document.documentElement.clientWidth, box.getBoundingClientRect().right);
  return [...document.querySelectorAll('#result_list thead th')]
    .filter(th => th.getBoundingClientRect().right > edge + 1).map(th => th.innerText.trim());
}"""
PAGE_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def busy_shop(shop, live_server):
    """Long names, long vehicles, several services, an advisor with a name: the widest rows a list shows."""
    boss = User.objects.create_superuser("boss", password=PASSWORD, first_name="Morgan", last_name="Blake")
    day = business_day()
    people = []
    wide = [
        ("Christopher", "Montgomery-Hernandez", "Chevrolet", "Silverado 1500"),
        ("Stephanie", "Kowalski", "Jeep", "Grand Cherokee"),
        ("Anthony", "Rodriguez", "Toyota", "Highlander"),
    ]
    for i, (first, last, make, model) in enumerate(wide):
        who = Customer.objects.create(first_name=first, last_name=last, phone=f"+1312555017{i}")
        car = Vehicle.objects.create(customer=who, year=2020, make=make, model=model, plate=f"XYZ 12{i}",
                                     vin="", trim="High Country", mileage=123456)  # fmt: skip
        appointment = Appointment.objects.create(
            customer=who, vehicle=car, start=local(day, 11, 30), end=local(day, 12, 30), advisor=boss,
            transport=Appointment.Transport.WAITER, status=Appointment.Status.CONFIRMED,
        )  # fmt: skip
        appointment.service_types.set([shop.brakes, shop.inspection, shop.tire_rotation])
        people.append((who, car))
    started = timezone.now() - timedelta(hours=1)
    call = Call.objects.create(
        call_sid="CAbrowser", from_number="+17735550999", to_number="+13125550100", started_at=started,
        ended_at=started + timedelta(minutes=4), status=Call.Status.COMPLETED, outcome=Call.Outcome.TRANSFERRED,
        summary="Caller asked about a grinding noise from the front left wheel when braking and wanted a person " * 2,
    )  # fmt: skip
    Turn.objects.create(call=call, index=0, role=Turn.Role.AGENT, text="Thanks for calling", started_at=started)
    ToolCall.objects.create(call=call, name="lookup_customer", arguments={}, result={"found": False})
    return {"url": live_server.url, "people": people, "call": call}


def _browse(url: str):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_context(viewport=LAPTOP, timezone_id="America/Chicago").new_page()
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")
    return playwright, browser, page


def test_lists_and_customer_page_fit_a_laptop(chromium_available, busy_shop, tmp_path: Path):
    (customer, _), call = busy_shop["people"][0], busy_shop["call"]
    url = busy_shop["url"]
    playwright, browser, page = _browse(url)
    try:
        page.goto(f"{url}/admin/scheduling/appointment/")
        assert page.is_visible("#changelist-filter")
        assert page.evaluate(CUT_COLUMNS) == []
        assert page.evaluate(PAGE_WIDTH) <= LAPTOP["width"]
        page.screenshot(path=tmp_path / "appointments.png")

        page.goto(f"{url}/admin/calls/call/")
        assert page.evaluate(CUT_COLUMNS) == []
        assert page.evaluate(PAGE_WIDTH) <= LAPTOP["width"]

        page.goto(f"{url}/admin/crm/customer/{customer.pk}/change/")
        assert page.is_visible("#vehicles-group")
        assert page.evaluate(PAGE_WIDTH) <= LAPTOP["width"]

        # The call's turns and tool calls: no line repeating each row's text above it.
        page.goto(f"{url}/admin/calls/call/{call.pk}/change/")
        assert page.is_visible("td.field-text >> text=Thanks for calling")
        originals = page.query_selector_all("fieldset.call-log td.original p")
        assert originals and not any(p.is_visible() for p in originals)
    finally:
        browser.close()
        playwright.stop()


def test_vehicle_search_follows_the_chosen_customer(chromium_available, busy_shop):
    url = busy_shop["url"]
    (_, first_car), (_, second_car), _ = busy_shop["people"]
    playwright, browser, page = _browse(url)

    def searched(field: str, term: str = ""):
        """Waits for the answer to this search (select2 shows the previous answer meanwhile)."""
        return page.expect_response(lambda r: f"field_name={field}" in r.url and (not term or f"term={term}" in r.url))

    def settled() -> None:
        page.wait_for_function("() => !document.querySelector('.select2-results__option.loading-results')")

    def pick(field: str, term: str) -> None:
        page.click(f"#id_{field} + .select2 .select2-selection")
        with searched(field, term):
            page.locator(".select2-container--open .select2-search__field").press_sequentially(term)
        settled()
        page.locator(".select2-results__option--highlighted", has_text=term).wait_for()
        page.keyboard.press("Enter")

    def vehicle_options() -> list[str]:
        with searched("vehicle"):
            page.click("#id_vehicle + .select2 .select2-selection")
        settled()
        texts = [o.inner_text() for o in page.query_selector_all(".select2-results__option")]
        page.keyboard.press("Escape")
        return texts

    try:
        page.goto(f"{url}/admin/scheduling/appointment/add/")
        assert len(vehicle_options()) == 3  # no customer yet: every vehicle
        pick("customer", "Montgomery")
        assert page.inner_text("#select2-id_customer-container").startswith("Christopher Montgomery-Hernandez · ")
        assert vehicle_options() == [str(first_car)]
        pick("vehicle", "Silverado")
        assert page.eval_on_selector("#id_vehicle", "e => e.value") == str(first_car.pk)
        # Another customer: the first one's car is dropped and only the second one's are offered.
        pick("customer", "Kowalski")
        assert page.eval_on_selector("#id_vehicle", "e => e.value") == ""
        assert vehicle_options() == [str(second_car)]
        # The clock's "Noon" shortcut writes minutes, like the field shows them.
        page.click("#clocklink0")
        page.click("#clockbox0 >> text=Noon")
        assert page.eval_on_selector("#id_start_1", "e => e.value") == "12:00"
    finally:
        browser.close()
        playwright.stop()
