"""The provider registry's fallbacks: a cloud key without its provider in this build keeps the call on the
offline stage (and says so once); a call on the cloud voice gets the offline one to finish on."""

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from calls.agent.policy import RuleBrain
from calls.voice.providers import registry
from calls.voice.providers.espeak import EspeakTTS
from calls.voice.providers.instant import InstantBrain, InstantTTS


@pytest.fixture(autouse=True)
def _fresh_registry(settings):
    """No key, every stage on "auto", and the registry's per-process memory forgotten."""
    settings.VOICE_STT = settings.VOICE_TTS = settings.VOICE_BRAIN = "auto"
    settings.DEEPGRAM_API_KEY = settings.OPENAI_API_KEY = ""
    for cached in (registry._available, registry._warn_once, registry.stt_provider):
        cached.cache_clear()
    yield
    for cached in (registry._available, registry._warn_once, registry.stt_provider):
        cached.cache_clear()


def test_without_keys_every_stage_is_offline():
    assert registry.describe() == {"stt": "sphinx", "tts": "espeak", "brain": "rules"}
    assert isinstance(registry.tts_for_call(), EspeakTTS)
    assert isinstance(registry.brain_for_call(), RuleBrain)
    assert registry.fallback_tts_for_call() is None  # already on the offline voice


@pytest.fixture
def without_cloud(monkeypatch):
    """A build whose cloud modules are missing (a slimmed image, a failed optional install)."""
    monkeypatch.setitem(registry.STT_PROVIDERS, "deepgram", "calls.voice.providers.not_built.DeepgramSTT")
    monkeypatch.setitem(registry.TTS_PROVIDERS, "deepgram", "calls.voice.providers.not_built.DeepgramTTS")
    monkeypatch.setitem(registry.BRAINS, "openai", "calls.agent.not_built.OpenAIBrain")


def test_a_deepgram_key_without_the_deepgram_provider_keeps_offline_speech_and_warns_once(
    settings, caplog, without_cloud
):
    settings.DEEPGRAM_API_KEY = "dg-key"
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        assert registry.stt_name() == "sphinx"
        assert registry.tts_name() == "espeak"
        assert registry.stt_name() == "sphinx"  # asked again on the next call: no second warning
    assert isinstance(registry.tts_for_call(), EspeakTTS)
    assert registry.fallback_tts_for_call() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    missing = "DEEPGRAM_API_KEY is set but this build has no deepgram provider yet"
    assert warnings == [f"{missing}: using sphinx", f"{missing}: using espeak"]


def test_an_openai_key_without_the_openai_brain_keeps_the_rule_brain(settings, caplog, without_cloud):
    settings.OPENAI_API_KEY = "sk-key"
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        assert registry.brain_name() == "rules"
    assert isinstance(registry.brain_for_call(), RuleBrain)
    assert "OPENAI_API_KEY is set but this build has no openai provider yet: using rules" in caplog.text


def test_a_key_with_its_provider_present_chooses_the_cloud(settings, monkeypatch):
    monkeypatch.setitem(registry.TTS_PROVIDERS, "deepgram", "calls.voice.providers.instant.InstantTTS")  # exists
    settings.DEEPGRAM_API_KEY = "dg-key"
    assert registry.tts_name() == "deepgram"
    assert isinstance(registry.fallback_tts_for_call(), EspeakTTS)


def test_the_cloud_voice_gets_the_offline_one_to_finish_the_call(settings, without_cloud):
    settings.VOICE_TTS = "deepgram"
    assert isinstance(registry.fallback_tts_for_call(), EspeakTTS)
    # A cloud voice missing from the build is a clear configuration error when forced, not a silent call.
    with pytest.raises(ImproperlyConfigured, match="text-to-speech provider 'deepgram' is not available"):
        registry.tts_for_call()


@pytest.mark.parametrize("voice", ["espeak", "instant"])
def test_offline_voices_need_no_fallback(settings, voice):
    settings.VOICE_TTS = voice
    assert registry.fallback_tts_for_call() is None
    assert isinstance(registry.tts_for_call(), EspeakTTS if voice == "espeak" else InstantTTS)


def test_forced_choices_win_over_keys_and_unknown_ones_are_refused(settings, without_cloud):
    settings.OPENAI_API_KEY = "sk-key"
    settings.VOICE_BRAIN = "instant"
    assert isinstance(registry.brain_for_call(), InstantBrain)
    settings.VOICE_BRAIN = "openai"
    with pytest.raises(ImproperlyConfigured, match="brain 'openai' is not available"):
        registry.brain_for_call()
    settings.VOICE_TTS = "polly"
    with pytest.raises(ImproperlyConfigured, match="VOICE_TTS must be one of auto, deepgram, espeak, instant"):
        registry.tts_name()
