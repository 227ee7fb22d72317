"""People's names as a caller says them: which words are the first name and which the last, and how each is written.

A speech recogniser writes names in lower case ("o neil", "mcdonald"); typed text (the simulator, a transcript
corrected by hand) keeps the caller's own spelling ("McDonald", "DeShawn", "Olsen-Smith"). The caller's spelling
wins whenever it says more than plain lower or upper case does.
"""

from __future__ import annotations

import re

# Words that lead a family name: "Pieter van der Berg" is Pieter, of the family "van der Berg".
PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "des", "la", "le", "st", "ter", "ten", "dos"}
)


def _capitalised(part: str) -> str:
    """ "oneil" -> "Oneil", "o'neil" -> "O'Neil", "mcdonald" -> "McDonald" (Mc always leads a capital; Mac does
    not: Macy, Mack)."""
    part = part.lower()
    pieces = re.split(r"(['’])", part)
    out = "".join(p[:1].upper() + p[1:] for p in pieces)
    if len(out) > 3 and out.startswith("Mc"):
        out = "Mc" + out[2].upper() + out[3:]
    return out


def tidy_name_word(word: str, *, inside: bool = False) -> str:
    """One word of a name as it should be written: the caller's own mixed case kept ("McDonald", "DeShawn"); all
    lower or all upper case capitalised part by part ("mary-kate" -> "Mary-Kate"). A particle inside a name
    (`inside`) said in lower case stays lower ("van")."""
    if not word:
        return word
    letters = [c for c in word if c.isalpha()]
    mixed = any(c.isupper() for c in letters[1:]) and any(c.islower() for c in letters)
    if mixed:
        return word
    if inside and word.lower() in PARTICLES and word == word.lower():
        return word
    return "-".join(_capitalised(part) for part in word.split("-"))


def split_name(words: list[str]) -> tuple[str, str]:
    """(first, last) of a name said as words: the last name is the last word with the particles just before it
    ("Pieter van der Berg" -> Pieter / van der Berg); the words before it are the first name ("Mary Ann")."""
    words = [w for w in words if w]
    if not words:
        return ("", "")
    if len(words) == 1:
        return (tidy_name_word(words[0]), "")
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in PARTICLES:
        start -= 1
    first = " ".join(tidy_name_word(w) for w in words[:start])
    last = " ".join(tidy_name_word(w, inside=i < len(words) - start - 1) for i, w in enumerate(words[start:]))
    return (first, last)
