"""CallSession in text mode (the simulator's path) with a brain that answers at once."""

import pytest

from bartsvoice.db import in_db_thread
from calls.models import Call
from calls.simulator import create_simulated_call, run_simulated_call
from calls.voice.providers.instant import InstantBrain


async def _lines(*lines):
    for line in lines:
        yield line


@pytest.mark.django_db(transaction=True)
async def test_text_call_records_turns_and_ends_on_goodbye():
    call = await in_db_thread(create_simulated_call, "+1 312 555 0142")
    result = await run_simulated_call(call, _lines("hello there", "goodbye"), brain=InstantBrain())
    assert result.ended_normally
    assert result.transcript[0] == ("AGENT", "Thanks for calling.")
    assert ("CALLER", "hello there") in result.transcript
    assert ("AGENT", "You said: hello there.") in result.transcript
    call = await in_db_thread(Call.objects.get, pk=call.pk)
    assert call.ended_at is not None
    assert call.outcome == "info"
    roles = await in_db_thread(lambda: list(call.turns.order_by("index").values_list("role", flat=True)))
    assert roles == ["agent", "caller", "agent", "caller", "agent"]


@pytest.mark.django_db(transaction=True)
async def test_text_call_without_goodbye_is_abandoned():
    call = await in_db_thread(create_simulated_call, "+13125550142")
    result = await run_simulated_call(call, _lines("hello"), brain=InstantBrain())
    assert not result.ended_normally
    call = await in_db_thread(Call.objects.get, pk=call.pk)
    assert call.outcome == "abandoned"
    assert call.ended_at is not None


def test_provider_choice_follows_settings(settings):
    from django.core.exceptions import ImproperlyConfigured

    from calls.voice.providers import registry

    settings.VOICE_STT = settings.VOICE_TTS = settings.VOICE_BRAIN = "auto"
    settings.DEEPGRAM_API_KEY = settings.OPENAI_API_KEY = ""
    assert registry.describe() == {"stt": "sphinx", "tts": "espeak", "brain": "rules"}
    settings.VOICE_BRAIN = "instant"
    assert registry.brain_name() == "instant"
    settings.VOICE_STT = "whisper"
    with pytest.raises(ImproperlyConfigured, match="VOICE_STT must be one of"):
        registry.stt_name()
