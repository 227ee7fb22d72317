"""`--audio`: each caller line spoken by eSpeak NG, carried as µ-law 8 kHz, recognised by pocketsphinx.

The line is first written the way it is said aloud ("10:15" -> "ten fifteen", a VIN letter by letter), so the
synthesiser and the word error rate both work from exactly what was spoken. The providers are used through
their stream interfaces, as CallSession uses them: one recognition stream per call, audio in 20 ms frames,
`finalize()` when the caller stops. No VAD or barge-in here: this measures hearing, not turn-taking.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from calls.voice import vocabulary
from calls.voice.audio import FRAME_BYTES, ULAW_SILENCE_BYTE, iter_frames
from calls.voice.providers.base import Transcript

TRAILING_SILENCE_MS = 300  # what a caller leaves before the turn is finalised
FINAL_TIMEOUT_S = 30.0

_DIGITS = "zero one two three four five six seven eight nine".split()


def _year(n: int) -> str:
    if 2000 <= n <= 2009:
        return "two thousand" + ("" if n == 2000 else " " + vocabulary.number_words(n - 2000))
    hundreds, rest = divmod(n, 100)
    tail = "hundred" if rest == 0 else (f"oh {_DIGITS[rest]}" if rest < 10 else vocabulary.number_words(rest))
    return f"{vocabulary.number_words(hundreds)} {tail}"


def _clock(hour: int, minute: int, suffix: str) -> str:
    words = vocabulary.number_words(hour % 24 if hour <= 12 else hour - 12)
    if minute:
        words += f" oh {_DIGITS[minute]}" if minute < 10 else f" {vocabulary.number_words(minute)}"
    elif not suffix:
        words += " o'clock"
    return f"{words} {suffix}".strip()


def _token(token: str) -> str:
    lower = token.lower()
    if m := re.fullmatch(r"(\d{1,2}):(\d\d)([ap]\.?m\.?)?", lower):
        suffix = (m.group(3) or "").replace(".", "")
        return _clock(int(m.group(1)), int(m.group(2)), f"{suffix[0]}.m." if suffix else "")
    if m := re.fullmatch(r"(\d{1,2})([ap])\.?m\.?", lower):
        return f"{vocabulary.number_words(int(m.group(1)))} {m.group(2)}.m."
    if m := re.fullmatch(r"(\d{1,2})(st|nd|rd|th)", lower):
        n = int(m.group(1))
        return vocabulary.ordinal_words(n) if 1 <= n <= 31 else vocabulary.number_words(n) + m.group(2)
    if re.fullmatch(r"(19[5-9]\d|20\d\d)s?", lower):
        return _year(int(lower[:4])) + ("s" if lower.endswith("s") else "")
    if re.fullmatch(r"\d{1,2}", lower):
        return vocabulary.number_words(int(lower))
    if re.fullmatch(r"\d+", lower):  # ZIP codes, phone numbers: digit by digit
        return " ".join(_DIGITS[int(d)] for d in lower)
    if re.fullmatch(r"[a-z0-9]{8,}", lower) and re.search(r"\d", lower) and re.search(r"[a-z]", lower):
        return " ".join(_DIGITS[int(ch)] if ch.isdigit() else ch for ch in lower)  # a VIN, spelt out
    return token


def spoken_form(line: str) -> str:
    """The line as a caller says it, in words the recogniser's dictionary spells."""
    text = line.replace("&", " and ").replace("$", " ").replace("’", "'")
    text = re.sub(r"(?<=\d)-(?=\d)", " ", text)
    tokens = re.findall(r"\d{1,2}:\d\d(?:\s?[ap]\.?m\.?)?|\d+(?:st|nd|rd|th|s)?\b|[\w'.]+|[^\w\s]", text, re.I)
    words = [_token(t.replace(" ", "")) for t in tokens]
    return vocabulary.normalize_text(" ".join(words))


@dataclass
class Heard:
    said: str  # the spoken form
    heard: str


@dataclass
class Hearing:
    """The synthesiser and recogniser shared by every call of a suite, and what they heard."""

    heard: list[Heard] = field(default_factory=list)

    def __post_init__(self) -> None:
        from calls.voice.providers.espeak import EspeakTTS
        from calls.voice.providers.sphinx import SphinxSTT

        self.tts = EspeakTTS()
        self.stt = SphinxSTT()

    def warm_up(self) -> None:
        self.tts.warm_up()
        self.stt.warm_up()

    async def open(self, hints: Iterable[str] = ()) -> CallEar:
        ear = CallEar(self)
        await ear.open(hints)
        return ear

    def word_error_rate(self) -> float | None:
        return word_error_rate([h.said for h in self.heard], [h.heard for h in self.heard])


class CallEar:
    """One call's recognition stream."""

    def __init__(self, hearing: Hearing):
        self.hearing = hearing
        self._finals: asyncio.Queue[str] = asyncio.Queue()
        self._segments: list[str] = []
        self._stream = None

    def _on_transcript(self, transcript: Transcript) -> None:
        if not transcript.is_final:
            return
        if transcript.text.strip():
            self._segments.append(transcript.text.strip())
        if transcript.speech_final:
            self._finals.put_nowait(" ".join(self._segments))
            self._segments = []

    async def open(self, hints: Iterable[str]) -> None:
        self._stream = self.hearing.stt.open_stream(on_transcript=self._on_transcript, hints=tuple(hints))
        await self._stream.start()

    def expect(self, brain, ctx) -> None:
        """Tell the recogniser what the agent's last question expects, before the caller answers it.

        The one place the per-question language model plugs in: `Brain.listening_hint(ctx)` says what was just
        asked, `STTStream.expect(hint)` switches the recogniser to the matching search. Until both exist this
        listens with the general domain model, as a call does today."""
        hint_of = getattr(brain, "listening_hint", None)
        expect = getattr(self._stream, "expect", None)
        if callable(hint_of) and callable(expect):
            expect(hint_of(ctx))

    async def hear(self, line: str, *, brain, ctx) -> Heard:
        """What the recogniser makes of the caller saying `line`."""
        said = spoken_form(line)
        self.expect(brain, ctx)
        audio = bytearray()
        async for chunk in self.hearing.tts.synthesize(said):
            audio += chunk
        audio += ULAW_SILENCE_BYTE * (TRAILING_SILENCE_MS * FRAME_BYTES // 20)
        for frame in iter_frames(bytes(audio)):
            self._stream.send_audio(frame)
        await asyncio.sleep(0)
        await self._stream.finalize()
        heard = Heard(said=said, heard=await asyncio.wait_for(self._finals.get(), FINAL_TIMEOUT_S))
        self.hearing.heard.append(heard)
        return heard

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()


def word_error_rate(said: list[str], heard: list[str]) -> float | None:
    """Word edits (substitutions + deletions + insertions) over the words said, across all lines."""
    import jiwer

    pairs = [(vocabulary.normalize_text(s), vocabulary.normalize_text(h)) for s, h in zip(said, heard, strict=True)]
    pairs = [(s, h) for s, h in pairs if s]
    if not pairs:
        return None
    out = jiwer.process_words([s for s, _ in pairs], [h for _, h in pairs])
    return out.wer
