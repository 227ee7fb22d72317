"""Whether a caller line says who is calling, and what can never be a name.

"Hi, I'm Robert Johnson", "this is Robert Johnson calling", "my name's Robert": an introduction, taken whenever it
comes. "I'm due for an oil change", "I'm stranded": no name. A car ("Camry", "my Silverado", "Honda") or a day
("Thursday") said where a name was asked for is never taken as one.
"""

from __future__ import annotations

import re
from functools import lru_cache

from calls.agent import nlu

# Leads that say a name follows; "I'm ..." is said of many other things, so what follows it must look like a name.
_STRONG_LEAD = re.compile(r"\b(my name is|my names|the name is|this is|call me|(you are|youre) speaking (with|to))\s+")
_WEAK_LEAD = re.compile(
    r"(?:^|\b(?:hi|hello|hey|yes|yeah|oh|well|um|uh|and|so|morning|afternoon|there)\s+)"
    r"(im|i am|its|it is)\s+"
)
# "Linda Ramirez here", "good morning, Robert Johnson calling": the name first, at the start of what they say.
_GREETING = re.compile(
    r"^((hi|hello|hey|yes|yeah|oh|well|um|uh|good (morning|afternoon|evening)|morning|afternoon)"
    r"( there)?\s+)*"
)
_NAME_THEN = {"here", "calling", "speaking"}
# Words a name may be followed by in "I'm Robert Johnson calling about ...".
_AFTER_NAME = {
    "calling",
    "here",
    "speaking",
    "from",
    "and",
    "again",
    "with",
    "over",
    "by",
    "i",
    "im",
    "id",
    "ive",
    "ill",
    "at",
    "on",
    "returning",
    "just",
    "hi",
    "hello",
}
# Said after "I'm" far more often than a name is.
_NOT_AFTER_IM = {
    "due",
    "ready",
    "late",
    "early",
    "free",
    "done",
    "busy",
    "back",
    "home",
    "away",
    "out",
    "outside",
    "nearby",
    "close",
    "local",
    "stuck",
    "lost",
    "desperate",
    "worried",
    "concerned",
    "afraid",
    "glad",
    "happy",
    "curious",
    "supposed",
    "able",
    "unable",
    "available",
    "around",
    "almost",
    "pretty",
    "kind",
    "kinda",
    "sort",
    "probably",
    "definitely",
    "only",
    "getting",
    "calling",
    "trying",
    "looking",
    "hoping",
    "wondering",
    "thinking",
    "about",
    "over",
    "off",
    "up",
    "down",
    "in",
    "on",
    "at",
    "all",
    "very",
    "so",
    "too",
    "totally",
    "currently",
    "finally",
    "retired",
    "single",
    "married",
    "fine",
    "well",
    "ok",
    "alright",
    "right",
    "wrong",
    "confused",
    "sick",
    "tired",
    "driving",
    "heading",
    "leaving",
    "coming",
    "bringing",
    "planning",
    "having",
    "going",
    "gonna",
    "wanting",
}
_ORDINALS = {
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "last",
    "next",
    "one",
    "two",
    "three",
    "earliest",
    "later",
    "earlier",
    "latest",
    "either",
    "neither",
    "both",
    "none",
    "other",
    "another",
}
_DAY_WORDS = {
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "tonight",
    "morning",
    "afternoon",
    "evening",
    "noon",
    "weekend",
    "week",
    "month",
    "asap",
    "soon",
}
_IM_SUFFIXES = ("ing", "ed")  # "I'm stranded", "I'm overheating"


@lru_cache(maxsize=1)
def _car_words() -> frozenset[str]:
    """Makes (and the spoken forms of them) and model names, as single lowercase words."""
    words = {alias for aliases in nlu.MAKES.values() for alias in aliases if " " not in alias}
    for make in nlu.MAKES:
        words |= {key for key in nlu.models_for_make(make) if key.isalpha() and len(key) >= 3}
    return frozenset(words)


def is_car_word(word: str) -> bool:
    return nlu.normalize(word).replace(" ", "") in _car_words()


def never_a_name(words: list[str]) -> bool:
    """A car ("camry", "honda civic") or a day ("thursday") said for a name: every word of it is one."""
    keys = [nlu.normalize(w) for w in words if w]
    return bool(keys) and (all(k in _car_words() for k in keys) or any(k in _DAY_WORDS or k in _ORDINALS for k in keys))


def introduced_name(text: str) -> tuple[str, str] | None:
    """(first, last) when the line introduces the caller, anywhere in it; last may be "" ("my name's Robert"),
    spelled as the caller wrote it ("O'Neil", "Olsen-Smith")."""
    # (a hyphen inside a name joins its parts while it is read: "Mary-Kate Olsen-Smith" is two names, not four)
    name = _introduced(_HYPHEN_IN_WORD.sub("", text or ""))
    return nlu.name_as_said(name, text) if name is not None else None


_HYPHEN_IN_WORD = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")


def _introduced(text: str) -> tuple[str, str] | None:
    raw_words = re.findall(r"[A-Za-z][A-Za-z'’-]*", text or "")
    # Typed or well-recognised text capitalises names: then a lowercase word after "I'm" is no name.
    cased = any(w[0].isupper() for w in raw_words[1:] if w.split("'")[0].split("’")[0] != "I")
    for clause in re.split(r"[.,;!?]+", text or ""):
        norm = nlu.normalize(clause)
        greeting = _GREETING.match(norm)
        bare = norm[greeting.end() if greeting else 0 :].split()
        name = nlu.parse_name(" ".join(bare), bare_ok=True) if bare else None
        said_words = len(nlu.normalize(" ".join(name)).split()) if name is not None else 0
        if name is not None and name[1] and bare[said_words:][:1] in ([w] for w in _NAME_THEN):
            return name
        strong = _STRONG_LEAD.search(norm)
        if strong is not None:
            name = nlu.parse_name(norm[strong.end() :], bare_ok=True)
            if name is not None:
                return name
            continue
        weak = _WEAK_LEAD.search(norm)
        if weak is None:
            continue
        rest = norm[weak.end() :].split()
        name = nlu.parse_name(" ".join(rest), bare_ok=True)
        if name is None:
            continue
        said = nlu.normalize(" ".join(name)).split()
        after = rest[len(said) : len(said) + 1]
        first = said[0]
        if (
            rest[: len(said)] != said
            or (after and after[0] not in _AFTER_NAME)
            or first in _NOT_AFTER_IM
            or (len(first) >= 6 and first.endswith(_IM_SUFFIXES))
        ):
            continue
        if weak.group(1) in ("its", "it is") and not name[1]:
            continue  # "it's overheating": after "it's" only a whole name is taken as one
        if cased and not all(any(nlu.normalize(w) == s and w[0].isupper() for w in raw_words) for s in said):
            continue
        return name
    return None


def answers_with_a_name(text: str, name: tuple[str, str], *, about_the_car: bool) -> bool:
    """The line read as `name` gives a name, where we asked for one: "Ray Donovan", "it's Ray, and I drive a Focus".
    Not a line about something else that only begins like one: "it's kind of squealing when I start it" (a word
    said after "I'm" or "it's" far more often than a name is, or the car's trouble, running on after the "name")."""
    norm = nlu.normalize(text)
    if _STRONG_LEAD.search(norm):
        return True
    said = nlu.normalize(" ".join(name)).split()
    toks = norm.split()
    at = next((i for i in range(len(toks)) if toks[i : i + len(said)] == said), None)
    if at is None:
        return True  # spelled out ("s m i t h"): no sentence runs on from letters
    after = toks[at + len(said) : at + len(said) + 1]
    if not after or after[0] in _AFTER_NAME:
        return True
    if re.search(rf"{re.escape(name[1] or name[0])}\s*[,.;!?]", text, re.IGNORECASE):
        return True  # "Ray, it squeals": the name ends where they paused
    return not (about_the_car or said[0] in _NOT_AFTER_IM)


# A caller putting their name right: "no no, it's Katherine with a K", "it's spelled Jon", "actually it's Smyth".
_NAME_FIX = re.compile(
    r"\b(no|nope|not|actually|sorry|spelled|spelt|spelling|i said|with an? [a-z])\b|\b(its|thats) [a-z]+ not\b"
)
_SPELLED_WITH = re.compile(r"\bwith an? ([a-z])\b")


def corrected_name(text: str, first: str, last: str) -> tuple[str, str] | None:
    """The caller's name as they put it right, when the line corrects the one we have (first, last): the part it
    sounds like (or starts with the letter they spell: "with a K") is replaced. None when the line corrects nothing."""
    from rapidfuzz import fuzz

    norm = nlu.normalize(text)
    if not _NAME_FIX.search(norm) or not first:
        return None
    name = nlu.parse_name(re.sub(r"\b(spelled|spelt)\b", ",", text, flags=re.IGNORECASE), bare_ok=True)
    if name is None:
        return None
    letter = _SPELLED_WITH.search(norm)

    def close(said: str, have: str) -> bool:
        said_key, have_key = nlu.normalize(said), nlu.normalize(have)
        if not said_key or not have_key or said_key == have_key:
            return False
        spelled = letter.group(1) if letter is not None else ""
        if spelled and (spelled not in said_key or (spelled in have_key and not said_key.startswith(spelled))):
            return False  # "with a K": Katherine for Catherine; "with a y": Smyth for Smith
        return fuzz.ratio(said_key, have_key) >= 60

    said_first, said_last = name
    if said_last and _STRONG_LEAD.search(norm):
        return (said_first, said_last) if (said_first, said_last) != (first, last) else None
    if said_last and (close(said_first, first) or close(said_last, last)):
        return (said_first if close(said_first, first) else first, said_last if close(said_last, last) else last)
    if not said_last and close(said_first, first):
        return (said_first, last)
    if not said_last and last and close(said_first, last):
        return (first, said_first)
    return None
