"""Load what the first call would otherwise pay for (imports, speech models, the TTS engine)."""

import logging
import time

log = logging.getLogger(__name__)


def warm_up() -> None:
    started = time.perf_counter()
    from calls.voice.providers import registry

    try:
        for provider in (registry.stt_provider(), registry.tts_for_call()):
            warm = getattr(provider, "warm_up", None)
            if callable(warm):
                warm()
        brain = registry.brain_for_call()
        if callable(getattr(brain, "warm_up", None)):
            brain.warm_up()
        from calls.agent.understanding import warm_up as understanding_warm_up

        understanding_warm_up()  # Duckling's time-zone table and rules
        registry.speech_detector_for_call()
    except Exception:
        # A provider that cannot load is reported by the first call that needs it, loudly.
        log.exception("voice warm-up failed")
        return
    log.info("voice pipeline warmed up in %.0f ms (%s)", (time.perf_counter() - started) * 1000, registry.describe())
