"""Caller text as the rules read it: normalised, and with numbers as digits.

The input is speech-recogniser text: lower case, little punctuation, numbers often spoken as words ("nine
thirty", "twenty eighteen", "six oh six oh one"). Duckling reads the number words; what is ours is how callers
say digit strings and clock times: "oh" is a zero between digits, an hour word followed by a minute word is a
clock time ("nine thirty" is 9:30, not nine hundred thirty), "one" after "that" or an ordinal is a pronoun.
"""

from __future__ import annotations

import re
from functools import lru_cache

from calls.agent.understanding import engine

HOUR_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50}
_ZERO = ("oh", "o", "zero")
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
# "the first one", "that one": "one" is a pronoun there, not a number.
ONE_PRONOUN_AFTER = {
    "that",
    "this",
    "which",
    "the",
    "a",
    "any",
    "other",
    "earlier",
    "later",
    "last",
    "each",
    "every",
    "no",
    "either",
    "earliest",
    "latest",
    "middle",
    "next",
    "same",
    "good",
    "best",
    "only",
    "old",
    "older",
    "new",
    "newer",
    "red",
    "white",
    "black",
    "blue",
    "silver",
    "gray",
    "grey",
    *ORDINAL_WORDS,
}
_TIME_LEADS = {
    "at",
    "around",
    "about",
    "by",
    "after",
    "before",
    "till",
    "until",
    "til",
    "from",
    "to",
    "and",
    "or",
    "like",
    "say",
    "maybe",
    "noon",
    "past",
    "half",
    "quarter",
}


def one_is_pronoun(before: list[str]) -> bool:
    """ "one" said after these words is a pronoun: "that one", "the first one", "the brake one", "my old one"."""
    if not before:
        return False
    if before[-1] in ONE_PRONOUN_AFTER:
        return True
    # "the brake one", "my Tacoma one": an article, then a word that is no number and leads no time
    return (
        len(before) >= 2
        and before[-2] in ("the", "that", "this", "my", "your")
        and before[-1].isalpha()
        and before[-1] not in _TIME_LEADS
        and not _is_number_word(before[-1])
    )


# An ordinal that is no number: "first thing", "the first available", "just a second".
_ORDINAL_NOT_NUMBER_BEFORE = {"thing", "available", "opening", "appointment", "time"}
_ORDINAL_NOT_NUMBER_AFTER = {"a", "one", "just"}


# "when's my appointment": glued together these read "whens", a word no rule knows. Only question words are
# opened up; "what's", "it's", "that's", "I'm", "don't", "can't" stay glued ("whats", "dont"): the rules spell them so.
_QUESTION_CONTRACTION = re.compile(r"\b(when|where|how|who|which|why)'(s|re|d|ll)\b")
_CONTRACTED = {"s": "is", "re": "are", "d": "did", "ll": "will"}


def expand_question_contractions(text: str) -> str:
    """Opens a question word's contraction: "when's" -> "when is", "where're" -> "where are"."""
    return _QUESTION_CONTRACTION.sub(lambda m: f"{m.group(1)} {_CONTRACTED[m.group(2)]}", text)


@lru_cache(maxsize=1024)
def normalize(text: str) -> str:
    """Lower case, spoken-style tokens: "It's 9:30 a.m.!" -> "its 9:30 am". Letters of any language are kept."""
    t = (text or "").lower().replace("’", "'")
    t = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", t)
    t = re.sub(r"\b([ap]) m\b", r"\1m", t)
    t = re.sub(r"(\d)\s*([ap])m\b", r"\1 \2m", t)
    t = re.sub(r"\bo\s?'?\s?clock\b", "oclock", t)
    # "ten's fine", "3's good": a number's "'s" is "is", not a plural ("tens")
    t = re.sub(r"\b(" + "|".join(HOUR_WORDS) + r"|\d{1,2}(?::\d\d)?)'s\b", r"\1 is", t)
    t = expand_question_contractions(t)
    t = t.replace("'", "")
    t = re.sub(r"[^\w:/ ]+|_", " ", t)
    t = re.sub(r"(?<!\d):|:(?!\d)", " ", t)
    t = re.sub(r"(?<!\d)/|/(?!\d)", " ", t)
    return " ".join(t.split())


def _minute_at(toks: list[str], i: int) -> tuple[int, int] | None:
    """(minute, tokens used) of a spoken minute at toks[i]: "thirty", "forty five", "oh five", "fifteen", "05"."""
    if i >= len(toks):
        return None
    w = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) else ""
    if w in _ZERO and nxt in _UNITS:
        return _UNITS[nxt], 2
    if w in _TEENS and w not in ("eleven", "twelve"):
        return _TEENS[w], 1
    if w in _TENS:
        if nxt in _UNITS:
            return _TENS[w] + _UNITS[nxt], 2
        return _TENS[w], 1
    if re.fullmatch(r"[0-5]\d", w):
        return int(w), 1
    return None


_NUMBER_WORDS = {
    *_UNITS,
    *_TEENS,
    *_TENS,
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "zero",
    "hundred",
    "thousand",
    "million",
    "and",
}


def _is_number_word(tok: str) -> bool:
    return tok != "and" and (tok.isdigit() or tok in _NUMBER_WORDS or tok in _ZERO)


def spoken_clock_times(norm: str) -> str:
    """Clock times said as two numbers become H:MM: "nine thirty" -> "9:30", "ten oh five" -> "10:05",
    "9 45" -> "9:45". Longer digit runs (ZIP codes, "six oh six oh one") and model names ("f one fifty") stay."""
    toks = norm.split()
    out: list[str] = []
    i = 0
    while i < len(toks):
        w = toks[i]
        hour = HOUR_WORDS.get(w) or (int(w) if re.fullmatch(r"\d{1,2}", w) and 1 <= int(w) <= 12 else None)
        prev = toks[i - 1] if i else ""
        minute = _minute_at(toks, i + 1) if hour else None
        if hour and minute and not _is_number_word(prev) and not (len(prev) == 1 and prev.isalpha()):
            after = i + 1 + minute[1]
            if after >= len(toks) or not _is_number_word(toks[after]):
                out.append(f"{hour}:{minute[0]:02d}")
                i = after
                continue
        out.append(w)
        i += 1
    return " ".join(out)


def numerize(text: str) -> str:
    """Normalized text with numbers as digits ("at nine thirty" -> "at 9 30", "the twenty first" -> "the 21th").

    Duckling reads the numbers and ordinals; ordinals come out as "<n>th", digit strings keep one token per
    spoken digit ("six oh six oh one" -> "6 0 6 0 1").
    """
    norm = normalize(text)
    if not norm:
        return ""
    toks = norm.split()
    # Work token by token: Duckling's character spans are mapped onto whole tokens.
    starts, pos = [], 0
    for tok in toks:
        starts.append(pos)
        pos += len(tok) + 1
    by_start = {s: i for i, s in enumerate(starts)}
    replaced: dict[int, tuple[int, list[str]]] = {}  # first token -> (tokens used, replacement)
    for e in engine.parse(norm, dims=("number", "ordinal")):
        first = by_start.get(e.start)
        if first is None or first in replaced:
            continue
        n = len(e.text.split())
        if any(first <= k < first + n for f, (m, _) in replaced.items() for k in range(f, f + m)):
            continue
        words = toks[first : first + n]
        if any(":" in w or "/" in w for w in words):
            continue  # part of a clock time or a date as written
        if e.dim == "number" and not all(w.isdigit() or w in _NUMBER_WORDS for w in words):
            continue  # "cr" is a crore to Duckling, "a couple" two: not what a caller spells out
        if all(w.isdigit() for w in words):
            continue  # digits stay as written ("0142" keeps its zero)
        value = e.value.get("value")
        if not isinstance(value, (int, float)) or value != int(value):
            continue
        value = int(value)
        prev = toks[first - 1] if first else ""
        nxt = toks[first + n] if first + n < len(toks) else ""
        if e.dim == "ordinal":
            if (
                n == 1
                and words[0] in ORDINAL_WORDS
                and (
                    nxt in _ORDINAL_NOT_NUMBER_BEFORE
                    or prev in _ORDINAL_NOT_NUMBER_AFTER
                    or (words[0] == "second" and _is_number_word(prev))
                )
            ):
                continue
            replaced[first] = (n, [f"{value}th"])
            continue
        if words[0] == "one" and one_is_pronoun(toks[:first]):
            if n == 1:
                continue
        clock = spoken_clock_times(" ".join(words))
        if re.fullmatch(r"\d{1,2}:\d\d", clock):
            replaced[first] = (n, clock.split(":"))  # "nine thirty" -> 9 30, not 930
            continue
        replaced[first] = (n, [str(value)])
    out: list[str] = []
    i = 0
    while i < len(toks):
        if i in replaced:
            n, parts = replaced[i]
            out.extend(str(int(p)) if p.isdigit() else p for p in parts)
            i += n
            continue
        tok = toks[i]
        m = re.fullmatch(r"(\d+)(st|nd|rd|th)", tok)
        if m:
            out.append(f"{int(m.group(1))}th")
        elif (
            tok in _ZERO
            and out
            and out[-1].isdigit()
            and i + 1 < len(toks)
            and (i + 1 in replaced or toks[i + 1].isdigit())
        ):
            out.append("0")  # "six oh six": a zero between digits
        else:
            out.append(tok)
        i += 1
    return " ".join(out)
