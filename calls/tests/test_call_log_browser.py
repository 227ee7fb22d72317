"""The managers' call log in a real browser: headless Chromium (Debian's) driven by Playwright against a real
daphne process (HTTP and the live page's WebSocket), on the test's PostgreSQL and Redis.

A manager opens the dashboard (the charts are drawn), filters the calls, opens one and reads the transcript
and a tool call; an advisor is refused the dashboard; the live page shows a turn pushed through the channel
layer, a call that starts, and one that ends. Each page is photographed at 1366 × 768 and at tablet width
(artifacts in $TEST_ARTIFACTS_DIR, default <tmp>/call-log-screens) and must not scroll sideways.

Playwright's sync API keeps an event loop alive on this thread, which Django's ORM refuses to run beside:
database work happens before the browser starts, or in another thread.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from bartsvoice.tests.prerequisites import use_browser_deadlines
from calls.live import LiveFeed
from calls.models import Call
from calls.services import record_usage
from calls.tests.call_log_fixtures import PASSWORD, add_conversation, add_tool, latency, make_call, make_people
from calls.tests.live_daphne import INSTANT_PROVIDERS, live_daphne
from calls.usage import CallUsage
from crm.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR", tempfile.gettempdir())) / "call-log-screens"
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# What sticks out on the right, for the message when a page scrolls sideways.
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5).map(e => e.tagName + '.' + e.className + ': ' + (e.innerText || '').slice(0, 40))"""


@pytest.fixture(scope="module")
def chromium_available():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    use_browser_deadlines()


@pytest.fixture
def shop(transactional_db, settings, tmp_path):
    """A month of calls for the charts, Maria's booking with a tool call and a recording, and one call in
    progress."""
    settings.MEDIA_ROOT = str(tmp_path / "media")  # the server process is given the same (see `server`)
    people = make_people()
    maria = Customer.objects.create(first_name="Maria", last_name="Garcia", phone="+13125550142")
    now = timezone.now()
    outcomes = ["booked", "info", "transferred", "rescheduled", "abandoned", "cancelled", "info", "booked"]
    for n in range(60):
        make_call(100 + n, started=now - timedelta(days=n % 28, hours=n % 9), outcome=outcomes[n % len(outcomes)],
                  worst_ms=600 + 37 * n, from_number=f"+1630555{n:04d}", summary=f"call number {n}")  # fmt: skip
    booking = make_call(1, started=now - timedelta(hours=2), customer=maria, from_number=maria.phone,
                        outcome="booked", worst_ms=1900, summary="booked oil change Tue 9:00")  # fmt: skip
    add_conversation(booking, [
        ("I need an oil change next Tuesday", "I have 9 or 10 AM on Tuesday. Which suits you?",
         latency(100, 600, 150, 50)),
        ("nine please", "Booked: oil change on Tuesday at 9 AM.", latency(120, 1500, 200, 80)),
    ])  # fmt: skip
    add_tool(booking, 2, "get_available_slots", arguments={"services": ["oil-change"], "date_from": "tuesday"},
             result={"slots": ["2026-12-01T09:00", "2026-12-01T10:00"]}, duration_ms=14)  # fmt: skip
    _record(booking, seconds=3)
    usage = CallUsage()
    for item, provider, quantity in (("stt", "deepgram", 41.5), ("tts", "deepgram", 212), ("llm_input", "openai", 5210),
                                     ("llm_output", "openai", 96)):  # fmt: skip
        usage.add(item, provider, quantity)
    record_usage(call_id=booking.pk, usage=usage)
    live_call = make_call(2, started=now - timedelta(minutes=1), minutes=None, status=Call.Status.IN_PROGRESS,
                          outcome="", customer=maria, from_number=maria.phone)  # fmt: skip
    add_conversation(live_call, [("do you fix brakes", "Yes, we do brake service.", latency(90, 300, 100, 40))])
    return {"people": people, "booking": booking, "live": live_call}


@pytest.fixture
def server(shop, tmp_path, settings):
    env = {"MEDIA_ROOT": settings.MEDIA_ROOT}
    with live_daphne(tmp_path / "daphne.log", providers=INSTANT_PROVIDERS, env=env) as base_url:
        yield base_url


def _record(call: Call, *, seconds: int) -> None:
    """A recording as the session writes it: the agent speaking on the right channel for `seconds`."""
    from calls.voice.audio import pcm16_to_ulaw
    from calls.voice.recorder import StreamRecorder, save_recording

    recorder = StreamRecorder(started_at=0.0)
    tone = (6000 * np.sin(np.arange(seconds * 8000) / 4)).astype(np.int16)
    recorder.agent(pcm16_to_ulaw(tone), plays_at=0.0)
    save_recording(call.pk, recorder)


# Load the recording (µ-law WAV) in the page's own player, seek to its middle (our view answers Range requests)
# and play a little of it muted: the position moving on and the decoded bytes prove Chromium decodes the audio,
# not only its header. Errors and a stalled player (10 s) fail with what the element said.
PLAY_AND_SEEK = """async (audio) => {
  const stalled = (what) => new Promise((_, fail) => setTimeout(() => fail(what + ': stalled'), 10000));
  const event = (name) => Promise.race([new Promise((ok, fail) => {
    audio.addEventListener(name, ok, {once: true});
    const failed = () => fail(name + ': ' + audio.error.code + ' ' + audio.error.message);
    audio.addEventListener('error', failed, {once: true});
  }), stalled(name)]);
  audio.preload = "auto";
  audio.muted = true;  // muted media may play without a user gesture
  const loaded = event("loadedmetadata");
  audio.load();
  await loaded;
  const seeked = event("seeked");
  audio.currentTime = audio.duration / 2;
  await seeked;
  const seekedTo = audio.currentTime;
  await audio.play();
  await Promise.race([new Promise((ok) => {
    audio.addEventListener('timeupdate', function moved() {
      if (audio.currentTime >= seekedTo + 0.2) { audio.removeEventListener('timeupdate', moved); ok(); }
    });
  }), stalled("playing")]);
  audio.pause();
  return [audio.duration, seekedTo, audio.currentTime, audio.webkitAudioDecodedByteCount];
}"""


def _browser(pw):
    return pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def _sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/calls/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/calls/")


def _photograph(page, name: str) -> None:
    """Full-page screenshots at laptop and tablet width; neither may scroll sideways."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("laptop", LAPTOP), ("tablet", TABLET)):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)
        assert page.evaluate(SIDEWAYS) <= 0, f"{name} scrolls sideways at {label}: {page.evaluate(STICKING_OUT)}"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(LAPTOP)


def test_manager_reads_the_dashboard_filters_calls_and_opens_one(chromium_available, server, shop):
    from playwright.sync_api import expect, sync_playwright

    booking = shop["booking"]
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_context(viewport=LAPTOP, timezone_id="America/Chicago").new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, server, "morgan")

            page.get_by_role("link", name="Dashboard").click()
            expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
            charts = page.locator("svg.chart")
            expect(charts).to_have_count(4)
            assert page.locator("svg.chart rect.bar").count() > 20
            box = page.locator("svg.chart").first.bounding_box()
            assert box["width"] > 600 and box["height"] > 150  # drawn, at a readable size
            expect(page.locator(".kpi").first).to_contain_text("62")  # 61 ended calls + the live one
            _photograph(page, "dashboard")

            page.get_by_role("link", name="Calls", exact=True).click()
            page.get_by_label("Outcome").select_option("booked")
            page.get_by_label("Customer or phone").fill("(312) 555-0142")
            page.get_by_label("Customer or phone").press("Enter")  # the keyboard submits the filters
            page.wait_for_url("**/calls/?*")
            rows = page.locator("table.calls tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("Maria Garcia")
            expect(page.get_by_role("status").first).to_contain_text("1 call matches the filters")
            _photograph(page, "calls-filtered")
            page.get_by_role("link", name="Clear filters").click()
            expect(page.locator("table.calls tbody tr")).to_have_count(50)
            page.get_by_role("link", name="Slowest reply").click()
            expect(page.locator("th[aria-sort=descending]")).to_contain_text("Slowest reply")
            _photograph(page, "calls")

            page.goto(f"{server}/calls/?q=Garcia&outcome=booked")
            page.locator("table.calls tbody tr a").first.click()
            page.wait_for_url(f"{server}/calls/{booking.pk}/")
            expect(page.get_by_role("heading", name="Call with Maria Garcia")).to_be_visible()
            transcript = page.locator("ol.transcript")
            expect(transcript.locator("li.bubble.caller").first).to_contain_text("I need an oil change")
            expect(transcript.locator("li.bubble.agent")).to_have_count(3)
            tool = transcript.locator("li.tool summary")
            expect(tool).to_contain_text("get_available_slots")
            tool.focus()
            page.keyboard.press("Enter")  # a tool call opens from the keyboard
            expect(transcript.locator("li.tool pre").first).to_contain_text('"oil-change"')
            assert page.locator(".latency-bar").count() == 2
            expect(page.locator(".usage-cost")).to_contain_text("Speech recognition (Deepgram, 41.5 s of audio)")
            duration, seeked_to, played_to, decoded = page.locator("audio").evaluate(PLAY_AND_SEEK)
            assert duration == pytest.approx(3.0, abs=0.05) and seeked_to == pytest.approx(1.5, abs=0.05)
            assert seeked_to + 0.2 <= played_to < duration and decoded > 0
            back = page.get_by_role("link", name="← Calls")
            expect(back).to_have_attribute("href", "/calls/?q=Garcia&outcome=booked")
            _photograph(page, "call-detail")
            assert errors == []
        finally:
            browser.close()


def test_advisor_is_refused_the_dashboard(chromium_available, server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_context(viewport=LAPTOP).new_page()
            _sign_in(page, server, "alex")
            expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)
            response = page.goto(f"{server}/dashboard/")
            assert response.status == 403
            expect(page.get_by_role("heading")).to_contain_text("You can't open this page")
            _photograph(page, "dashboard-refused")
        finally:
            browser.close()


def _in_thread(fn):
    """Run fn in a thread of its own (its own event loop, its own database connection); re-raise its error."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _publish(fn_name: str, call_id: int, **kwargs) -> None:
    async def send():
        feed = LiveFeed(call_id)
        getattr(feed, fn_name)(**kwargs)
        feed.close()
        await feed.wait_sent()
        assert feed.failures == 0

    _in_thread(lambda: asyncio.run(send()))


def test_live_page_receives_turns_and_calls_over_the_websocket(chromium_available, server, shop):
    from playwright.sync_api import expect, sync_playwright

    live_call = shop["live"]
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_context(viewport=LAPTOP, timezone_id="America/Chicago").new_page()
            _sign_in(page, server, "morgan")
            page.get_by_role("link", name="Live").click()
            expect(page.locator("#live-status")).to_have_text("Live")
            card = page.locator(f'section.live-call[data-call="{live_call.pk}"]')
            expect(card.locator("li.bubble")).to_have_count(3)

            _publish("turn", live_call.pk, index=3, role="caller", text="Can I bring it in tomorrow morning?",
                     started_at=timezone.now())  # fmt: skip
            expect(card.locator("li.bubble.caller").last.locator(".text")).to_have_text(
                "Can I bring it in tomorrow morning?"
            )
            # the agent's reply, first as sent, then cut where the caller barged in: replaced in place
            _publish("turn", live_call.pk, index=4, role="agent", text="Tomorrow I have 8 AM, 9 AM and",
                     started_at=timezone.now())  # fmt: skip
            _publish("turn", live_call.pk, index=4, role="agent", text="Tomorrow I have 8 AM",
                     started_at=timezone.now(), interrupted=True)  # fmt: skip
            expect(card.locator("li.bubble.agent.interrupted")).to_contain_text("Tomorrow I have 8 AM")
            expect(card.locator("li.bubble")).to_have_count(5)

            other = _in_thread(lambda: make_call(3, started=timezone.now(), minutes=None, status="in_progress",
                                                 outcome="", from_number="+17735550123"))  # fmt: skip
            _publish("started", other.pk)
            expect(page.locator(f'section.live-call[data-call="{other.pk}"] h2')).to_have_text("(773) 555-0123")
            expect(page.locator("#live-count")).to_have_text("2")
            _photograph(page, "live")

            _publish("ended", live_call.pk, outcome="booked")
            expect(card).to_have_count(0)
            expect(page.locator("#ended-list li").first).to_contain_text("Maria Garcia · ended: booked")
            expect(page.locator("#live-count")).to_have_text("1")
        finally:
            browser.close()
