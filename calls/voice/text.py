"""Cutting agent text into speakable pieces."""

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
# Abbreviations whose period does not end a sentence.
_NO_BREAK = ("a.m.", "p.m.", "mr.", "mrs.", "ms.", "dr.", "st.", "no.", "approx.")


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    merged: list[str] = []
    for part in parts:
        if merged and merged[-1].lower().endswith(_NO_BREAK):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


class SentenceBuffer:
    """Collects streamed text (LLM tokens or whole sentences) and releases complete sentences."""

    def __init__(self):
        self._pending = ""

    def push(self, piece: str) -> list[str]:
        self._pending += piece
        sentences = split_sentences(self._pending)
        if len(sentences) <= 1:
            return []
        # Keep the held-back text's trailing space: the next piece may start a new word.
        tail = self._pending[len(self._pending.rstrip()) :]
        self._pending = sentences[-1] + tail
        return sentences[:-1]

    def ready(self) -> bool:
        """The held-back text is a whole sentence (it ends like one), so it could be spoken now."""
        return self._pending.rstrip().endswith((".", "!", "?")) and not self._pending.rstrip().lower().endswith(
            _NO_BREAK
        )

    def flush(self) -> list[str]:
        rest, self._pending = self._pending.strip(), ""
        return [rest] if rest else []


def cut_to_fraction(text: str, fraction: float) -> str:
    """The first `fraction` of `text`, on a word boundary (what a caller heard before barging in)."""
    if fraction >= 1:
        return text
    words = text.split()
    keep = int(len(words) * max(0.0, fraction))
    return " ".join(words[:keep])
