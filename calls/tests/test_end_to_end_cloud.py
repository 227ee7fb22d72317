"""A whole phone call with the cloud stack: daphne on 127.0.0.1, a Twilio Media Streams client streaming caller
speech in real time, Deepgram (listen + speak) and OpenAI served by their local fakes. Everything between the
caller's socket and the fakes' sockets is the production code path, SDKs included. Two calls: a caller books, and
the shop's reminder (dialled through the Twilio fake) is confirmed.
"""

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bartsvoice.tests.factories import EVERY_DAY, build_shop
from calls.models import Call, Turn
from calls.services import start_call
from calls.stream_tokens import mint_stream_token
from calls.tests.fake_deepgram import FakeDeepgram
from calls.tests.fake_openai import FakeOpenAI, Step, call, last_tool_result, say
from calls.tests.live_daphne import live_daphne
from calls.tests.test_end_to_end import CALLER, SERVICES, _converse, _shop
from crm.models import Customer
from scheduling.models import Appointment

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LINES = ["I need an oil change", "the first one please", "no thanks goodbye"]


def _model(request: dict) -> Step:
    """A scripted model that books what it offered and says goodbye (decides from the conversation so far)."""
    messages = request["messages"]
    last = messages[-1]
    if last["role"] == "user":
        said = last["content"].lower()
        if "oil change" in said:
            return call("get_available_slots", services=["oil change"], time_preference="soonest")
        if "first" in said:
            slot = last_tool_result(request, "get_available_slots")["slots"][0]
            return call("book_appointment", services=["oil-change"], start=slot["start"])
        return Step(text="Thanks for calling. Goodbye!", tool_calls=[("end_call", {"reason": "caller is done"})])
    if last["role"] == "tool":
        try:
            booked = last_tool_result(request, "book_appointment")
        except LookupError:
            slots = last_tool_result(request, "get_available_slots")["slots"]
            return say(f"I have {slots[0]['label']} or {slots[1]['label']}. Which would you like?")
        return say(f"You're all set for {booked['appointment']['label']}. Anything else?")
    return say("Sorry?")


def test_a_caller_books_by_voice_through_deepgram_and_openai(tmp_path):
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
    audio = [synthesize_ulaw(line) for line in LINES]
    deepgram = FakeDeepgram(tts_first_audio_ms=50)
    for clip, line in zip(audio, LINES, strict=True):
        deepgram.teach(clip, line)
    openai = FakeOpenAI(first_token_ms=50, default=_model)

    client = _cloud_call(tmp_path, deepgram, openai, call_sid, token, audio)

    log = (tmp_path / "daphne.log").read_text()
    record = Call.objects.get(call_sid=call_sid)
    turns = list(record.turns.order_by("index"))
    transcript = "\n".join(f"{t.role}: {t.text}" for t in turns)
    appointment = Appointment.objects.filter(customer=maria).first()
    assert appointment is not None, f"nothing was booked.\n{transcript}\n{log[-3000:]}"
    offered = last_tool_result(openai.requests[-1], "get_available_slots")["slots"][0]["start"]
    assert appointment.start == datetime.fromisoformat(offered)
    assert record.outcome == Call.Outcome.BOOKED and record.status == Call.Status.COMPLETED
    assert [t.text for t in turns if t.role == Turn.Role.CALLER] == LINES, transcript  # heard through Deepgram
    assert "Maria" in turns[0].text
    # One listen socket and one speak socket for the whole call; every agent sentence went through Speak.
    assert len(deepgram.listens) == 1 and deepgram.listens[0].close_stream
    assert len(deepgram.speaks) == 1 and deepgram.speaks[0].flushes == len(deepgram.speaks[0].texts) >= 4
    assert any(text.startswith("You're all set") for text in deepgram.speaks[0].texts)
    assert len(client.heard.media) > 20
    # What the call used, as the providers count it, priced at the default prices.
    from calls.usage import billed_minutes

    listened = sum(listen.audio_bytes for listen in deepgram.listens) / 8000
    assert record.stt_seconds == pytest.approx(listened, abs=0.01) and listened > 3
    assert record.tts_characters == sum(len(text) for text in deepgram.speaks[0].texts)
    assert record.llm_input_tokens == sum(u["prompt_tokens"] for u in openai.usage_sent) > 0
    assert record.llm_output_tokens == sum(u["completion_tokens"] for u in openai.usage_sent) > 0
    assert record.telephony_minutes == billed_minutes(record.duration_seconds) >= 1
    expected = (
        record.stt_seconds / 60 * 0.0077
        + record.tts_characters / 1000 * 0.030
        + record.llm_input_tokens * 2.5e-6
        + record.llm_output_tokens * 1e-5
        + record.telephony_minutes * 0.0085
    )
    assert float(record.cost_usd) == pytest.approx(expected, abs=5e-5)


REMINDER_LINES = ["yes I'll be there", "no that's all thanks"]


def test_a_reminder_call_through_twilio_deepgram_and_openai(tmp_path, settings, client):
    """The shop's reminder, all the way: dialled through the Twilio fake, answered (the outbound TwiML hands out
    the stream), spoken over the media socket through Deepgram, and answered by the OpenAI brain, which confirms
    through the tools; the reminder ledger records it when the call ends."""
    from calls.telephony import dialer
    from calls.tests.fake_twilio import FakeTwilio
    from calls.tests.test_reminder_dialer import PUBLIC, SHOP, post_signed
    from calls.tests.test_reminder_openai import reminder_model
    from calls.tests.test_webhooks import parse_stream
    from calls.voice.providers.espeak import synthesize_ulaw
    from scheduling import reminders
    from scheduling.models import ReminderAttempt, ServiceType

    build_shop(hours=EVERY_DAY, bays=2, services=SERVICES)
    dana = Customer.objects.create(first_name="Dana", last_name="Reyes", phone=CALLER, postal_code="60601")
    start = (timezone.now() + timedelta(hours=20)).replace(second=0, microsecond=0)
    appointment = Appointment.objects.create(customer=dana, start=start, end=start + timedelta(minutes=30))
    appointment.service_types.set([ServiceType.objects.get(code="oil-change")])
    audio = [synthesize_ulaw(line) for line in REMINDER_LINES]
    deepgram = FakeDeepgram(tts_first_audio_ms=50)
    for clip, line in zip(audio, REMINDER_LINES, strict=True):
        deepgram.teach(clip, line)
    openai = FakeOpenAI(first_token_ms=50, default=reminder_model)

    with FakeTwilio() as twilio:
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = twilio.account_sid, twilio.auth_token
        settings.TWILIO_API_BASE_URL, settings.TWILIO_PHONE_NUMBER = twilio.base_url, SHOP
        settings.PUBLIC_BASE_URL = PUBLIC
        settings.REMINDER_CALL_WINDOW = "00:00-23:59"  # the test runs at any hour
        reminders.create_due_reminders()
        reminder = ReminderAttempt.objects.get()
        call_sid = dialer.place_reminder_call(reminder.pk, sleep=lambda s: None).call_sid
        answered = {"CallSid": call_sid, "From": SHOP, "To": CALLER, "CallStatus": "in-progress"}
        twiml = post_signed(client, f"/twilio/voice/outbound/{reminder.pk}/", answered, twilio.auth_token)
    token = parse_stream(twiml)[1]["token"]

    _cloud_call(tmp_path, deepgram, openai, call_sid, token, audio)

    log = (tmp_path / "daphne.log").read_text()
    record = Call.objects.get(call_sid=call_sid)
    turns = list(record.turns.order_by("index"))
    transcript = "\n".join(f"{t.role}: {t.text}" for t in turns)
    assert turns[0].text.startswith("Hi Dana, this is") and "oil change appointment" in turns[0].text, transcript
    assert [t.text for t in turns if t.role == Turn.Role.CALLER] == REMINDER_LINES, transcript
    assert (record.direction, record.outcome, record.reminder_id) == ("outbound", "confirmed", reminder.pk), log[-2000:]
    assert "rule policy took over" not in record.summary
    appointment.refresh_from_db()
    reminder.refresh_from_db()
    assert appointment.status == "confirmed"
    assert (reminder.status, reminder.outcome, reminder.call_sid) == ("done", "confirmed", call_sid)
    assert f"appointment id {appointment.pk}" in openai.requests[0]["messages"][0]["content"]


def _cloud_call(tmp_path, deepgram, openai, call_sid: str, token: str, audio: list[bytes]):
    """The phone's side of a call on a real daphne whose providers are the Deepgram and OpenAI fakes."""
    with deepgram.in_thread() as deepgram_url, openai.in_thread() as openai_url:
        env = {
            "DEEPGRAM_API_KEY": deepgram.api_key,
            "DEEPGRAM_BASE_URL": deepgram_url,
            "OPENAI_API_KEY": openai.api_key,
            "OPENAI_BASE_URL": openai_url,
            "VOICE_REPROMPT_SECONDS": "30",
        }
        providers = {"VOICE_STT": "deepgram", "VOICE_TTS": "deepgram", "VOICE_BRAIN": "openai"}
        with live_daphne(tmp_path / "daphne.log", providers=providers, env=env) as base_url:
            url = base_url.replace("http://", "ws://") + "/ws/media-stream/"
            return asyncio.run(_converse(url, call_sid, token, audio))
