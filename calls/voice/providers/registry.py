"""Choose the implementation of each stage from settings: the cloud one when its key is set, else offline.

Speech models are loaded once per process; TTS and brain instances are made per call.
"""

from __future__ import annotations

import functools
import importlib.util
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from calls.agent.base import Brain
from calls.voice.providers.base import STTProvider, TTSProvider

log = logging.getLogger(__name__)


# One table per stage: name -> the class that implements it (imported on first use). A provider is one line here.
STT_PROVIDERS = {
    "sphinx": "calls.voice.providers.sphinx.SphinxSTT",
    "deepgram": "calls.voice.providers.deepgram.DeepgramSTT",
    "instant": "calls.voice.providers.instant.InstantSTT",
}
TTS_PROVIDERS = {
    "espeak": "calls.voice.providers.espeak.EspeakTTS",
    "deepgram": "calls.voice.providers.deepgram.DeepgramTTS",
    "instant": "calls.voice.providers.instant.InstantTTS",
}
BRAINS = {
    "rules": "calls.agent.policy.RuleBrain",
    "openai": "calls.agent.openai_brain.OpenAIBrain",
    "instant": "calls.voice.providers.instant.InstantBrain",
}
OFFLINE_TTS = "espeak"


def _choice(setting: str, table: dict[str, str], cloud: str, cloud_key: str, offline: str) -> str:
    value = (getattr(settings, setting) or "auto").lower()
    if value == "auto":
        if not getattr(settings, cloud_key, ""):
            return offline
        if not _available(table[cloud]):
            _warn_once(f"{cloud_key} is set but this build has no {cloud} provider yet: using {offline}")
            return offline
        return cloud
    if value not in table:
        raise ImproperlyConfigured(f"{setting} must be one of auto, {', '.join(sorted(table))}; got {value!r}")
    return value


@functools.cache
def _available(path: str) -> bool:
    return importlib.util.find_spec(path.rsplit(".", 1)[0]) is not None


def _make(table: dict[str, str], name: str, what: str):
    if not _available(table[name]):
        raise ImproperlyConfigured(f"{what} {name!r} is not available in this build")
    return import_string(table[name])()


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)


def stt_name() -> str:
    return _choice("VOICE_STT", STT_PROVIDERS, "deepgram", "DEEPGRAM_API_KEY", "sphinx")


def tts_name() -> str:
    return _choice("VOICE_TTS", TTS_PROVIDERS, "deepgram", "DEEPGRAM_API_KEY", OFFLINE_TTS)


def brain_name() -> str:
    return _choice("VOICE_BRAIN", BRAINS, "openai", "OPENAI_API_KEY", "rules")


@functools.cache
def stt_provider() -> STTProvider:
    """One per process: speech models are loaded once."""
    return _make(STT_PROVIDERS, stt_name(), "speech-to-text provider")


@functools.cache
def offline_stt_provider() -> STTProvider:
    """The offline recogniser a call falls back on when the cloud one fails twice (loaded on first need)."""
    if stt_name() == "sphinx":
        return stt_provider()
    return _make(STT_PROVIDERS, "sphinx", "speech-to-text provider")


def tts_for_call() -> TTSProvider:
    return _make(TTS_PROVIDERS, tts_name(), "text-to-speech provider")


def fallback_tts_for_call() -> TTSProvider | None:
    """The offline voice, to finish a call when a cloud synthesiser fails mid-call."""
    if tts_name() in (OFFLINE_TTS, "instant"):
        return None
    return _make(TTS_PROVIDERS, OFFLINE_TTS, "text-to-speech provider")


def brain_for_call() -> Brain:
    return _make(BRAINS, brain_name(), "brain")


def describe() -> dict[str, str]:
    return {"stt": stt_name(), "tts": tts_name(), "brain": brain_name()}


def speech_detector_for_call():
    """Voice activity detection for one call's inbound audio; its silence threshold ends the caller's turn."""
    from calls.voice.vad import SpeechDetector

    return SpeechDetector(start_ms=100, end_ms=settings.VOICE_ENDPOINT_SILENCE_MS)
