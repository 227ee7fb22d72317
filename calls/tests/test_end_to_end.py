"""A whole phone call, for real: daphne on 127.0.0.1, a client speaking Twilio's Media Streams protocol
streams eSpeak-voiced caller speech in real time, and the offline pipeline (VAD, pocketsphinx, the
rule brain and its tools, eSpeak) books the appointment. Nothing is faked but the phone network.
"""

import asyncio
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from bartsvoice.tests.factories import EVERY_DAY, build_shop
from calls.models import Call, Turn
from calls.services import start_call
from calls.stream_tokens import mint_stream_token
from calls.tests.live_daphne import OFFLINE_PROVIDERS, live_daphne
from calls.voice.transports.twilio_client import TwilioStreamClient
from crm.models import Customer, Vehicle
from scheduling.models import Appointment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CALLER = "+13125550142"
# Each line is one caller turn; the agent's replies in between are whatever it decides to say. The offline
# recogniser may hear "yes that works" as something else ("yeah I have a weird"), which is then no yes: the agent
# asks again and the caller says yes again, as a caller would. Heard right, the second yes answers "anything else?".
CONVERSATION = ["I need an oil change", "tomorrow at nine thirty", "yes that works", "yes", "no thanks goodbye"]


SERVICES = [
    dict(code="oil-change", name="Oil change", duration_minutes=30, keywords="oil, lube"),
    dict(code="brakes", name="Brake service", duration_minutes=90, keywords="brakes"),
]


def _shop() -> Customer:
    build_shop(hours=EVERY_DAY, bays=2, services=SERVICES)  # open every day, so "tomorrow" is always bookable
    maria = Customer.objects.create(first_name="Maria", last_name="Lopez", phone=CALLER, postal_code="60601")
    Vehicle.objects.create(customer=maria, year=2018, make="Honda", model="Civic")
    return maria


async def _converse(url: str, call_sid: str, token: str, audio: list[bytes]) -> TwilioStreamClient:
    client = TwilioStreamClient(url, call_sid=call_sid, token=token)
    await client.connect(send_start=False)
    client.start_pump()
    started = await client.start()
    assert await client.wait_for_media_after(started, timeout=10), "no greeting"
    await client.wait_agent_quiet(timeout=30, settle=0.8)
    for speech in audio:
        client.end_agent_turn()
        _, last = await client.say(speech)
        assert await client.wait_for_media_after(last, timeout=15), "the agent did not answer"
        await client.wait_agent_quiet(timeout=30, settle=0.8)
    code = await client.wait_closed(timeout=15)
    await client.stop_pump()
    await client.close()
    assert code == 1000, f"the agent should hang up after goodbye (close code {code})"
    return client


def test_a_caller_books_an_oil_change_by_voice(tmp_path):
    from calls.voice.providers.espeak import synthesize_ulaw

    maria = _shop()
    call_sid = f"CA{uuid.uuid4().hex}"
    start_call(
        call_sid=call_sid,
        from_number=CALLER,
        to_number="+13125550100",
        direction="inbound",
        transport="twilio",
        customer=maria,
    )
    token = mint_stream_token(call_sid=call_sid)
    audio = [synthesize_ulaw(line) for line in CONVERSATION]

    with live_daphne(tmp_path / "daphne.log", providers=OFFLINE_PROVIDERS) as base_url:
        url = base_url.replace("http://", "ws://") + "/ws/media-stream/"
        client = asyncio.run(_converse(url, call_sid, token, audio))

    log = (tmp_path / "daphne.log").read_text()
    call = Call.objects.get(call_sid=call_sid)
    turns = list(call.turns.order_by("index"))
    transcript = "\n".join(f"{t.role}: {t.text}" for t in turns)
    appointment = Appointment.objects.filter(customer=maria).first()
    assert appointment is not None, f"nothing was booked.\n{transcript}\n{log[-2000:]}"

    tz = ZoneInfo(settings.SHOP_TIMEZONE)
    tomorrow = (dt.datetime.now(tz) + dt.timedelta(days=1)).date()
    assert appointment.start.astimezone(tz) == dt.datetime.combine(tomorrow, dt.time(9, 30), tzinfo=tz)
    assert appointment.source == Appointment.Source.PHONE
    assert list(appointment.service_types.values_list("code", flat=True)) == ["oil-change"]

    # The call is on record: outcome, every turn with its latency, the tools the agent used.
    assert call.outcome == Call.Outcome.BOOKED
    assert call.ended_at is not None and call.status == Call.Status.COMPLETED
    assert turns[0].role == Turn.Role.AGENT and "Maria" in turns[0].text
    caller_turns = [t.text for t in turns if t.role == Turn.Role.CALLER]
    assert any("oil change" in text for text in caller_turns), transcript
    answered = [t for t in turns if t.role == Turn.Role.AGENT and t.stt_ms is not None]
    assert answered and all(t.first_audio_ms is not None and t.provider_ms is not None for t in answered)
    assert "book_appointment" in set(call.tool_calls.values_list("name", flat=True))
    assert len(client.heard.media) > 50  # the agent really spoke
