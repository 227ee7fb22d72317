"""Choose the implementation of each stage from settings: the cloud one when its key is set, else offline.

Speech models are loaded once per process; TTS and brain instances are made per call.
"""

from __future__ import annotations

import functools
import importlib.util
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from calls.agent.base import Brain
from calls.voice.providers.base import STTProvider, TTSProvider

log = logging.getLogger(__name__)


# Where each cloud implementation lives; until one exists, "auto" keeps the offline one.
_CLOUD_MODULES = {
    "deepgram": "calls.voice.providers.deepgram",
    "openai": "calls.agent.openai_brain",
}


def _choice(setting: str, allowed: tuple[str, ...], cloud: str, cloud_key: str, offline: str) -> str:
    value = (getattr(settings, setting) or "auto").lower()
    if value == "auto":
        if not getattr(settings, cloud_key, ""):
            return offline
        if not _available(_CLOUD_MODULES[cloud]):
            _warn_once(f"{cloud_key} is set but this build has no {cloud} provider yet: using {offline}")
            return offline
        return cloud
    if value not in allowed:
        raise ImproperlyConfigured(f"{setting} must be one of auto, {', '.join(allowed)}; got {value!r}")
    return value


@functools.cache
def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@functools.cache
def _warn_once(message: str) -> None:
    log.warning(message)


def stt_name() -> str:
    return _choice("VOICE_STT", ("deepgram", "sphinx", "instant"), "deepgram", "DEEPGRAM_API_KEY", "sphinx")


def tts_name() -> str:
    return _choice("VOICE_TTS", ("deepgram", "espeak", "instant"), "deepgram", "DEEPGRAM_API_KEY", "espeak")


def brain_name() -> str:
    return _choice("VOICE_BRAIN", ("openai", "rules", "instant"), "openai", "OPENAI_API_KEY", "rules")


@functools.cache
def stt_provider() -> STTProvider:
    name = stt_name()
    if name == "instant":
        from calls.voice.providers.instant import InstantSTT

        return InstantSTT()
    if name == "sphinx":
        from calls.voice.providers.sphinx import SphinxSTT

        return SphinxSTT()
    raise ImproperlyConfigured(f"speech-to-text provider {name!r} is not available in this build")


def tts_for_call() -> TTSProvider:
    name = tts_name()
    if name == "instant":
        from calls.voice.providers.instant import InstantTTS

        return InstantTTS()
    if name == "espeak":
        from calls.voice.providers.espeak import EspeakTTS

        return EspeakTTS()
    raise ImproperlyConfigured(f"text-to-speech provider {name!r} is not available in this build")


def fallback_tts_for_call() -> TTSProvider | None:
    """The offline voice, to finish a call when a cloud synthesiser fails mid-call."""
    if tts_name() != "deepgram":
        return None
    from calls.voice.providers.espeak import EspeakTTS

    return EspeakTTS()


def brain_for_call() -> Brain:
    name = brain_name()
    if name == "instant":
        from calls.voice.providers.instant import InstantBrain

        return InstantBrain()
    if name == "rules":
        from calls.agent.policy import RuleBrain

        return RuleBrain()
    raise ImproperlyConfigured(f"brain {name!r} is not available in this build")


def describe() -> dict[str, str]:
    return {"stt": stt_name(), "tts": tts_name(), "brain": brain_name()}


def speech_detector_for_call():
    """Voice activity detection for one call's inbound audio; its silence threshold ends the caller's turn."""
    from calls.voice.vad import SpeechDetector

    return SpeechDetector(start_ms=100, end_ms=settings.VOICE_ENDPOINT_SILENCE_MS)
