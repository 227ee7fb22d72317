"""The softphone in a real browser: headless Chromium (Debian's) driven by Playwright, talking to a
real daphne process over the real media socket, with a fake microphone that plays an eSpeak sentence.

The server runs the instant providers (calls/voice/providers/instant.py) and the real VAD: the caller's
speech ends a turn, the instant recogniser hears "what are your hours", the instant brain echoes it and
the instant TTS answers with a tone. What is under test is the page: its protocol, audio in and out.

Playwright's sync API keeps an event loop alive on this thread, which Django's ORM refuses to run beside:
all database work happens before the browser starts or after it has closed.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import time
import wave
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from bartsvoice.tests.prerequisites import CHROMIUM
from calls.models import Call, Turn
from calls.tests.live_daphne import INSTANT_PROVIDERS, live_daphne
from calls.voice.audio import ULAW_DECODE_TABLE, ULAW_ENCODE_TABLE, pcm16_to_ulaw, rms, ulaw_to_pcm16_array
from crm.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CALLER_SENTENCE = "Hi, I would like to book an oil change for my car next week."
WAV_RATE = 16000
SCREENSHOT = Path(tempfile.gettempdir()) / "softphone.png"  # for a person to look at


def _chromium_args(fake_audio: Path | None = None) -> list[str]:
    args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ]
    if fake_audio is not None:
        args.append(f"--use-file-for-fake-audio-capture={fake_audio}")
    return args


# ------------------------------------------------------------------------------------- the server


@pytest.fixture
def server(transactional_db, tmp_path):
    """daphne on a free 127.0.0.1 port, on this test's database and Redis, with the instant providers."""
    log = tmp_path / "daphne.log"
    # DEBUG: static files straight from the apps, through WhiteNoise.
    with live_daphne(log, providers=INSTANT_PROVIDERS, env={"VOICE_REPROMPT_SECONDS": "30"}) as base_url:
        yield base_url, log


@pytest.fixture
def impatient_server(transactional_db, tmp_path):
    """As `server`, but the agent asks "Are you still there?" after 1 s of silence."""
    log = tmp_path / "daphne.log"
    with live_daphne(log, providers=INSTANT_PROVIDERS, env={"VOICE_REPROMPT_SECONDS": "1"}) as base_url:
        yield base_url, log


# ------------------------------------------------------------------------------------- fake microphone


def _caller_audio() -> np.ndarray:
    """The caller's sentence, spoken by eSpeak."""
    from calls.voice.providers.espeak import synthesize_pcm16

    return np.frombuffer(synthesize_pcm16(CALLER_SENTENCE, WAV_RATE), dtype=np.int16)


def _quiet(seconds: float) -> np.ndarray:
    return np.zeros(int(WAV_RATE * seconds), dtype=np.int16)


@pytest.fixture
def fake_mic_wav(tmp_path) -> Path:
    """0.3 s of quiet, the sentence, then 4 s of quiet; Chromium loops the file."""
    return _write_wav(tmp_path / "caller.wav", np.concatenate([_quiet(0.3), _caller_audio(), _quiet(4.0)]))


@pytest.fixture
def quiet_mic_wav(tmp_path) -> Path:
    """A caller who says nothing (the fake device's default beep would count as speech)."""
    return _write_wav(tmp_path / "quiet.wav", _quiet(2.0))


def _write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(WAV_RATE)
        wav.writeframes(samples.tobytes())
    return path


# ------------------------------------------------------------------------------------- tests


def _wait_until_ended(call: Call, deadline_s: float = 30.0) -> None:
    """Until the server has written the call's end (it does when the socket closes), or the deadline passes: the
    server is another process, so its row is read again every 0.2 s. The deadline only matters when it never ends;
    a busy machine has taken more than 10 s to get there."""
    deadline = time.monotonic() + deadline_s
    while call.ended_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
        call.refresh_from_db()


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/calls/softphone/")
    page.fill("#id_username", "advisor")
    page.fill("#id_password", "pw-advisor-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}/calls/softphone/")


def test_codec_and_resampler_match_the_server(chromium_available, server):
    """The page's µ-law codec is bit-exact with calls/voice/audio.py, and its 8 kHz resampler filters:
    a 1 kHz tone passes, a 6 kHz tone (which naive decimation folds onto 2 kHz) is suppressed."""
    from playwright.sync_api import sync_playwright

    base_url, _log = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args())
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/healthz")
            codec = page.evaluate(
                """async () => {
                    const g711 = await import('/static/calls/g711.js');
                    const encoded = [];
                    for (let i = 0; i < 65536; i++) encoded.push(g711.linearToUlaw(i < 32768 ? i : i - 65536));
                    return { encoded, decoded: Array.from(g711.ULAW_TO_LINEAR) };
                }"""
            )
            tones = page.evaluate(
                """async () => {
                    // Render tones through the worklet offline at 48 kHz, collecting the µ-law frames it posts.
                    const render = async (frequency) => {
                        const ctx = new OfflineAudioContext(1, 48000, 48000);
                        await ctx.audioWorklet.addModule('/static/calls/softphone-worklet.js');
                        const node = new AudioWorkletNode(ctx, 'mulaw-encoder');
                        const frames = [];
                        node.port.onmessage = ({ data }) => frames.push(...data.ulaw);
                        const osc = new OscillatorNode(ctx, { frequency });
                        const gain = new GainNode(ctx, { gain: 0.5 });
                        osc.connect(gain).connect(node);
                        node.connect(ctx.destination);
                        osc.start();
                        await ctx.startRendering();
                        await new Promise((resolve) => setTimeout(resolve, 300));  // last port messages
                        return frames;
                    };
                    return { low: await render(1000), high: await render(6000) };
                }"""
            )
        finally:
            browser.close()

    assert np.array_equal(np.array(codec["encoded"], dtype=np.uint8), ULAW_ENCODE_TABLE)
    assert np.array_equal(np.array(codec["decoded"], dtype=np.int16), ULAW_DECODE_TABLE)

    low = ulaw_to_pcm16_array(bytes(tones["low"]))
    high = ulaw_to_pcm16_array(bytes(tones["high"]))
    # One second at 48 kHz is 8000 samples at 8 kHz: 50 frames of 160 bytes (the last may be held back).
    assert len(low) % 160 == 0 and 7680 <= len(low) <= 8000
    steady = slice(400, 7600)  # past the filter's start-up
    level = rms(low[steady])
    assert abs(level - 0.5 * 32767 / np.sqrt(2)) < 0.05 * level  # passband: within 5 %
    spectrum = np.abs(np.fft.rfft(low[steady] * np.hanning(7200)))
    assert abs(np.argmax(spectrum) * 8000 / 7200 - 1000) < 5  # and still 1 kHz
    assert 20 * np.log10(rms(high[steady]) / level) < -40  # stopband: 6 kHz does not alias in


def test_softphone_call_in_a_real_browser(chromium_available, server, fake_mic_wav, advisor):
    from playwright.sync_api import expect, sync_playwright

    base_url, log = server
    ana = Customer.objects.create(first_name="Ana", last_name="Garcia", phone="+13125550142")
    Customer.objects.create(first_name="Ben", last_name="Garcia", phone="+13125550199")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args(fake_mic_wav))
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            # Staff sign in through the admin and land on the softphone.
            page.goto(f"{base_url}/calls/softphone/")
            expect(page).to_have_url(f"{base_url}/admin/login/?next=/calls/softphone/")
            page.fill("#id_username", "advisor")
            page.fill("#id_password", "pw-advisor-1")
            page.click("input[type=submit]")
            expect(page).to_have_url(f"{base_url}/calls/softphone/")

            # The unknown-caller number is checked by the server.
            page.check("input[name=caller-mode][value=unknown]")
            page.fill("#caller-phone", "555-0142")
            page.click("#call-button")
            expect(page.locator("#phone-error")).to_have_text(
                "“555-0142” is missing the area code — dial it like (312) 555-0142."
            )
            expect(page.locator("#call-button")).to_be_enabled()

            # Pick Ana from the search and call.
            page.check("input[name=caller-mode][value=customer]")
            expect(page.locator("#status")).to_have_attribute("data-state", "idle")  # the old error is gone
            expect(page.locator("#customer-picked")).to_be_hidden()
            page.fill("#customer-q", "garc")
            results = page.locator("#customer-results button")
            expect(results).to_have_count(2)
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-search.png")))
            results.filter(has_text="Ana Garcia").click()
            expect(page.locator("#picked-name")).to_have_text("Ana Garcia")
            page.click("#call-button")

            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            agent = page.locator("#transcript .line.agent")
            expect(agent.first).to_contain_text("Thanks for calling.")
            # The fake microphone speaks; the VAD ends the turn; the agent answers it.
            caller_final = page.locator("#transcript .line.caller:not(.partial)")
            expect(caller_final.first).to_have_text("Callerwhat are your hours", timeout=30_000)
            expect(page.locator("#transcript")).to_contain_text("You said: what are your hours.")
            page.wait_for_function("window.softphoneDebug.marksEchoed >= 2")
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            stats = page.evaluate("({...window.softphoneDebug})")

            page.click("#hangup-button")
            expect(page.locator("#status")).to_have_text("Call ended.")
            expect(page.locator("#status")).to_have_attribute("data-state", "ended")
            expect(page.locator("#call-button")).to_be_enabled()
            expect(page.locator("#keypad button").first).to_be_disabled()
            final = page.evaluate("({...window.softphoneDebug})")
        finally:
            browser.close()

    # Audio went both ways and was played; marks came back after it.
    assert stats["framesSent"] > 100, stats  # > 2 s of 20 ms frames
    assert stats["peakLevel"] > 0.01, stats  # the meter saw the speech (louder than -40 dBFS)
    assert stats["mediaReceived"] > 5, stats
    assert stats["buffersPlayed"] > 5 and stats["secondsPlayed"] > 1.0, stats
    assert stats["marksReceived"] >= 2 and stats["marksEchoed"] >= 2, stats
    assert final["closeCode"] == 1000, final
    assert errors == [f"400 {base_url}/calls/softphone/start/"], errors  # only the bad number's refusal

    call = Call.objects.get()
    assert call.transport == Call.Transport.SOFTPHONE
    assert call.customer_id == ana.pk
    assert call.from_number == "+13125550142"
    assert call.to_number == "+13125550100"
    assert call.stream_sid.startswith("MZ")
    _wait_until_ended(call)
    assert call.ended_at is not None, log.read_text()[-3000:]
    assert call.status == Call.Status.COMPLETED

    turns = list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text"))
    assert turns[0][0] == "agent", turns  # the greeting (cut short if the caller spoke over it)
    assert ("caller", "what are your hours") in turns, turns
    assert any(role == "agent" and text.startswith("You said: what are your hours.") for role, text in turns), turns


def test_keypad_zero_transfers_and_the_agent_hangs_up(chromium_available, server, quiet_mic_wav, advisor):
    """DTMF 0 cuts the greeting (clear), the agent hands over (no transfer from a browser, so it promises
    a call back) and hangs up: the server closes the socket with 1000 and the page says so."""
    from playwright.sync_api import expect, sync_playwright

    from calls.voice.session import TRANSFER_TEXT

    base_url, _log = server

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args(quiet_mic_wav))
        try:
            page = browser.new_page()
            _sign_in(page, base_url)
            page.check("input[name=caller-mode][value=unknown]")
            page.fill("#caller-phone", "(312) 555-0177")
            page.click("#call-button")
            transcript = page.locator("#transcript")
            expect(transcript).to_contain_text("Thanks for calling.")
            page.click("#keypad button[data-digit='0']")
            expect(transcript).to_contain_text(TRANSFER_TEXT)
            status = page.locator("#status")
            expect(status).to_have_text("The agent ended the call.")
            expect(status).to_have_attribute("data-state", "ended")
            # The greeting, cut by the clear, says so.
            greeting = page.locator("#transcript .line.agent").first
            expect(greeting).to_have_class(re.compile(r"\binterrupted\b"))
            expect(greeting.locator(".who .flag")).to_have_text("(interrupted)")
            expect(greeting.locator(".text")).to_contain_text("Thanks for calling.")
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-transfer.png")), full_page=True)
            bubbles = _bubbles(page)
            stats = page.evaluate("({...window.softphoneDebug})")
        finally:
            browser.close()

    assert stats["dtmfSent"] == 1 and stats["clears"] >= 1 and stats["closeCode"] == 1000, stats
    call = Call.objects.get()
    assert call.customer is None and call.from_number == "+13125550177"
    _wait_until_ended(call)
    assert call.ended_at is not None
    assert call.outcome == Call.Outcome.TRANSFERRED
    texts = list(Turn.objects.filter(call=call, role="agent").order_by("index").values_list("text", "interrupted"))
    assert texts[0][1] is True, texts  # the greeting was cut short
    assert (TRANSFER_TEXT, False) in texts, texts
    # One bubble per agent turn: the transfer line and the call-back promise after it (a reply of its own,
    # once the transfer line had played) each have their own, heard in full; only the greeting was cut.
    assert [b["role"] for b in bubbles] == ["agent"] * len(texts), bubbles
    assert [(b["text"], b["interrupted"]) for b in bubbles[1:]] == texts[1:], (bubbles, texts)
    assert bubbles[0]["interrupted"] and bubbles[0]["flag"] == "(interrupted)", bubbles


def test_silent_caller_hears_each_reprompt_in_its_own_bubble(
    chromium_available, impatient_server, quiet_mic_wav, advisor
):
    """A caller who says nothing: greeting, "Are you still there?" twice, then the goodbye. Each reply is
    a bubble of its own (the two-sentence greeting and the three-sentence goodbye one bubble each)."""
    from playwright.sync_api import expect, sync_playwright

    from calls.voice.session import REPROMPT_TEXT, SILENCE_GOODBYE_TEXT

    base_url, log = impatient_server

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args(quiet_mic_wav))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            _sign_in(page, base_url)
            page.check("input[name=caller-mode][value=unknown]")
            page.fill("#caller-phone", "(312) 555-0177")
            page.click("#call-button")
            status = page.locator("#status")
            expect(status).to_have_text("The agent ended the call.", timeout=40_000)
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-reprompts.png")), full_page=True)
            bubbles = _bubbles(page)
        finally:
            browser.close()

    texts = [b["text"] for b in bubbles]
    assert texts == [
        "Thanks for calling. How can I help you today?",
        REPROMPT_TEXT,
        REPROMPT_TEXT,
        SILENCE_GOODBYE_TEXT,
    ], (bubbles, log.read_text()[-2000:])
    assert all(b["role"] == "agent" and not b["interrupted"] and not b["unheard"] for b in bubbles), bubbles
    call = Call.objects.get()
    _wait_until_ended(call)
    assert call.outcome == Call.Outcome.ABANDONED
    # The bubbles are the server's agent turns, one for one.
    assert list(Turn.objects.filter(call=call).order_by("index").values_list("role", "text")) == [
        ("agent", text) for text in texts
    ]


# ------------------------------------------------------------------------------------- scripted server


def _tone_ulaw(seconds: float) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    return pcm16_to_ulaw((6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16))


class ScriptedStream:
    """Plays the server's side of the media socket from the test (Playwright's WebSocket routing), so the
    page's handling of transcripts, audio, marks and clears can be timed exactly."""

    def __init__(self, page):
        self.page = page
        self.ws = None
        self.received: list[dict] = []
        page.route_web_socket(re.compile(r"/ws/media-stream/"), self._connected)

    def _connected(self, ws) -> None:
        self.ws = ws  # not connected to the server: the test answers instead
        ws.on_message(lambda text: self.received.append(json.loads(text)))

    def wait(self, predicate, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                status = self.page.text_content("#status")
                raise AssertionError(f"timed out waiting for {what}; page: {status!r}; received {self.received[-5:]}")
            self.page.wait_for_timeout(20)  # lets Playwright deliver the socket's messages

    def echoed(self) -> list[str]:
        return [m["mark"]["name"] for m in self.received if m.get("event") == "mark"]

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def agent(self, text: str) -> None:
        self.send({"event": "transcript", "role": "agent", "text": text, "final": True})

    def caller(self, text: str, *, final: bool) -> None:
        self.send({"event": "transcript", "role": "caller", "text": text, "final": final})

    def audio(self, seconds: float) -> None:
        ulaw = _tone_ulaw(seconds)
        for at in range(0, len(ulaw), 800):  # 100 ms a message, as the server sends
            payload = base64.b64encode(ulaw[at : at + 800]).decode()
            self.send({"event": "media", "streamSid": "MZtest", "media": {"payload": payload}})

    def mark(self, name: str) -> None:
        self.send({"event": "mark", "streamSid": "MZtest", "mark": {"name": name}})

    def sentence(self, text: str, seconds: float, mark: str | None) -> None:
        """As the server says a sentence: its transcript, its audio, then a mark after it."""
        self.agent(text)
        self.audio(seconds)
        if mark:
            self.mark(mark)

    def clear(self) -> None:
        self.send({"event": "clear", "streamSid": "MZtest"})


def _bubbles(page) -> list[dict]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('#transcript .line:not(.note)'), (line) => ({
            role: line.classList.contains('agent') ? 'agent' : 'caller',
            text: line.querySelector('.text').textContent,
            interrupted: line.classList.contains('interrupted'),
            flag: line.querySelector('.who .flag')?.textContent ?? null,
            unheard: Array.from(line.querySelectorAll('.sentence.unheard'), (s) => s.textContent),
        }))"""
    )


def test_bubbles_follow_replies_and_show_what_an_interruption_cut(chromium_available, server, quiet_mic_wav, advisor):
    """The page against a scripted socket: a reply is one bubble until its audio has played; a caller
    turn, a finished reply or a long quiet starts the next; a clear labels the reply and greys out the
    sentences that had not started playing; hanging up mid-reply does the same."""
    from playwright.sync_api import expect, sync_playwright

    base_url, _log = server

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args(quiet_mic_wav))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, base_url)
            stream = ScriptedStream(page)
            page.check("input[name=caller-mode][value=unknown]")
            page.fill("#caller-phone", "(312) 555-0177")
            page.click("#call-button")
            stream.wait(lambda: any(m.get("event") == "start" for m in stream.received), "the start message")

            def played(n: int):
                return lambda: len(stream.echoed()) >= n

            # Two sentences of one reply share a bubble, even when the second comes while the first plays.
            stream.sentence("Thanks for calling.", 0.4, "g0")
            stream.sentence("How can I help?", 0.4, "g1")
            stream.wait(played(2), "the greeting's marks")
            # Played out: the next sentence is a new reply (a reprompt).
            stream.sentence("Are you still there?", 0.3, "p0")
            stream.wait(played(3), "the reprompt's mark")
            stream.sentence("Are you still there?", 0.3, "p1")
            stream.wait(played(4), "the second reprompt's mark")

            # A caller turn ends the agent's bubble even while the agent is still talking.
            stream.sentence("Our hours are", 0.3, "h0")
            stream.caller("what", final=False)
            stream.caller("what time", final=True)
            stream.sentence("We open at eight.", 0.3, "a0")
            stream.sentence("We close at six.", 0.3, "a1")
            stream.wait(played(7), "the answer's marks")

            # Cut off: heard in full, cut mid-sentence, never started.
            stream.sentence("Heard in full.", 0.3, "c0")
            stream.sentence("Cut in the middle.", 3.0, "c1")
            stream.sentence("Never heard.", 1.0, "c2")
            stream.wait(played(8), "the first sentence's mark")
            page.wait_for_timeout(600)  # well into the 3 s sentence
            stream.clear()
            stream.wait(played(10), "the cleared marks, echoed at once")
            assert stream.echoed()[-2:] == ["c1", "c2"]
            stream.sentence("Sorry, go ahead.", 0.2, "s0")
            stream.wait(played(11), "the mark after the clear")

            # A mark that never comes back: a quiet of more than 1.5 s still ends the reply.
            stream.sentence("Lost mark.", 0.2, None)
            page.wait_for_timeout(2500)
            # A sentence resent before any audio (the server retrying with its fallback voice) replaces itself.
            stream.agent("Retried.")
            stream.agent("Retried, with the other voice.")
            stream.audio(0.2)
            stream.mark("r0")
            stream.wait(played(12), "the retried sentence's mark")

            # Hanging up while the agent talks cuts the reply off too.
            stream.sentence("Still talking when", 3.0, "t0")
            stream.sentence("the caller hung up.", 1.0, "t1")
            page.wait_for_timeout(500)
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-scripted.png")), full_page=True)
            page.click("#hangup-button")
            expect(page.locator("#status")).to_have_text("Call ended.")
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-scripted-ended.png")), full_page=True)
            bubbles = _bubbles(page)
        finally:
            browser.close()

    def agent(text, unheard=(), *, cut=False):
        return {
            "role": "agent",
            "text": text,
            "interrupted": cut,
            "flag": "(interrupted)" if cut else None,
            "unheard": list(unheard),
        }

    caller = {"role": "caller", "text": "what time", "interrupted": False, "flag": None, "unheard": []}
    assert bubbles == [
        agent("Thanks for calling. How can I help?"),
        agent("Are you still there?"),
        agent("Are you still there?"),
        agent("Our hours are"),
        caller,
        agent("We open at eight. We close at six."),
        agent("Heard in full. Cut in the middle. Never heard.", ["Never heard."], cut=True),
        agent("Sorry, go ahead."),
        agent("Lost mark."),
        agent("Retried, with the other voice."),
        agent("Still talking when the caller hung up.", ["the caller hung up."], cut=True),
    ], bubbles
    assert errors == [], errors


def test_refused_stream_shows_in_the_status_line(chromium_available, server, advisor):
    """A token the server does not accept closes the socket with 1008; the page says so."""
    from playwright.sync_api import expect, sync_playwright

    base_url, _log = server
    Customer.objects.create(first_name="Ana", last_name="Garcia", phone="+13125550142")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args())
        try:
            page = browser.new_page()
            _sign_in(page, base_url)
            # Spoil the token the server hands out, as an expired or replayed one would be.
            page.route("**/calls/softphone/start/", _spoil_token)
            page.check("input[name=caller-mode][value=unknown]")
            page.fill("#caller-phone", "(312) 555-0177")
            page.click("#call-button")
            status = page.locator("#status")
            expect(status).to_have_attribute("data-state", "error")
            expect(status).to_contain_text("refused the call")
            assert page.evaluate("window.softphoneDebug.closeCode") == 1008
            expect(page.locator("#call-button")).to_be_enabled()
        finally:
            browser.close()

    assert Call.objects.filter(from_number="+13125550177").exists()


def _spoil_token(route) -> None:
    response = route.fetch()
    data = response.json()
    token = data["token"]
    data["token"] = token[:-4] + ("BBBB" if token.endswith("AAAA") else "AAAA")
    route.fulfill(response=response, json=data)


# ------------------------------------------------------------------------------------- a reminder call rings here


@pytest.fixture
def reminder_server(transactional_db, tmp_path):
    """daphne with the rule brain (the reminder conversation) over the instant voice; the instant recogniser
    hears the customer say they will come."""
    log = tmp_path / "daphne.log"
    providers = {**INSTANT_PROVIDERS, "VOICE_BRAIN": "rules"}
    env = {"VOICE_REPROMPT_SECONDS": "30", "VOICE_INSTANT_TRANSCRIPT": "yes I'll be there", "TWILIO_AUTH_TOKEN": ""}
    with live_daphne(log, providers=providers, env=env) as base_url:
        yield base_url, log


@pytest.fixture
def customer_mic_wav(tmp_path) -> Path:
    """Quiet while the agent reads the appointment out, then the customer's answer, then quiet."""
    return _write_wav(tmp_path / "customer.wav", np.concatenate([_quiet(10.0), _caller_audio(), _quiet(60.0)]))


def test_a_reminder_call_rings_and_staff_answer_as_the_customer(
    chromium_available, reminder_server, customer_mic_wav, advisor, settings, monkeypatch
):
    """No Twilio: the dialer rings the softphone; Answer connects the media socket as the customer; the agent
    reads the appointment out, hears "yes I'll be there" and confirms; the ledger records it."""
    from playwright.sync_api import expect, sync_playwright

    from calls.telephony import dialer
    from scheduling import reminders
    from scheduling.models import Appointment, ReminderAttempt, ServiceType
    from scheduling.tasks import end_unanswered_ring

    base_url, log = reminder_server
    settings.TWILIO_AUTH_TOKEN = ""
    settings.REMINDER_CALL_WINDOW = "00:00-23:59"  # the test runs at any hour
    # No broker message for the ring's time-out (nobody consumes it here; the test answers well before).
    monkeypatch.setitem(end_unanswered_ring.app.conf, "task_always_eager", True)
    dana = Customer.objects.create(first_name="Dana", last_name="Reyes", phone="+13125550142")
    oil = ServiceType.objects.create(code="oil-change", name="Oil change", duration_minutes=30)
    start = timezone.now() + timedelta(hours=20)
    appointment = Appointment.objects.create(customer=dana, start=start, end=start + timedelta(minutes=30))
    appointment.service_types.set([oil])
    reminders.create_due_reminders()
    reminder = ReminderAttempt.objects.get()
    assert dialer.place_reminder_call(reminder.pk, sleep=lambda s: None).status == "placed"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_chromium_args(customer_mic_wav))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, base_url)
            ring = page.locator("#ring")
            expect(ring).to_be_visible()
            expect(page.locator("#ring-text")).to_contain_text(
                "Reminder call to Dana Reyes ((312) 555-0142) about the oil change appointment "
            )
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-ring.png")), full_page=True)
            page.click("#ring-answer")
            expect(ring).to_be_hidden()
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            agent = page.locator("#transcript .line.agent")
            expect(agent.first).to_contain_text("Hi Dana, this is")
            expect(agent.first).to_contain_text("calling about your oil change appointment")
            expect(agent.first).to_contain_text("Can you still make it?")
            caller_final = page.locator("#transcript .line.caller:not(.partial)")
            expect(caller_final.first).to_have_text("Calleryes I'll be there", timeout=30_000)
            expect(page.locator("#transcript")).to_contain_text("Great, you're confirmed.")
            page.screenshot(path=str(SCREENSHOT.with_name("softphone-reminder.png")), full_page=True)
            page.click("#hangup-button")
            expect(page.locator("#status")).to_have_attribute("data-state", "ended")
        finally:
            browser.close()

    assert errors == [], errors
    call = Call.objects.get()
    _wait_until_ended(call)
    assert call.ended_at is not None, log.read_text()[-3000:]
    assert (call.direction, call.transport, call.outcome) == ("outbound", "softphone", "confirmed")
    assert call.stream_sid.startswith("MZ") and call.reminder_id == reminder.pk
    appointment.refresh_from_db()
    reminder.refresh_from_db()
    assert appointment.status == "confirmed"
    assert (reminder.status, reminder.outcome, reminder.attempts) == ("done", "confirmed", 1)
