"""What a caller turns down while correcting us: "brakes, not an oil change", "10 instead of 9", "the Civic, not
the Accord".

A correction names the new value and, often, the old one beside it. Read whole, such a line names two services,
two times or two cars, and the rules would take the wrong one (the last time said, the car named first). This
module finds the words after "not", "instead of" and "rather than" (up to the end of that phrase), so the
understanding layer can keep what is left. The rules that use it act only when what is left still names a value
of the same kind: "it's not starting" names no service to turn down, and "not the Sonata" alone keeps nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calls.agent.understanding.text import normalize

_CUE = re.compile(r"\b(?:instead of|rather than|not)\s+", re.IGNORECASE)
# Words that begin the next part of the sentence: what was turned down ends before them.
_NEXT_PART = frozenset(
    "but i im id ill we were it its can could would make do lets please so and instead actually rather because cause "
    "thats is was if then just more maybe perhaps probably how what say try preferably ideally closer".split()
)
_MAX_WORDS = 5  # no car, service or time takes more words to name


@dataclass(frozen=True)
class TurnedDown:
    kept: str  # the caller's line without the alternatives turned down (and their cue words), as said
    dropped: tuple[str, ...]  # what was turned down, normalized

    @property
    def any(self) -> bool:
        return bool(self.dropped)


def turned_down(text: str) -> TurnedDown:
    """Split off what the caller turns down: "no, the Civic, not the Accord" -> kept "no, the Civic,",
    dropped ("the accord",)."""
    text = text or ""
    kept: list[str] = []
    dropped: list[str] = []
    last = 0
    for m in _CUE.finditer(text):
        if m.start() < last:
            continue
        # the phrase turned down runs to the next punctuation mark, or a word that starts the next part
        rest = re.split(r"[,.;!?]", text[m.end() :], maxsplit=1)[0]
        words: list[re.Match[str]] = []
        for word in re.finditer(r"\S+", rest):
            if normalize(word.group(0)) in _NEXT_PART or len(words) == _MAX_WORDS:
                break
            words.append(word)
        if not words:
            continue
        kept.append(text[last : m.start()])
        dropped.append(normalize(rest[: words[-1].end()]))
        last = m.end() + words[-1].end()
    if not dropped:
        return TurnedDown(kept=text, dropped=())
    kept.append(text[last:])
    return TurnedDown(kept=" ".join(" ".join(kept).split()), dropped=tuple(d for d in dropped if d))


def inside(said: str, dropped: tuple[str, ...]) -> bool:
    """Were these words (normalized) said inside one of the phrases turned down?"""
    return any(re.search(rf"(?<!\S){re.escape(said)}(?!\S)", d) for d in dropped)


# "I just had the oil done", "the oil was already done last month": work done already is no service asked for. Read
# clause by clause, so "I just had the oil done, can you rotate the tires" drops only the oil.
_CLAUSES = re.compile(r"[,.;!?]|\b(?:so|but|and|because|cause|since|now)\b", re.IGNORECASE)
_DONE = r"(?:had|got|did|done|changed|replaced|rotated|checked|serviced)"
_ALREADY_DONE = re.compile(
    rf"\b(?:just|already|recently) (?:been )?{_DONE}\b|"
    rf"\b{_DONE}\b.*\b(?:already|recently|last (?:week|month|year|time)|yesterday|ago)\b"
)


def already_done(text: str) -> tuple[str, ...]:
    """The clauses (normalized) that say work was done already: what they name is not asked for."""
    clauses = (normalize(c) for c in _CLAUSES.split(text or ""))
    return tuple(c for c in clauses if c and _ALREADY_DONE.search(c))
