"""Offline recognition: the domain language model, and pocketsphinx streams fed eSpeak speech that went
through a µ-law round trip, like a caller on a phone line."""

import asyncio
import ctypes
import logging
import math
import re
import resource
import threading
import time

import numpy as np
import pytest

from calls.voice import audio, vocabulary
from calls.voice.listen_hint import Expect
from calls.voice.providers import sphinx
from calls.voice.providers.espeak import synthesize_ulaw
from calls.voice.providers.sphinx import SphinxSTT

# (what the caller says, words the transcript must contain). Measured: each came out right in 6 of 6
# syntheses (eSpeak output varies a little between runs). "Tuesday" after "next" is heard as "to three" on
# eSpeak phone audio (the /z/ lives above 4 kHz), so weekdays are checked in other sentences.
SENTENCES = [
    ("I need an oil change next Tuesday.", ["oil", "change"]),
    ("Yes, that works.", ["yes", "that", "works"]),
    ("Cancel my appointment.", ["cancel", "my", "appointment"]),
    ("I need to reschedule my appointment.", ["reschedule", "appointment"]),
    ("My brakes are squeaking.", ["brakes", "squeaking"]),
    ("Can we move it to Friday at ten thirty?", ["move", "friday", "ten", "thirty"]),
    ("Do you have anything Thursday afternoon?", ["thursday", "afternoon"]),
    ("Can I bring my Honda Civic in tomorrow morning?", ["honda", "tomorrow", "morning"]),
]
LONG_SENTENCE = "My brakes are squeaking, can I bring my Honda Civic in tomorrow morning?"


def caller(text: str, *, lead_ms: int = 400, tail_ms: int = 700) -> bytes:
    return audio.ulaw_silence(lead_ms) + synthesize_ulaw(text) + audio.ulaw_silence(tail_ms)


class Collector:
    def __init__(self) -> None:
        self.finals: list = []
        self.partials: list = []
        self.final_seen = asyncio.Event()

    def __call__(self, transcript) -> None:
        assert threading.current_thread() is threading.main_thread()  # callbacks run on the loop
        if transcript.is_final:
            self.finals.append(transcript)
            self.final_seen.set()
        else:
            self.partials.append(transcript)

    async def next_final(self, timeout: float = 10.0):
        await asyncio.wait_for(self.final_seen.wait(), timeout)
        self.final_seen.clear()
        return self.finals[-1]


async def feed(stream, ulaw: bytes, pace_s: float = 0.0) -> None:
    for frame in audio.iter_frames(ulaw):
        stream.send_audio(frame)
        await asyncio.sleep(pace_s)


async def transcribe(stt: SphinxSTT, ulaw: bytes, *, hints=()):
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink, hints=hints)
    await stream.start()
    await feed(stream, ulaw)
    await stream.finalize()
    final = await sink.next_final()
    await stream.close()
    return final, sink, stream.stats


@pytest.fixture(scope="module")
def stt() -> SphinxSTT:
    provider = SphinxSTT(services=())  # the built-in words only, whatever shop an earlier test set up
    provider.warm_up()
    return provider


# ---------------------------------------------------------------------------------------------------------
# Vocabulary and language model
# ---------------------------------------------------------------------------------------------------------


def test_number_and_ordinal_words():
    assert [vocabulary.number_words(n) for n in (0, 7, 13, 20, 42, 99)] == [
        "zero", "seven", "thirteen", "twenty", "forty two", "ninety nine",
    ]  # fmt: skip
    assert [vocabulary.ordinal_words(n) for n in (1, 3, 12, 20, 21, 30, 31)] == [
        "first", "third", "twelfth", "twentieth", "twenty first", "thirtieth", "thirty first",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        vocabulary.number_words(100)


def test_corpus_covers_what_callers_say():
    corpus = vocabulary.build_corpus()
    assert corpus == vocabulary.build_corpus()  # deterministic, so the cache key is stable
    text = "\n".join(corpus)
    for phrase in ["i need an oil change", "next tuesday", "tomorrow morning", "cancel my appointment",
                   "reschedule", "check engine light", "tire rotation", "a/c", "honda civic", "rav4",
                   "the third", "nine thirty", "a.m.", "first thing in the morning",
                   "that works", "nope", "actually no", "talk to a person", "goodbye", "six oh",
                   "twenty nineteen", "my name is"]:  # fmt: skip
        assert phrase in text, phrase
    assert all("{" not in s and s == s.lower() for s in corpus)
    for month in vocabulary.MONTHS:  # dates: each month is followed by some ordinal
        assert re.search(rf"\b{month} \w+(st|nd|rd|th)\b", text), month
    vocab = {w for s in corpus for w in s.split()}
    assert 2000 < len(corpus) < 10000 and 400 < len(vocab) < 1200  # small on purpose: speed and accuracy


def test_extra_words_join_the_corpus():
    corpus = vocabulary.build_corpus(["Kowalczyk", "Delacroix-Smith"])
    assert "my name is kowalczyk" in corpus and "this is delacroix-smith" in corpus


def test_the_shops_own_service_words_join_the_corpus():
    corpus = "\n".join(vocabulary.build_corpus(services=["Headlight restoration", "hazy lenses", "Oil change"]))
    assert "headlight restoration" in corpus and "hazy lenses" in corpus
    assert "tire rotation" in corpus  # our everyday names stay
    assert "hazy lenses" in "\n".join(vocabulary.build_hint_corpus(Expect.SERVICE, services=["hazy lenses"]))
    assert vocabulary.shop_phrases(["Oil change", "slow start", "Hazy lenses"]) == ["slow start", "hazy lenses"]


@pytest.mark.django_db
def test_the_recogniser_learns_the_services_the_shop_offers(tmp_path, monkeypatch, settings):
    from calls.agent.understanding import shop_words
    from scheduling.models import ServiceType

    settings.VAR_DIR = tmp_path
    ServiceType.objects.create(code="paint", name="Paint touch-up", duration_minutes=60, price="80.00",
                               keywords="paint chip, scratch repair")  # fmt: skip
    shop_words.renew()
    try:
        stt = SphinxSTT()
        assert {"paint", "chip", "scratch"} <= stt.model().files.words
        assert "scratch repair" in stt.model().files.services
        assert SphinxSTT(services=()).model().files.services == ()  # given: the database is not read
    finally:
        shop_words.renew()  # later tests read the shop again


def _read_arpa(path, *, backoffs=None):
    counts, sections, current = {}, {1: {}, 2: {}, 3: {}}, None
    for line in path.read_text().splitlines():
        if m := re.match(r"ngram (\d)=(\d+)", line):
            counts[int(m.group(1))] = int(m.group(2))
        elif m := re.match(r"\\(\d)-grams:", line):
            current = int(m.group(1))
        elif line.strip() and current and not line.startswith("\\"):
            parts = line.split()
            if current == 1:
                sections[1][parts[1]] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else 0.0)
            elif current == 2:
                sections[2][(parts[1], parts[2])] = float(parts[0])
                if backoffs is not None:
                    backoffs[(parts[1], parts[2])] = float(parts[3]) if len(parts) > 3 else 0.0
            else:
                sections[3][(parts[1], parts[2], parts[3])] = float(parts[0])
    if not sections[3]:
        del sections[3]
    return counts, sections


def test_arpa_model_is_valid_and_normalised(tmp_path):
    sentences = ["i need an oil change", "i need a brake job", "cancel my appointment", "yes", "yes that works",
                 "i need to cancel", "no"] * 3 + ["oil change tomorrow"]  # fmt: skip
    path = tmp_path / "t.arpa"
    written = vocabulary.write_arpa(sentences, path, order=2)
    counts, grams = _read_arpa(path)
    assert counts == {1: written["unigrams"], 2: written["bigrams"]} == {1: len(grams[1]), 2: len(grams[2])}
    assert all(p <= 0 for p, _ in grams[1].values()) and all(p <= 0 for p in grams[2].values())
    words = [w for w in grams[1] if w != "<s>"]
    assert math.isclose(sum(10 ** grams[1][w][0] for w in words), 1.0, rel_tol=1e-3)

    def prob(w, h):  # back-off bigram probability, as a decoder computes it
        if (h, w) in grams[2]:
            return 10 ** grams[2][(h, w)]
        return 10 ** (grams[1][h][1] + grams[1][w][0])

    for history in ["<s>", "i", "need", "oil", "yes", "cancel"]:
        assert all(h in grams[1] for h, _ in grams[2])
        assert math.isclose(sum(prob(w, history) for w in words), 1.0, rel_tol=2e-3), history
    assert prob("change", "oil") > 0.5 > 10 * prob("change", "yes")

    from pocketsphinx import NGramModel

    model = NGramModel.readfile(str(path))  # pocketsphinx's own reader accepts it
    assert model.size() >= 1


def test_trigram_model_is_valid_and_normalised(tmp_path):
    sentences = ["the first one", "the first one please", "the third one", "i need the first appointment",
                 "i need an oil change", "yes the first one works", "no"] * 2 + ["the second one"]  # fmt: skip
    path = tmp_path / "t3.arpa"
    written = vocabulary.write_arpa(sentences, path, order=3)
    bows: dict = {}
    counts, grams = _read_arpa(path, backoffs=bows)
    assert counts == {1: written["unigrams"], 2: written["bigrams"], 3: written["trigrams"]}
    assert counts == {n: len(grams[n]) for n in (1, 2, 3)}
    assert all((u, v) in grams[2] and (v, w) in grams[2] for u, v, w in grams[3])  # ARPA needs both
    words = [w for w in grams[1] if w != "<s>"]

    def bigram(w, h):
        return 10 ** grams[2][(h, w)] if (h, w) in grams[2] else 10 ** (grams[1][h][1] + grams[1][w][0])

    def trigram(w, u, v):
        if (u, v, w) in grams[3]:
            return 10 ** grams[3][(u, v, w)]
        return 10 ** bows.get((u, v), 0.0) * bigram(w, v)

    for u, v in [("<s>", "the"), ("the", "first"), ("first", "one"), ("i", "need"), ("need", "the")]:
        assert math.isclose(sum(trigram(w, u, v) for w in words), 1.0, rel_tol=2e-3), (u, v)
    # The word before decides: "one" follows "the first" more surely than it follows "first" after anything else.
    assert trigram("one", "the", "first") > trigram("appointment", "the", "first")

    from pocketsphinx import NGramModel

    assert NGramModel.readfile(str(path)).size() >= 1


def test_ipa_to_cmu():
    assert vocabulary.ipa_to_cmu("k_aʊ_ˈɔ_l_s_k_i") == "K AW AO L S K IY"
    assert vocabulary.ipa_to_cmu("tʃ_ˈɛ_v_ɹ_ə_l_ˌeɪ") == "CH EH V R AH L EY"
    assert vocabulary.ipa_to_cmu("m_j_ʊɹ_ɹ_ˈɑː_n_oʊ") == "M Y UH R AA N OW"  # doubled R collapsed
    assert vocabulary.ipa_to_cmu("b_ˈʌ_ʔ_n̩") == "B AH T AH N"
    assert vocabulary.ipa_to_cmu("q_ʘ") is None  # symbols we cannot map


def test_pronunciations_from_each_source():
    prons, missing = vocabulary.pronunciations(["change", "a/c", "crosstrek", "tiguan"])
    assert missing == []
    assert prons["change"] == ["CH EY N JH"]  # cmudict
    assert prons["a/c"] == ["EY S IY"]  # our own spelling
    assert prons["crosstrek"] == ["K R AO S T R EH K"]  # eSpeak letter-to-sound
    assert prons["tiguan"][0].startswith("T IH G")


def test_build_language_model_caches_and_drops_unpronounceable(tmp_path, monkeypatch, caplog):
    real = vocabulary.espeak_pronunciations
    monkeypatch.setattr(
        vocabulary, "espeak_pronunciations", lambda words: {w: p for w, p in real(words).items() if w != "xqzzy"}
    )
    with caplog.at_level(logging.WARNING, logger="calls.voice.vocabulary"):
        files = vocabulary.build_language_model(["Xqzzy", "Kowalczyk"], directory=tmp_path)
    assert "xqzzy" in caplog.text
    assert "kowalczyk" in files.words and "xqzzy" not in files.words
    dict_words = {line.split()[0].split("(")[0] for line in files.dict_path.read_text().splitlines()}
    assert dict_words == set(files.words)
    # The dictionary says every word of every model (the general one and one per kind of question), no more.
    model_words = set()
    for path in [files.lm_path, *files.hint_paths.values()]:
        _, grams = _read_arpa(path)
        model_words |= set(grams[1]) - {"<s>", "</s>"}
    assert model_words == dict_words
    assert set(files.hint_paths) == set(Expect)

    mtimes = [p.stat().st_mtime_ns for p in [files.lm_path, *files.hint_paths.values()]]
    again = vocabulary.build_language_model(["Xqzzy", "Kowalczyk"], directory=tmp_path)
    assert again.lm_path == files.lm_path and again.hint_paths == files.hint_paths
    assert [p.stat().st_mtime_ns for p in [again.lm_path, *again.hint_paths.values()]] == mtimes
    other = vocabulary.build_language_model([], directory=tmp_path)
    assert other.key != files.key and "kowalczyk" not in other.words


def test_default_cache_lives_under_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    assert vocabulary.cache_root() == tmp_path / "speech" and (tmp_path / "speech").is_dir()


# ---------------------------------------------------------------------------------------------------------
# Recognition
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), SENTENCES)
async def test_content_words_come_out(stt, text, words):
    final, _, stats = await transcribe(stt, caller(text))
    heard = final.text.split()
    print(f"{text!r} -> {final.text!r}  (decoder CPU {stats.cpu_s / (stats.decoded_ms / 1000):.3f} x real time)")
    assert final.is_final and final.speech_final
    assert all(w in heard for w in words), (words, final.text)


async def test_realtime_factor(stt):
    total_cpu = decoded_ms = audio_ms = 0
    worst_finalize_ms = 0.0
    for text, _ in SENTENCES:
        _, _, stats = await transcribe(stt, caller(text))
        total_cpu += stats.cpu_s
        decoded_ms += stats.decoded_ms
        audio_ms += stats.audio_ms
        worst_finalize_ms = max(worst_finalize_ms, *stats.finalize_latency_ms)
    rtf = total_cpu / (decoded_ms / 1000)
    print(
        f"pocketsphinx: {audio_ms / 1000:.1f} s of caller audio, {decoded_ms / 1000:.1f} s decoded (the rest gated "
        f"as silence), CPU {total_cpu:.2f} s: realtime factor {rtf:.3f} per decoded second, "
        f"{total_cpu / (audio_ms / 1000):.3f} per second of call audio; "
        f"end of utterance at most {worst_finalize_ms:.0f} ms"
    )
    assert rtf < 0.3
    assert decoded_ms < audio_ms  # leading silence never reached the decoder


async def test_partials_arrive_before_finalize_on_a_long_sentence(stt):
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    await feed(stream, caller(LONG_SENTENCE, tail_ms=100), pace_s=0.005)
    for _ in range(200):
        if len(sink.partials) >= 2:
            break
        await asyncio.sleep(0.02)
    partials = [p.text for p in sink.partials]
    assert len(partials) >= 2 and sink.finals == []
    assert all(not p.is_final for p in sink.partials)
    assert len(set(partials)) == len(partials)  # only changes are reported
    await stream.finalize()
    final = await sink.next_final()
    await stream.close()
    assert "brakes" in partials[-1].split() or "brakes" in final.text.split()
    assert {"honda", "tomorrow", "morning"} <= set(final.text.split())


# Three turns of one call. Not "I need to reschedule my appointment": heard right as a first turn (20/20
# renderings) but only 17/20 and 19/20 as a second or third one, so whether it passed depended on which rendering
# the process's eSpeak history produced (run alone, the module's first rendering is one it mishears). These three
# were heard right in every position over 20 renderings, and in this order over 30 (one of them a fresh process's).
MANY_TURNS = [SENTENCES[1], SENTENCES[2], SENTENCES[4]]


async def test_one_stream_many_turns(stt):
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    texts = []
    for text, words in MANY_TURNS:
        await feed(stream, caller(text))
        await stream.finalize()
        final = await sink.next_final()
        texts.append(final.text)
        assert all(w in final.text.split() for w in words), (text, final.text)
    await stream.finalize()  # nothing said since: an empty final, still delivered
    empty = await sink.next_final()
    await stream.close()
    assert empty.text == "" and empty.is_final and empty.speech_final
    assert stream.stats.utterances == 3


async def test_odd_sized_payloads(stt):
    """Twilio promises no payload size: 333-byte chunks decode like 20 ms frames."""
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    clip = caller("Cancel my appointment.")
    for i in range(0, len(clip), 333):
        stream.send_audio(clip[i : i + 333])
        await asyncio.sleep(0)
    await stream.finalize()
    final = await sink.next_final()
    await stream.close()
    assert {"cancel", "appointment"} <= set(final.text.split())
    assert abs(stream.stats.audio_ms - audio.ulaw_duration_ms(clip)) <= 20


async def test_finalize_on_silence_gives_an_empty_final(stt):
    final, sink, stats = await transcribe(stt, audio.ulaw_silence(2000))
    assert final.text == "" and final.speech_final and sink.partials == []
    assert stats.decoded_ms == 0  # silence never reached the decoder


async def test_own_endpointing_when_nobody_finalizes(stt):
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    await feed(stream, caller("Cancel my appointment.", tail_ms=stt.endpoint_ms + 300))
    final = await sink.next_final()
    await stream.close()
    assert final.speech_final and "cancel" in final.text.split()


async def test_long_monologue_is_cut_into_final_segments(stt):
    talker = SphinxSTT(max_utterance_ms=1500)
    sink = Collector()
    stream = talker.open_stream(on_transcript=sink)
    await stream.start()
    await feed(stream, caller(LONG_SENTENCE))
    await stream.finalize()
    for _ in range(200):
        if sink.finals and sink.finals[-1].speech_final:
            break
        await asyncio.sleep(0.02)
    await stream.close()
    segments = [f for f in sink.finals if not f.speech_final]
    assert len(segments) >= 2 and sink.finals[-1].speech_final
    assert "brakes" in " ".join(f.text for f in sink.finals).split()


async def test_hints_teach_the_callers_name(stt):
    """A name from the CRM, given as a hint, is heard; without the hint it is not. Over five renderings of the
    sentence: eSpeak carries a little state from one synthesis to the next (test_espeak.same_speech), so each
    test gets slightly different audio depending on what the process synthesised before, and one rendering in
    ~20 loses the name even with the hint (measured 23/24 and 21/24 for two sentences)."""
    hints = ["Anna Kowalczyk", "2019 Subaru Crosstrek"]
    model = stt.model()
    heard_with, heard_without = [], []
    for _ in range(5):
        clip = caller("It's Anna Kowalczyk.")
        without, _, _ = await transcribe(stt, clip)
        heard_without.append(without.text)
        idle_before = model.idle_count()
        with_hint, _, _ = await transcribe(stt, clip, hints=hints)
        heard_with.append(with_hint.text)
        # That decoder learnt a caller's name: it is not handed to the next caller.
        assert model.idle_count() <= idle_before
    assert not any("kowalczyk" in text.split() for text in heard_without), heard_without
    assert sum("kowalczyk" in text.split() for text in heard_with) >= 3, heard_with


def _decode_with_score(decoder, samples, chunk=1600):
    """(hypothesis, path score) of one utterance, fed in 100 ms pieces like a stream."""
    decoder.start_utt()
    for i in range(0, samples.size, chunk):
        decoder.process(samples[i : i + chunk])
    decoder.end_utt()
    score = ctypes.c_int32()
    text = decoder._lib.ps_get_hyp(decoder._ps, ctypes.byref(score))
    return (text or b"").decode(), score.value


async def test_a_new_decoder_and_a_pooled_one_give_a_call_the_same_finals(stt):
    """The first call on a decoder the pool has just created hears the same audio exactly like a later call on
    that decoder (acquire re-initialises the front end and the search of a reused one): the same finals, turn
    after turn."""
    clips = [caller(text) for text, _ in SENTENCES[1:4]]
    provider = SphinxSTT()
    provider._model = sphinx.SpeechModel(stt.model().files)  # an empty pool: the first stream gets a new decoder

    async def call() -> list[str]:
        sink = Collector()
        stream = provider.open_stream(on_transcript=sink)
        await stream.start()
        for clip in clips:
            await feed(stream, clip)
            await stream.finalize()
            await sink.next_final()
        await stream.close()
        return [final.text for final in sink.finals]

    first = await call()
    assert provider.model().created == 1 and provider.model().idle_count() == 1
    assert await call() == first
    assert provider.model().created == 1  # the second call was on the pooled decoder


def test_a_pooled_decoder_hears_like_a_new_one(stt):
    """Nothing of one call reaches the next through the decoder pool: on a reused decoder, whatever it decoded
    before, the same audio gives the same words and the same path score as on a new one."""
    model = sphinx.SpeechModel(stt.model().files, native=True)
    noise = stt.noise

    def phone(text):
        pcm = audio.resample_pcm16(audio.ulaw_to_pcm16_array(caller(text)), 8000, sphinx.DECODER_RATE)
        return np.clip(pcm.astype(np.int32) + np.resize(noise, pcm.size), -32768, 32767).astype(np.int16)

    name, other = phone("This is Anna Kowalczyk."), phone(LONG_SENTENCE)
    decoder = model.acquire()
    new = _decode_with_score(decoder, name)
    model.release(decoder)
    for before in (other, name):
        decoder = model.acquire()
        _decode_with_score(decoder, before)  # the previous call
        model.release(decoder)
        reused = model.acquire()
        assert reused is decoder and model.created == 1
        assert _decode_with_score(reused, name) == new
        model.release(reused)


async def test_send_audio_only_queues(stt):
    stream = stt.open_stream(on_transcript=lambda t: None)
    await stream.start()
    frames = list(audio.iter_frames(caller(LONG_SENTENCE)))
    started = time.perf_counter()
    for frame in frames:
        stream.send_audio(frame)
    per_call_us = (time.perf_counter() - started) / len(frames) * 1e6
    await stream.close()
    print(f"send_audio: {per_call_us:.1f} µs per 20 ms frame")
    assert per_call_us < 200


async def test_close_returns_the_decoder_and_ignores_late_audio(stt):
    model = stt.model()
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    idle = model.idle_count()
    await feed(stream, caller("Yes, that works."))
    await stream.close()
    assert model.idle_count() == idle + 1
    stream.send_audio(audio.ulaw_silence(20))
    await stream.finalize()
    await stream.close()
    await asyncio.sleep(0.05)
    assert sink.finals == []
    never_started = stt.open_stream(on_transcript=sink)
    await never_started.close()


async def test_a_failing_decoder_costs_only_that_calls_recognition(stt, monkeypatch, caplog):
    sink = Collector()
    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    failing = stream._decoder

    def broken(samples):
        raise RuntimeError("ps_process_raw failed")

    monkeypatch.setattr(stream._decoder, "process", broken)
    with caplog.at_level(logging.ERROR, logger="calls.voice.providers.sphinx"):
        await feed(stream, caller("Cancel my appointment."))
        await stream.finalize()
        final = await sink.next_final()
    assert final.text == "" and final.speech_final  # the session still gets its final
    assert "speech recognition failed" in caplog.text
    await feed(stream, caller("Yes, that works."))
    await stream.finalize()
    assert (await sink.next_final()).text == ""
    await stream.close()
    # Other calls are unaffected, and the broken decoder was not pooled.
    final, _, _ = await transcribe(stt, caller("Yes, that works."))
    assert final.text == "yes that works"
    assert all(d is not failing for d in stt.model()._idle)


def test_native_decoding_releases_the_gil(stt):
    """The reason for the ctypes binding: the event loop keeps running while another thread decodes."""
    decoder = sphinx.NativeDecoder(stt.model().files, {})
    samples = audio.resample_pcm16(audio.ulaw_to_pcm16_array(caller(LONG_SENTENCE) * 3), 8000, 16000)
    took = []

    def decode():
        decoder.start_utt()
        started = time.perf_counter()
        decoder.process(samples)  # one long C call
        took.append(time.perf_counter() - started)
        decoder.end_utt()

    worker = threading.Thread(target=decode)
    gaps, last = [], time.perf_counter()
    worker.start()
    while worker.is_alive():
        sum(range(2000))  # pure Python work: needs the GIL
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    worker.join()
    decoder.free()
    print(f"one {took[0] * 1000:.0f} ms decode call; longest main-thread stall {max(gaps) * 1000:.1f} ms")
    assert took[0] > 0.1
    assert max(gaps) < took[0] / 3


async def test_cython_fallback_decodes_too(stt):
    fallback = SphinxSTT()
    fallback._model = sphinx.SpeechModel(stt.model().files, native=False)
    final, _, _ = await transcribe(fallback, caller("Cancel my appointment."))
    assert {"cancel", "appointment"} <= set(final.text.split())


async def test_ten_concurrent_calls(stt):
    """Ten callers talking at once, audio paced at twice real time; reports CPU per call."""
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(10)]
    clips = [caller(text) for text, _ in texts]
    lags: list[float] = []
    stop = False

    async def watch_loop():
        while not stop:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - before - 0.005)

    async def one_call(clip):
        sink = Collector()
        stream = stt.open_stream(on_transcript=sink)
        await stream.start()
        await feed(stream, clip, pace_s=0.01)
        await stream.finalize()
        final = await sink.next_final(timeout=30)
        await stream.close()
        return final, stream.stats

    usage = resource.getrusage(resource.RUSAGE_SELF)
    watcher = asyncio.create_task(watch_loop())
    started = time.perf_counter()
    results = await asyncio.gather(*(one_call(c) for c in clips))
    wall = time.perf_counter() - started
    stop = True
    await watcher
    after = resource.getrusage(resource.RUSAGE_SELF)
    process_cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    call_seconds = sum(len(c) for c in clips) / 8000
    decoder_cpu = sum(stats.cpu_s for _, stats in results)
    lags.sort()
    print(
        f"10 calls, {call_seconds:.0f} s of caller audio in {wall:.1f} s: process CPU {process_cpu:.2f} s "
        f"({process_cpu / call_seconds:.3f} s per second of call), recogniser threads {decoder_cpu:.2f} s; "
        f"event-loop lag p50 {lags[len(lags) // 2] * 1000:.1f} ms, p99 {lags[int(len(lags) * 0.99)] * 1000:.1f} ms"
    )
    for (final, _), (_, words) in zip(results, texts, strict=True):
        assert all(w in final.text.split() for w in words), final.text
    assert process_cpu / call_seconds < 0.3
    assert lags[len(lags) // 2] < 0.02
    assert np.isfinite(decoder_cpu)
