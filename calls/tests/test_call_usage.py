"""Per-call provider usage and its cost: priced per provider from the settings (offline providers count at zero),
the phone line's billed minutes added for Twilio calls, shown on the call's page and summed on the dashboard."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from calls.metrics import Period, dashboard
from calls.models import Call
from calls.services import record_usage
from calls.tests import call_log_fixtures
from calls.tests.call_log_fixtures import STARTED, make_call
from calls.usage import LLM_INPUT, LLM_OUTPUT, STT, TTS, CallUsage

people = call_log_fixtures.people


@pytest.fixture(autouse=True)
def prices(settings):
    settings.PRICE_TELEPHONY_PER_MINUTE = 0.01
    settings.PRICE_DEEPGRAM_STT_PER_MINUTE = 0.006
    settings.PRICE_DEEPGRAM_TTS_PER_1K_CHARACTERS = 0.03
    settings.PRICE_OPENAI_INPUT_PER_1M_TOKENS = 2.0
    settings.PRICE_OPENAI_OUTPUT_PER_1M_TOKENS = 8.0


def _usage() -> CallUsage:
    usage = CallUsage()
    usage.add(STT, "deepgram", 30.0)  # fell back after 30 s...
    usage.add(STT, "sphinx", 15.0)  # ...to the offline recogniser
    usage.add(TTS, "deepgram", 500)
    usage.add(TTS, "espeak", 120)
    usage.add(LLM_INPUT, "openai", 10_000)
    usage.add(LLM_OUTPUT, "openai", 300)
    usage.add(LLM_INPUT, "rules", 0)  # nothing used: no line
    return usage


@pytest.mark.django_db
def test_usage_is_priced_per_provider_and_the_phone_line_by_started_minute():
    call = make_call(1, minutes=61 / 60)  # a minute and a second: two billed minutes
    record_usage(call_id=call.pk, usage=_usage())
    call.refresh_from_db()
    assert (call.stt_seconds, call.tts_characters, call.llm_input_tokens, call.llm_output_tokens,
            call.telephony_minutes) == (45.0, 620, 10_000, 300, 2)  # fmt: skip
    costs = {(line["item"], line["provider"]): Decimal(line["cost"]) for line in call.usage_lines}
    assert costs == {
        ("stt", "deepgram"): Decimal("0.00300"),  # half a minute at $0.006
        ("stt", "sphinx"): Decimal("0"),
        ("tts", "deepgram"): Decimal("0.01500"),
        ("tts", "espeak"): Decimal("0"),
        ("llm_input", "openai"): Decimal("0.02000"),
        ("llm_output", "openai"): Decimal("0.00240"),
        ("telephony", "twilio"): Decimal("0.02000"),
    }
    assert call.cost_usd == Decimal("0.06040")


@pytest.mark.django_db
def test_an_offline_softphone_call_is_metered_at_zero(settings):
    call = make_call(1, transport=Call.Transport.SOFTPHONE)
    usage = CallUsage()
    usage.add(STT, "sphinx", 12.5)
    usage.add(TTS, "espeak", 240)
    record_usage(call_id=call.pk, usage=usage)
    call.refresh_from_db()
    assert (call.stt_seconds, call.tts_characters, call.telephony_minutes) == (12.5, 240, 0)
    assert call.cost_usd == Decimal("0")  # metered, and free: not "unknown"


@pytest.mark.django_db
def test_the_call_page_shows_usage_and_cost(client, people):
    call = make_call(1, minutes=2)
    record_usage(call_id=call.pk, usage=_usage())
    old = make_call(2)
    client.force_login(people["advisor"])
    html = client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "$0.0604" in html
    assert "Speech recognition (Deepgram, 30 s of audio): $0.0030" in html
    assert "Speech recognition (pocketsphinx, offline, 15 s of audio): $0.0000" in html
    assert "Language model input (OpenAI, 10000 tokens): $0.0200" in html
    assert "Phone line (Twilio, 2 min): $0.0200" in html
    assert "10000 tokens in · 300 out" in html
    assert "Not metered for this call." in client.get(reverse("calls:detail", args=[old.pk])).content.decode()


@pytest.mark.django_db
def test_the_dashboard_sums_and_averages_the_metered_calls(client, people):
    for n, cost in enumerate(["0.01000", "0.03500"], start=1):
        make_call(n, cost_usd=Decimal(cost))
    make_call(3)  # not metered: not in the average
    make_call(4, started=STARTED - timedelta(days=60), cost_usd=Decimal("9"))  # outside the period
    board = dashboard(Period(date(2026, 11, 1), date(2026, 11, 30)), now=STARTED + timedelta(days=1))
    assert board.cost_total == Decimal("0.04500") and board.cost_average == Decimal("0.0225")
    assert board.totals["metered"] == 2
    client.force_login(people["manager"])
    html = client.get(reverse("calls:dashboard"), {"date_from": "2026-11-01", "date_to": "2026-11-30"}).content
    assert b"$0.05" in html and b"$0.0225 per call" in html and b"2 metered" in html
