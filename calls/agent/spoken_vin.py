"""A VIN read out by a caller: "1HGCM82633A004352" typed, or "one h g c m eight two ..." as a recogniser hears it.

VINs never contain I, O or Q (49 CFR 565), so a spoken "oh" is a zero and a lone "i" a one.
"""

from __future__ import annotations

import re

from crm.vin import compute_check_digit

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
# The radio alphabet, which callers use to spell a VIN clearly.
_RADIO = {
    "alpha": "A",
    "alfa": "A",
    "bravo": "B",
    "charlie": "C",
    "delta": "D",
    "echo": "E",
    "foxtrot": "F",
    "golf": "G",
    "hotel": "H",
    "juliet": "J",
    "juliett": "J",
    "kilo": "K",
    "lima": "L",
    "mike": "M",
    "november": "N",
    "papa": "P",
    "romeo": "R",
    "sierra": "S",
    "tango": "T",
    "uniform": "U",
    "victor": "V",
    "whiskey": "W",
    "xray": "X",
    "yankee": "Y",
    "zulu": "Z",
}
_LETTER_NAMES = {
    "ay": "A",
    "bee": "B",
    "see": "C",
    "cee": "C",
    "dee": "D",
    "ee": "E",
    "ef": "F",
    "gee": "G",
    "aitch": "H",
    "jay": "J",
    "kay": "K",
    "el": "L",
    "em": "M",
    "en": "N",
    "pee": "P",
    "ar": "R",
    "ess": "S",
    "tee": "T",
    "you": "U",
    "vee": "V",
    "ex": "X",
    "why": "Y",
    "zee": "Z",
    "zed": "Z",
}
_VIN_CHARS = re.compile(r"^[A-HJ-NPR-Z0-9]+$")
VIN_LENGTH = 17


def _token_chars(token: str) -> str | None:
    """What one spoken or typed token contributes to a VIN, or None when it cannot be part of one."""
    t = token.lower()
    if t in _DIGIT_WORDS:
        return _DIGIT_WORDS[t]
    if t in _RADIO:
        return _RADIO[t]
    if t in _LETTER_NAMES:
        return _LETTER_NAMES[t]
    if t == "i":
        return "1"
    up = token.upper().replace("O", "0").replace("I", "1").replace("Q", "0")
    if _VIN_CHARS.match(up) and (len(up) == 1 or any(ch.isdigit() for ch in token)):
        return up
    return None


def find_vin(text: str) -> str | None:
    """The 17 characters of a VIN in the caller's line, or None. Words around it ("my vin is ...") are ignored;
    the first run of VIN-like tokens that makes exactly 17 characters wins."""
    tokens = re.findall(r"[A-Za-z0-9]+", text.replace("'", "").replace("’", "").replace("-", " "))
    runs: list[str] = []
    current = ""
    for token in tokens:
        chars = _token_chars(token)
        if chars is None:
            if current:
                runs.append(current)
            current = ""
            continue
        current += chars
    if current:
        runs.append(current)
    for run in runs:
        if len(run) == VIN_LENGTH:
            return run
        if len(run) > VIN_LENGTH:
            # Filler letters around the VIN proper ("a", "i"): the window whose check digit holds is the VIN.
            for start in reversed(range(len(run) - VIN_LENGTH + 1)):  # filler is likelier before than after
                window = run[start : start + VIN_LENGTH]
                if compute_check_digit(window) == window[8]:
                    return window
    return None


def looks_like_vin_attempt(text: str) -> bool:
    """The caller is reading out a VIN (or said the word), even if we did not get all 17 characters."""
    if re.search(r"\b(vin|v i n|vehicle identification)\b", text.lower()):
        return True
    run = max((len(r) for r in re.findall(r"[A-HJ-NPR-Za-hj-npr-z0-9]{8,}", text)), default=0)
    return run >= 8 and any(ch.isdigit() for ch in text)
