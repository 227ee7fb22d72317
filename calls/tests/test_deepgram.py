"""Deepgram speech-to-text and text-to-speech: the real deepgram-sdk against a local fake of both sockets."""

import asyncio
from datetime import time

import pytest

from calls.agent.context import CallContext
from calls.tests.fake_deepgram import FRAME, FakeDeepgram
from calls.voice.listen_hint import Expect, ListenHint
from calls.voice.providers.base import TTSProvider
from calls.voice.providers.deepgram import DeepgramSTT, DeepgramTTS
from calls.voice.providers.instant import InstantBrain, InstantSTT
from calls.voice.session import CallSession, SessionConfig
from calls.voice.transports.base import Transport

SENTENCE = "I need an oil change on Tuesday morning"
SILENCE = b"\xff" * FRAME


@pytest.fixture(scope="module")
def clip() -> bytes:
    from calls.voice.providers.espeak import synthesize_ulaw

    audio = synthesize_ulaw(SENTENCE)
    return audio[: len(audio) - len(audio) % FRAME]


@pytest.fixture
async def fake(clip):
    server = FakeDeepgram()
    server.teach(clip, SENTENCE)
    await server.start()
    yield server
    await server.stop()


def _stt(fake: FakeDeepgram, **kwargs) -> DeepgramSTT:
    options = {"model": "nova-3", "shop_terms": None, **kwargs}
    return DeepgramSTT(
        api_key=fake.api_key, base_url=fake.base_url, endpointing_ms=300, utterance_end_ms=1000, **options
    )


async def _stream(stt, hints=()):
    heard = []
    stream = stt.open_stream(on_transcript=heard.append, hints=hints)
    await stream.start()
    return stream, heard


async def _speak(stream, audio: bytes, *, pace_every: int = 10) -> None:
    """Frames as the session hands them over; a pause now and then lets the socket carry them."""
    for n, offset in enumerate(range(0, len(audio), FRAME)):
        stream.send_audio(audio[offset : offset + FRAME])
        if n % pace_every == pace_every - 1:
            await asyncio.sleep(0.01)


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def _finals(heard):
    return [t for t in heard if t.is_final]


async def test_a_turn_is_assembled_from_interim_and_final_results(fake, clip):
    stream, heard = await _stream(_stt(fake), hints=("Maria", "Civic"))
    await _speak(stream, clip + SILENCE * 20)
    await _until(lambda: any(t.speech_final for t in heard))
    interims = [t.text for t in heard if not t.is_final]
    assert interims and interims[0] != SENTENCE and SENTENCE.startswith(interims[0])  # words as they come
    (final,) = _finals(heard)
    assert final.text == SENTENCE and final.speech_final
    await stream.close()
    query = fake.listens[0].query
    assert query["model"] == ["nova-3"] and query["encoding"] == ["mulaw"] and query["sample_rate"] == ["8000"]
    assert query["interim_results"] == ["true"] and query["endpointing"] == ["300"]
    assert query["utterance_end_ms"] == ["1000"] and query["vad_events"] == ["true"]
    assert query["smart_format"] == ["true"]
    assert {"Maria", "Civic"} <= set(query["keyterm"])
    assert fake.listens[0].close_stream  # CloseStream at hang-up


async def test_results_are_read_as_json_and_odd_messages_are_skipped(fake, clip, monkeypatch):
    # The SDK's iterator builds a pydantic model of every message through a union of eight types: a large share of
    # the STT path's CPU at a turn peak, for four fields read once.
    from deepgram.listen.v1 import socket_client

    def built(*args, **kwargs):
        raise AssertionError("a message was built into a model")

    monkeypatch.setattr(socket_client, "construct_type", built)
    fake.listen_preamble = ["not json at all", '{"type": "SomethingNew", "x": 1}', "[1, 2]"]
    stream, heard = await _stream(_stt(fake))
    await _speak(stream, clip + SILENCE * 20)
    await _until(lambda: any(t.speech_final for t in heard))
    (final,) = _finals(heard)
    assert final.text == SENTENCE and final.confidence is not None and final.audio_end_s > 0
    assert stream.fallback is None  # odd messages cost the socket nothing
    await stream.close()


async def test_finalize_flushes_the_words_before_the_endpointing_silence(fake, clip):
    stream, heard = await _stream(_stt(fake))
    await _speak(stream, clip + SILENCE * 3)  # 60 ms: far less than the 300 ms Deepgram would wait
    await asyncio.sleep(0.1)
    assert not _finals(heard)
    await stream.finalize()
    await _until(lambda: bool(_finals(heard)))
    assert _finals(heard)[0].text == SENTENCE
    assert fake.listens[0].finalizes == 1
    await stream.close()


async def test_audio_that_cannot_end_the_turn_goes_in_fewer_larger_messages(fake, clip):
    stream, _heard = await _stream(_stt(fake))
    await _until(lambda: stream._sock is not None)
    stream.batchable = True  # the caller speaks (or nobody does): the frames may wait for each other
    for _ in range(40):
        stream.send_audio(SILENCE)
        await asyncio.sleep(0.002)  # one frame per turn of the loop, as they come from the phone
    await _until(lambda: fake.listens[0].audio_bytes == 40 * FRAME)
    assert fake.listens[0].audio_messages == 10  # 80 ms each
    stream.batchable = False  # a pause in the caller's speech: every frame may end the turn, none waits
    for _ in range(10):
        stream.send_audio(SILENCE)
        await asyncio.sleep(0.002)
    await _until(lambda: fake.listens[0].audio_bytes == 50 * FRAME)
    assert fake.listens[0].audio_messages == 20
    stream.batchable = True
    stream.send_audio(SILENCE)  # held back ...
    await stream.finalize()  # ... but a Finalize takes it along
    await _until(lambda: fake.listens[0].finalizes == 1)
    assert fake.listens[0].audio_bytes == 51 * FRAME
    await stream.close()


async def test_utterance_end_ends_the_turn_when_speech_final_never_comes(fake, clip):
    fake.speech_final = False
    stream, heard = await _stream(_stt(fake))
    await _speak(stream, clip + SILENCE * 60)
    await _until(lambda: any(t.speech_final for t in heard))
    finals = _finals(heard)
    assert finals[0].text == SENTENCE and not finals[0].speech_final
    assert finals[-1].text == "" and finals[-1].speech_final  # from UtteranceEnd
    await stream.close()


async def test_keep_alive_holds_a_silent_socket_open(fake):
    fake.idle_timeout_s = 0.5
    stream, _heard = await _stream(_stt(fake, keepalive_s=0.2))
    await asyncio.sleep(1.5)  # no audio at all (a stalled or muted line)
    assert fake.listens[0].keepalives >= 3
    assert stream.failures == 0 and len(fake.listens) == 1
    await stream.close()


async def test_a_socket_dropped_mid_sentence_loses_no_words(fake, clip):
    fake.drop_listen_after_ms.append(len(clip) // 8 // 2)  # half way through the sentence
    stream, heard = await _stream(_stt(fake))
    await _speak(stream, clip + SILENCE * 20)
    await _until(lambda: any(t.speech_final for t in heard))
    assert [t.text for t in _finals(heard)] == [SENTENCE]
    assert fake.listens[0].dropped and len(fake.listens) == 2 and stream.failures == 1
    assert stream.fallback is None
    await stream.close()


async def test_results_say_how_far_into_the_calls_audio_they_were_heard(fake, clip):
    stream, heard = await _stream(_stt(fake))
    await _speak(stream, clip + SILENCE * 20)
    await _until(lambda: any(t.speech_final for t in heard))
    sent_s = (len(clip) + 20 * FRAME) / 8000
    ends = [t.audio_end_s for t in heard if not t.is_final]
    assert ends and ends == sorted(ends) and all(0 < end <= sent_s + 1e-6 for end in ends)
    assert ends[-1] > len(clip) / 8000 - 0.25  # the last interim heard (almost) all of the sentence
    (final,) = _finals(heard)
    assert len(clip) / 8000 - 0.25 < final.audio_end_s <= sent_s + 1e-6
    await stream.close()


async def test_the_fake_only_hears_what_reaches_it(fake, clip):
    """Without the re-send, the second socket would only get the end of the sentence (the test above means it)."""
    stream, heard = await _stream(_stt(fake))
    half = len(clip) // 2 - (len(clip) // 2) % FRAME
    await _speak(stream, clip[half:] + SILENCE * 20)
    await _until(lambda: any(t.speech_final for t in heard))
    text = _finals(heard)[0].text
    assert text and text != SENTENCE and SENTENCE.endswith(text)
    await stream.close()


async def test_a_second_failure_hands_the_call_to_the_offline_recogniser(fake, clip):
    fake.drop_listen_after_ms.extend([200, 200])
    stream, heard = await _stream(_stt(fake, offline=lambda: InstantSTT("oil change please")))
    await _speak(stream, clip)
    await _until(lambda: stream.fallback is not None)
    assert stream.failures == 2
    await _speak(stream, SILENCE * 5)
    await stream.finalize()
    await _until(lambda: bool(_finals(heard)))
    assert _finals(heard)[-1].text == "oil change please"
    # Usage: what was sent to Deepgram (re-sends included; audio sent into a dying socket counts, so at least what
    # the fake received) and what the offline recogniser got after.
    used = stream.audio_seconds_by_provider()
    assert used["deepgram"] >= sum(listen.audio_bytes for listen in fake.listens) / 8000 > 0
    assert used["instant"] >= len(SILENCE * 5) / 8000
    await stream.close()


async def test_a_refused_key_falls_back_too(fake, clip):
    stt = DeepgramSTT(
        api_key="wrong", base_url=fake.base_url, shop_terms=None, offline=lambda: InstantSTT("heard offline")
    )
    stream, heard = await _stream(stt)
    await _until(lambda: stream.fallback is not None)
    await _speak(stream, clip)
    await stream.finalize()
    await _until(lambda: bool(_finals(heard)))
    assert _finals(heard)[-1].text == "heard offline"
    await stream.close()


# ------------------------------------------------------------------------------------------------- key terms

SHOP = {"services": ["Oil change", "Brake inspection"], "makes": ["Honda", "Toyota"]}
SLOTS = ListenHint(Expect.CHOICE, times=(time(9, 30), time(14, 0)), weekdays=(1,))


async def test_the_socket_opens_with_the_callers_and_the_shops_key_terms(fake):
    stream, _heard = await _stream(_stt(fake, shop_terms=lambda: SHOP), hints=("Maria", "Civic"))
    await _until(lambda: fake.listens)
    assert fake.listens[0].query["keyterm"] == ["Maria", "Civic", "Oil change", "Brake inspection", "Honda", "Toyota"]
    await stream.close()


async def test_each_listen_hint_replaces_the_key_terms_on_the_live_socket(fake):
    stream, _heard = await _stream(_stt(fake, shop_terms=lambda: SHOP), hints=("Maria", "Civic"))
    await _until(lambda: fake.listens)
    stream.expect(SLOTS)  # "Tuesday at 9:30 AM or 2 PM?": the options just offered lead
    await _until(lambda: len(fake.listens[0].configures) == 1)
    assert fake.listens[0].keyterms == [
        "Tuesday",
        "9:30 AM",
        "2 PM",
        "Honda",
        "Toyota",
        "Maria",
        "Civic",
        "Oil change",
        "Brake inspection",
    ]
    stream.expect(ListenHint(Expect.SERVICE))  # "What can we do for your car?": the services lead
    await _until(lambda: len(fake.listens[0].configures) == 2)
    assert fake.listens[0].keyterms[:2] == ["Oil change", "Brake inspection"]
    stream.expect(ListenHint(Expect.SERVICE))  # the same question again: nothing to change
    stream.expect(None)  # an open question: back to the caller's and the shop's words
    await _until(lambda: len(fake.listens[0].configures) == 3)
    assert fake.listens[0].keyterms == fake.listens[0].query["keyterm"]
    assert fake.listens[0].configure_failures == [] and len(fake.listens) == 1  # never reconnected for it
    await stream.close()


async def test_a_hint_given_while_deepgram_still_answers_the_last_one_follows_it(fake):
    fake.configure_ms = 100  # Deepgram takes one Configure at a time
    stream, _heard = await _stream(_stt(fake, shop_terms=lambda: SHOP))
    await _until(lambda: fake.listens)
    stream.expect(SLOTS)
    await _until(lambda: fake.listens[0].configures)  # received; its answer is still on its way
    stream.expect(ListenHint(Expect.VEHICLE, phrases=("Honda Civic",)))
    await _until(lambda: len(fake.listens[0].configures) == 2)
    assert fake.listens[0].configure_failures == []  # never sent over an unanswered one
    assert fake.listens[0].keyterms[0] == "Honda Civic" and fake.listens[0].keyterms == stream.keyterms
    await stream.close()


async def test_a_reconnected_socket_opens_with_the_key_terms_of_the_last_hint(fake):
    fake.drop_listen_after_ms.append(400)
    stream, _heard = await _stream(_stt(fake, shop_terms=lambda: SHOP))
    await _until(lambda: fake.listens)
    stream.expect(SLOTS)
    await _until(lambda: fake.listens[0].configures)
    await _speak(stream, SILENCE * 30)
    await _until(lambda: len(fake.listens) == 2)
    assert fake.listens[1].query["keyterm"] == fake.listens[0].keyterms == stream.keyterms
    assert stream.keyterms[:3] == ["Tuesday", "9:30 AM", "2 PM"]
    await stream.close()


async def test_older_models_get_keywords_and_no_mid_stream_changes(fake):
    stream, _heard = await _stream(_stt(fake, shop_terms=lambda: SHOP, model="nova-2"), hints=("Maria",))
    await _until(lambda: fake.listens)
    query = fake.listens[0].query
    assert "keyterm" not in query and query["keywords"] == ["Maria", "Honda", "Toyota"]  # single words only
    stream.expect(SLOTS)
    await _speak(stream, SILENCE * 5)
    await stream.close()
    assert fake.listens[0].configures == [] and fake.listens[0].configure_failures == []


# ------------------------------------------------------------------------------------------------- synthesis


def _tts(fake: FakeDeepgram) -> DeepgramTTS:
    return DeepgramTTS(api_key=fake.api_key, base_url=fake.base_url, voice="aura-2-thalia-en")


async def _audio(tts: TTSProvider, text: str) -> bytes:
    out = bytearray()
    async for chunk in tts.synthesize(text):
        out += chunk
    return bytes(out)


async def test_each_sentence_is_spoken_and_flushed_on_one_socket_per_call(fake):
    tts = _tts(fake)
    await tts.prepare()
    first = await _audio(tts, "Thanks for calling.")
    second = await _audio(tts, "How can I help you today?")
    await tts.close()
    assert len(first) >= 200 * 8 and len(second) > len(first)  # longer text, longer audio
    (socket,) = fake.speaks
    assert socket.texts == ["Thanks for calling.", "How can I help you today?"] and socket.flushes == 2
    assert socket.query == {"model": ["aura-2-thalia-en"], "encoding": ["mulaw"], "sample_rate": ["8000"]}
    assert socket.closed
    assert tts.characters == len("Thanks for calling.") + len("How can I help you today?")


async def test_an_abandoned_sentence_is_cleared_and_its_audio_never_reaches_the_next(fake):
    fake.tts_speed = 2.0  # slow enough to be interrupted
    tts = _tts(fake)
    synthesis = tts.synthesize("This is a long sentence that the caller will interrupt before it ends.")
    await anext(synthesis)
    await synthesis.aclose()  # what the session does on barge-in
    await _until(lambda: fake.speaks[0].clears == 1)
    fake.tts_speed = 50.0
    audio = await _audio(tts, "Sure.")
    assert len(audio) == len("Sure.") * fake.tts_ms_per_char * 8  # that sentence's audio, nothing of the cleared one
    await tts.close()


async def test_a_refused_speak_socket_raises_so_the_session_can_switch_voices(fake):
    fake.refuse_speak = 1
    tts = _tts(fake)
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises for a refused handshake
        await _audio(tts, "Hello.")
    await tts.close()


# ------------------------------------------------------------------------------------------ within a call


class _Line(Transport):
    """A phone line that plays at once (marks echoed) and notes when each audio chunk and clear went out."""

    def __init__(self):
        self.session = None
        self.events: list[tuple[str, int]] = []

    async def send_audio(self, ulaw):
        self.events.append(("audio", len(ulaw)))

    async def send_mark(self, name):
        asyncio.get_running_loop().call_later(0.05, self.session.on_mark, name)

    async def send_clear(self):
        self.events.append(("clear", 0))

    async def hangup(self):
        return None

    async def transfer(self, number):
        return True


async def _call(tts, fallback=None) -> tuple[_Line, CallSession]:
    line = _Line()
    session = CallSession(
        transport=line,
        ctx=CallContext(call_id=None, caller_number="+13125550142"),
        brain=InstantBrain(),
        tts=tts,
        fallback_tts=fallback,
        config=SessionConfig(send_chunk_ms=100, playback_lead_ms=300),
        advisor_number="+1312",
    )
    line.session = session
    return line, session


async def test_pressing_zero_over_the_agent_clears_its_voice_and_nothing_more_of_it_is_played(fake):
    fake.tts_speed = 1.0  # real time: the greeting is still being synthesised when the caller presses 0
    tts = _tts(fake)
    line, session = await _call(tts)
    running = asyncio.ensure_future(session.run())
    await _until(lambda: any(kind == "audio" for kind, _ in line.events))
    fake.tts_speed = 50.0
    session.on_dtmf("0")
    await asyncio.wait_for(running, 10)
    cleared = line.events.index(("clear", 0))
    after = sum(n for kind, n in line.events[cleared:] if kind == "audio")
    from calls.voice.session import TRANSFER_TEXT

    assert after == len(TRANSFER_TEXT) * fake.tts_ms_per_char * 8  # the hand-over sentence, and nothing else
    assert fake.speaks[0].clears == 1 and fake.speaks[0].texts[-1] == TRANSFER_TEXT
    assert len(fake.speaks) == 1  # one socket for the call, opened with the greeting


async def test_a_voice_that_fails_mid_call_gives_way_to_espeak(fake):
    from calls.voice.providers.espeak import EspeakTTS

    fake.drop_speak_after_bytes.append(800)  # the socket dies 100 ms into the greeting
    tts = _tts(fake)
    line, session = await _call(tts, fallback=EspeakTTS())
    running = asyncio.ensure_future(session.run())
    await asyncio.wait_for(session.wait_idle(), 10)
    assert session.tts.name == "espeak"  # the greeting was said again in the offline voice; the call goes on
    assert sum(n for kind, n in line.events if kind == "audio") > 8000
    session.on_stop()
    await asyncio.wait_for(running, 10)
    # The greeting's first sentence counts for both voices: sent to Deepgram, then said again by eSpeak.
    sent = session.usage.quantities
    assert sent[("tts", "deepgram")] == sum(len(text) for text in fake.speaks[0].texts) > 0
    assert sent[("tts", "espeak")] >= sent[("tts", "deepgram")]


def test_keys_choose_the_cloud_stack(settings):
    from calls.voice.providers import registry

    settings.VOICE_STT = settings.VOICE_TTS = settings.VOICE_BRAIN = "auto"
    settings.DEEPGRAM_API_KEY = settings.OPENAI_API_KEY = "a-key"
    assert registry.describe() == {"stt": "deepgram", "tts": "deepgram", "brain": "openai"}
    assert isinstance(registry.tts_for_call(), DeepgramTTS)
    assert registry.fallback_tts_for_call().name == "espeak"  # what a failing cloud voice gives way to
    assert registry.brain_for_call().name == "openai"
