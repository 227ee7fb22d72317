"""Understanding what a caller said, as the rule policy and the tools import it.

Days, times, numbers, intents, yes/no, services and choices come from calls.agent.understanding (Duckling and
the shop's own words); this module adds who the caller is and what they drive: names, postal codes, vehicles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from calls.agent.understanding import (  # noqa: F401 - the names the policy and the tools use
    HOLIDAYS,
    INTENTS,
    SERVICE_SYNONYMS,
    DatePref,
    RelativeMove,
    TimePref,
    Understanding,
    any_choice,
    any_time_of_the_offers,
    closure_days,
    detect_intent,
    intent_scores,
    match_services,
    named_day_phrases,
    named_hour,
    normalize,
    numerize,
    parse_appointment_ref,
    parse_date,
    parse_ordinal_choice,
    parse_phone,
    parse_time,
    parse_transport,
    person_asked_for,
    understand,
    wants_repeat,
    within,
    yes_no,
)
from calls.agent.understanding.corrections import turned_down
from crm.names import PARTICLES, split_name

# --- names, postal codes, vehicles ---------------------------------------------------------------

_NOT_NAME = {
    "a",
    "an",
    "the",
    "and",
    "or",
    "i",
    "im",
    "my",
    "its",
    "it",
    "is",
    "this",
    "that",
    "here",
    "just",
    "calling",
    "looking",
    "trying",
    "wanting",
    "wondering",
    "hoping",
    "interested",
    "not",
    "sure",
    "good",
    "fine",
    "great",
    "having",
    "going",
    "gonna",
    "about",
    "need",
    "want",
    "with",
    "from",
    "for",
    "to",
    "in",
    "on",
    "at",
    "of",
    "so",
    "well",
    "um",
    "uh",
    "umm",
    "uhh",
    "er",
    "hmm",
    "yes",
    "yeah",
    "yep",
    "no",
    "nope",
    "ok",
    "okay",
    "hi",
    "hello",
    "hey",
    "name",
    "names",
    "last",
    "first",
    "call",
    "me",
    "speaking",
    "be",
    "was",
    "am",
    "are",
    "have",
    "had",
    "do",
    "did",
    "can",
    "could",
    "would",
    "like",
    "book",
    "cancel",
    "appointment",
    "oil",
    "change",
    "car",
    "sorry",
    "thanks",
    "thank",
    "you",
    "please",
    "again",
    "what",
    "who",
    "customer",
    "new",
    "already",
    "still",
    "actually",
    "really",
    "also",
    "too",
    "then",
    "there",
    "they",
    "we",
    "our",
    "your",
    "he",
    "she",
    "him",
    "her",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "doctor",
    "spelled",
    "spell",
    "s",
    "by",
    "bye",
    "goodbye",
    "oh",
    "ah",
    "oops",
    "wanted",
    "asked",
    "meant",
    "mean",
    "know",
    "wait",
    "hold",
    "hang",
    "let",
    "check",
    "schedule",
    "whats",
    "called",
    "think",
    "ill",
    "id",
    "ive",
    "youre",
    "were",
    "theyre",
    "cant",
    "dont",
    "wont",
    "didnt",
}
_NAME_LEAD = re.compile(
    r"\b(my name is|my names|the name is|name is|names|this is|its|it is|im|i am|call me|"
    r"youre speaking (with|to)|you are speaking (with|to)|first name is|last name is|my name)\s+"
)


_NAME_FILLERS = {
    "um",
    "uh",
    "umm",
    "uhh",
    "er",
    "hmm",
    "yes",
    "yeah",
    "yep",
    "ok",
    "okay",
    "sure",
    "well",
    "so",
    "hi",
    "hello",
    "hey",
    "its",
    "it",
    "is",
    "my",
    "name",
    "names",
    "this",
    "the",
    "first",
    "last",
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "and",
    "oh",
    "ah",
    "sorry",
    "oops",
    "right",
}


def _name_words(tokens: list[str]) -> list[str]:
    """The name at the start of `tokens` (after fillers); stops at the first word that is no name."""
    words: list[str] = []
    letters: list[str] = []
    for tok in tokens:
        if len(tok) == 1 and tok.isalpha() and (letters or tok not in ("a", "i")):
            letters.append(tok)  # spelled out: "s m i t h"
            continue
        if letters:
            if len(letters) >= 2 and (not words or words[-1] != "".join(letters)):
                words.append("".join(letters))  # (a name spelled after it is said is the same name)
            letters = []
        if not words and tok in _NAME_FILLERS:
            continue
        if tok in _NOT_NAME or not tok.isalpha() or len(tok) < 2:
            break
        words.append(tok)
        if len([w for w in words if w not in PARTICLES]) == 3:  # ("Pieter van der Berg" is two names long)
            break
    if len(letters) >= 2 and (not words or words[-1] != "".join(letters)):
        words.append("".join(letters))
    return words


def parse_name(text: str, *, bare_ok: bool = False) -> tuple[str, str] | None:
    """(first, last) from "my name is john smith" / "it's john" / (bare_ok) "john smith". last may be "".

    Said in pieces ("oh sorry, you wanted my name. Jordan Reyes."), the piece with a whole name wins."""
    pieces = [p for p in re.split(r"[.,;!?]+", text or "") if p.strip()]
    found = [w for w in (_name_in(p, bare_ok=bare_ok) for p in [*(pieces if len(pieces) > 1 else []), text or ""]) if w]
    words = next((w for w in found if len(w) >= 2), found[0] if found else [])
    if not words:
        return None
    from calls.agent.introductions import never_a_name

    if never_a_name(words):
        return None  # "Camry", "my Silverado", "Thursday": said where a name was asked, still no name
    return split_name(_as_said(words, text or ""))


def name_as_said(name: tuple[str, str], text: str) -> tuple[str, str]:
    """A name read from normalised text, spelled again as the caller wrote it in `text` ("O'Neil", "Olsen-Smith")."""
    return split_name(_as_said(normalize(" ".join(name)).split(), text))


# A word of a name as written: letters, with apostrophes and hyphens inside ("O'Neil", "Mary-Kate").
_WRITTEN_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+(?:['’][^\W\d_]+)*)*")


def _as_said(keys: list[str], text: str) -> list[str]:
    """The name words `keys` (normalised: "mary", "kate", "oneil") as written in `text` ("Mary-Kate", "O'Neil"). A
    hyphenated word is taken whole, even past the words read ("Olsen" of "Olsen-Smith"); a word not found as
    written (spelled out: "s m i t h") stays as read."""
    written = [(w.replace("’", "'"), normalize(w).split()) for w in _WRITTEN_NAME_WORD.findall(text)]
    out: list[str] = []
    at = i = 0
    while i < len(keys):
        found = next(
            (j for j in range(at, len(written)) if keys[i] in (written[j][1][0], "".join(written[j][1]))), None
        )
        if found is None:
            out.append(keys[i])
            i += 1
            continue
        word, parts = written[found]
        if "".join(parts) == keys[i]:  # read with its hyphen dropped: "marykate"
            out.append(word)
            i, at = i + 1, found + 1
            continue
        matched = 0
        while matched < len(parts) and i < len(keys) and parts[matched] == keys[i]:
            matched += 1
            i += 1
        out.append(word if matched == len(parts) or i == len(keys) else " ".join(parts[:matched]))
        at = found + 1
    return out


# A caller searching for words ("it's, uh, what's it called, a Ford"): never part of a name, and "it's" before
# them introduces whatever they find, not a name.
_SEARCHING = re.compile(
    r"\b(whats (it|that|the word|his name|her name|its name|the thing) called|whats it|what do you call (it|that)|"
    r"let me (think|see)|how do you say|you know|i mean|hang on|hold on|one (sec|second))\b"
)


def _name_in(text: str, *, bare_ok: bool) -> list[str]:
    t = re.sub(r"\s+", " ", _SEARCHING.sub(" ", normalize(text))).strip()
    m = _NAME_LEAD.search(t)
    words = _name_words(t[m.end() :].split()) if m else []
    if not words and bare_ok:
        words = _name_words(t.split())
    return words


_TYPED_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_SPOKEN_SYMBOLS = {"dot": ".", "period": ".", "underscore": "_", "dash": "-", "hyphen": "-", "at": "@"}
_EMAIL_LEAD = re.compile(r"\b(?:e ?mail|email address|address)(?: address)?(?: is|s)?\b")
_TLDS = {"com", "net", "org", "edu", "gov", "us", "io", "co", "info", "biz", "me", "ca"}


def parse_email(text: str) -> str | None:
    """An email address said in the line: typed ("jo.r@mail.com") or spoken ("my email is jo dot r at gmail dot
    com"), checked as Django checks an EmailField. None when there is none, or it does not hold together."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    typed = _TYPED_EMAIL.search(text or "")
    if typed:
        found = typed.group(0).strip(".").lower()
    else:
        norm = normalize(text)
        lead = _EMAIL_LEAD.search(norm)
        toks = norm[lead.end() :].split() if lead else []
        while toks and toks[0] in ("me", "at", "is", "its", "it", "thats", "to"):
            toks = toks[1:]  # "email me at ...", "email, it's ..."
        if "at" not in toks or "dot" not in toks:
            return None
        out: list[str] = []
        for tok in toks:
            if out and out[-1] in _TLDS and "@" in "".join(out) and tok not in _SPOKEN_SYMBOLS:
                break  # "... dot com and I need an oil change": the address ended at its domain
            out.append(_SPOKEN_SYMBOLS.get(tok, tok))
        found = "".join(out)
    try:
        validate_email(found)
    except ValidationError:
        return None
    return found


def parse_postal_code(text: str) -> str | None:
    """US ZIP from digits or digit words ("six oh six oh one" -> "60601"); Canadian "M5V 2T6" as typed."""
    raw = (text or "").upper()
    ca = re.search(r"\b([A-Z]\d[A-Z])\s?(\d[A-Z]\d)\b", raw)
    if ca:
        return f"{ca.group(1)} {ca.group(2)}"
    digits = ""
    for tok in numerize(text).split():
        if tok.isdigit():
            digits += tok
        elif digits and tok not in ("dash", "hyphen"):
            if len(digits) >= 5:
                break
            digits = ""
    if len(digits) in (5, 9):
        return digits[:5]
    return None


@dataclass(frozen=True)
class VehicleMention:
    year: int | None = None
    make: str = ""
    model: str = ""

    @property
    def label(self) -> str:
        return " ".join(str(p) for p in (self.year, self.make, self.model) if p)


# Common passenger-car makes with the spoken forms callers use; models come from the vin package's vPIC subset.
MAKES: dict[str, tuple[str, ...]] = {
    "Acura": ("acura",),
    "Alfa Romeo": ("alfa romeo", "alfa"),
    "Audi": ("audi",),
    "BMW": ("bmw", "b m w", "beamer"),
    "Buick": ("buick",),
    "Cadillac": ("cadillac", "caddy"),
    "Chevrolet": ("chevrolet", "chevy"),
    "Chrysler": ("chrysler",),
    "Dodge": ("dodge",),
    "Fiat": ("fiat",),
    "Ford": ("ford",),
    "Genesis": ("genesis",),
    "GMC": ("gmc", "g m c"),
    "Honda": ("honda",),
    "Hyundai": ("hyundai", "hundai", "hyundia"),
    "Infiniti": ("infiniti", "infinity"),
    "Jaguar": ("jaguar",),
    "Jeep": ("jeep",),
    "Kia": ("kia",),
    "Land Rover": ("land rover", "range rover"),
    "Lexus": ("lexus",),
    "Lincoln": ("lincoln",),
    "Mazda": ("mazda",),
    "Mercedes-Benz": ("mercedes benz", "mercedes", "benz"),
    "MINI": ("mini",),  # (vPIC's spelling; "Mini Cooper" is the MINI Cooper)
    "Mitsubishi": ("mitsubishi",),
    "Nissan": ("nissan",),
    "Polestar": ("polestar",),
    "Porsche": ("porsche",),
    "Ram": ("ram",),
    "Rivian": ("rivian",),
    "Subaru": ("subaru",),
    "Tesla": ("tesla",),
    "Toyota": ("toyota",),
    "Volkswagen": ("volkswagen", "volkswagon", "vw", "v w"),
    "Volvo": ("volvo",),
    "Pontiac": ("pontiac",),
    "Saturn": ("saturn",),
    "Mercury": ("mercury",),
    "Hummer": ("hummer",),
    "Saab": ("saab",),
    "Suzuki": ("suzuki",),
    "Scion": ("scion",),
}
_MAKE_ALIASES = sorted(
    ((alias, make) for make, aliases in MAKES.items() for alias in aliases), key=lambda p: -len(p[0])
)


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=64)
def models_for_make(make: str) -> dict[str, str]:
    """{compact key: model name} for a make, from the vin package's vPIC snapshot (empty if unreadable)."""
    import sqlite3
    from contextlib import closing

    from vin.database import DATABASE_PATH

    # Our own short-lived read-only connection: the package's shared one is not ours to use across threads.
    try:
        with closing(sqlite3.connect(f"file:{DATABASE_PATH}?immutable=1", uri=True)) as conn:
            rows = conn.execute(
                "SELECT m.name FROM model m JOIN make_model mm ON mm.model_id = m.id JOIN make k ON k.id = mm.make_id "
                "WHERE k.name = ? COLLATE NOCASE",
                (make,),
            ).fetchall()
    except sqlite3.Error:
        rows = []
    models: dict[str, str] = {}
    for (name,) in rows:
        key = _key(name)
        if key and not key.isdigit() and key not in models:
            models[key] = name
    if make == "Land Rover":
        models.setdefault("rangerover", "Range Rover")
    return models


@lru_cache(maxsize=1)
def _model_index() -> dict[str, str]:
    """{model key: make} for models that belong to exactly one of the common makes ("civic" -> Honda)."""
    seen: dict[str, set[str]] = {}
    for make in MAKES:
        for key in models_for_make(make):
            seen.setdefault(key, set()).add(make)
    return {key: next(iter(makes)) for key, makes in seen.items() if len(makes) == 1 and len(key) >= 3}


def _match_model(make: str, tokens: list[str]) -> tuple[str, int]:
    models = models_for_make(make)
    for n in (3, 2, 1):
        if len(tokens) >= n:
            key = _key("".join(tokens[:n]))
            if key in models:
                return models[key], n
    return "", 0


def _short_year(before: list[str], max_year: int) -> int | None:
    """A model year said short just before the make: "an '09 Ford" (09), "an oh nine Ford" (0 9), "a 98 Civic"."""
    if len(before) >= 2 and before[-2] in ("0", "oh", "o") and re.fullmatch(r"\d", before[-1]):
        return 2000 + int(before[-1])
    if before and re.fullmatch(r"\d\d", before[-1]):
        value = int(before[-1])
        year = 2000 + value if 2000 + value <= max_year else 1900 + value
        return year if year >= 1950 else None
    return None


def model_year(text: str, *, now: datetime | None = None) -> int | None:
    """A model year said on its own ("uh I think 2015", "twenty fifteen")."""
    max_year = (now or datetime.now()).year + 1
    years = [y for y in _spoken_years(numerize(text)) if 1950 <= y <= max_year]
    return years[0] if len(years) == 1 else None


# Said between two years, these make the second one the year meant: "2017, no wait, 2016", "2017, I mean 2016".
_SELF_CORRECTION = re.compile(
    r"\b(no|wait|sorry|actually|i mean|i meant|correction|scratch that|make (it|that)|oops)\b"
)


def _with_designation(model: str, after: list[str]) -> str:
    """ "RX 350", "ES 300h": a letter model (as vPIC spells it, upper case) keeps the number said after it."""
    if model and model.isupper() and model.isalpha() and after and re.fullmatch(r"\d{2,3}[a-z]{0,2}", after[0]):
        return f"{model} {after[0]}"
    return model


_MODEL_LEAD = {"the", "a", "an", "uh", "um", "umm", "its", "it", "is", "like"}


def parse_vehicle(text: str, *, bare_ok: bool = False, now: datetime | None = None) -> VehicleMention | None:
    """Year, make and model from "a 2018 honda civic" / "twenty eighteen honda civic" / (bare_ok) "2018 civic"."""
    s = numerize(turned_down(text).kept)  # ("a 2016, not a 2017": the year turned down is no year of theirs)
    max_year = (now or datetime.now()).year + 1
    years = [
        (m, value)
        for m in re.finditer(r"\b(19[5-9]\d|20\d\d)\b|\b(19|20) (\d{2})\b", s)
        if 1950 <= (value := int(m.group(1)) if m.group(1) else int(m.group(2)) * 100 + int(m.group(3))) <= max_year
    ]
    year = None
    if years:
        # "a 2017 Pilot, no wait, sorry, it's a 2016": a year said again after a correction is the year
        corrected = len(years) > 1 and _SELF_CORRECTION.search(s[years[0][0].end() : years[-1][0].start()])
        year = years[-1][1] if corrected else years[0][1]
        for m, _value in reversed(years):
            s = s[: m.start()] + " " + s[m.end() :]
    tokens = s.split()
    make = model = ""
    for i in range(len(tokens)):
        for alias, canonical in _MAKE_ALIASES:
            n = len(alias.split())
            if tokens[i : i + n] == alias.split():
                make = canonical
                rest = tokens[i + n :]
                while rest and rest[0].strip(",.") in _MODEL_LEAD:  # "a Ford, the Focus", "Ford, uh, Focus"
                    rest = rest[1:]
                if alias == "range rover":
                    model = "Range Rover"
                else:
                    model, used = _match_model(make, rest[:3])
                    model = _with_designation(model, rest[used:])
                if not model and rest and rest[0].isalnum() and rest[0] not in _NOT_NAME:
                    model = rest[0].upper() if len(rest[0]) <= 3 else rest[0].capitalize()
                if year is None:
                    year = _short_year(tokens[:i], max_year)
                break
        if make:
            break
    if not make and (bare_ok or year):
        index = _model_index()
        for i in range(len(tokens)):
            for n in (3, 2, 1):
                key = _key("".join(tokens[i : i + n]))
                if len(tokens) >= i + n and key in index:
                    make = index[key]
                    model = _with_designation(models_for_make(make)[key], tokens[i + n :])
                    if year is None:
                        year = _short_year(tokens[:i], max_year)  # "an '09 Civic"
                    break
            if make:
                break
    if not (make or model):
        return None
    return VehicleMention(year=year, make=make, model=model)


# Words of model names too common to pick a car by on their own ("grand" in "that'd be grand").
_WEAK_MODEL_WORDS = _NOT_NAME | {
    "model",
    "series",
    "class",
    "grand",
    "sport",
    "limited",
    "touring",
    "base",
    "new",
    "old",
    "car",
    "truck",
    "van",
    "suv",
    "one",
    "two",
    "plus",
    "hybrid",
    "coupe",
    "sedan",
    "wagon",
    "super",
    "duty",
    "cab",
    "crew",
}


def _spoken_years(s: str) -> set[int]:
    """Model years in numerized text: "2019", "20 19", "19 99", "20 0 3", "oh 3" / "03" (2003)."""
    years = {int(y) for y in re.findall(r"\b(19[5-9]\d|20\d\d)\b", s)}
    years |= {int(a) * 100 + int(b) for a, b in re.findall(r"\b(19|20) (\d{2})\b", s)}
    # "oh three" is a year, "nine oh five" (9 0 5) and "9:05" are times
    years |= {2000 + int(d) for d in re.findall(r"(?:\b20 0|(?<!\d )\b(?:oh|o|0)) (\d)\b", s)}
    years |= {2000 + int(d) for d in re.findall(r"(?<![\d:])\b0(\d)\b", s)}
    return years


def pick_vehicle(text: str, vehicles: list[dict]) -> int | None:
    """Which of the caller's vehicles ({year, make, model}) the text names: "the jeep", "my 2019", "the accord".

    Each vehicle scores for its year, make (or a spoken alias: "chevy") and model (whole: "grand cherokee",
    "rav 4", or a distinctive word: "cherokee"); the single best scorer wins. None when nothing is named or
    two vehicles fit equally ("the honda" with two Hondas).
    """
    s = numerize(text)
    # "the Tacoma's due": a possessive names the car as well ("tacomas" once the apostrophe is gone)
    said = [s.split(), [t[:-1] if len(t) > 3 and t.endswith("s") and not t.endswith("ss") else t for t in s.split()]]
    tokens = list(dict.fromkeys(said[0] + said[1]))
    padded = f" {' '.join(said[0])} {' '.join(said[1])} "
    years = _spoken_years(s)
    grams = {_key("".join(toks[i : i + n])) for toks in said for n in (1, 2, 3, 4) for i in range(len(toks) - n + 1)}
    scores: list[int] = []
    for v in vehicles:
        score = 0
        if v.get("year") and v["year"] in years:
            score += 1
        make = (v.get("make") or "").strip()
        aliases = set(MAKES.get(next((m for m in MAKES if m.lower() == make.lower()), ""), ()))
        aliases |= {normalize(make)} - {""}
        if any(f" {a} " in padded for a in aliases):
            score += 1
        model = (v.get("model") or "").strip()
        if model and _key(model) in grams and not _key(model).isdigit():
            score += 2
        elif model and any(
            w in tokens
            for w in normalize(model).split()
            if len(w) >= 3 and w not in _WEAK_MODEL_WORDS and not w.isdigit()
        ):
            score += 1
        scores.append(score)
    best = max(scores, default=0)
    age = _AGE_WORDS.search(s)
    if age is not None:
        # "the old one", "my older Honda": the oldest (or newest) of the cars that fit what else was said
        fitting = [i for i, score in enumerate(scores) if score == best and vehicles[i].get("year")]
        by_year = sorted(fitting, key=lambda i: vehicles[i]["year"])
        if len(by_year) >= 2 and vehicles[by_year[0]]["year"] != vehicles[by_year[-1]]["year"]:
            return by_year[-1] if age.group(1) else by_year[0]
    if best == 0 and _TRUCK_WORDS & set(tokens):
        # "the truck": the one pickup among their cars (a Silverado beside a Civic), never a guess between two
        trucks = [i for i, v in enumerate(vehicles) if _key(v.get("model") or "") in _PICKUP_MODELS]
        return trucks[0] if len(trucks) == 1 else None
    if best == 0 or scores.count(best) != 1:
        return None
    return scores.index(best)


_TRUCK_WORDS = {"truck", "pickup"}
# Pickup trucks by model (as _key spells them): what a caller calls "the truck".
_PICKUP_MODELS = {
    "silverado",
    "silverado1500",
    "silverado2500",
    "sierra",
    "sierra1500",
    "colorado",
    "canyon",
    "f150",
    "f250",
    "f350",
    "ranger",
    "maverick",
    "ram",
    "ram1500",
    "ram2500",
    "1500",
    "tacoma",
    "tundra",
    "frontier",
    "titan",
    "ridgeline",
    "gladiator",
    "santacruz",
}


_AGE_WORDS = re.compile(
    r"\b(?:(newer|newest|(?:the|my) new (?:one|car|truck|suv|van))|older|oldest|"
    r"(?:the|my) old (?:one|car|truck|suv|van))\b"
)


# --- several cars in one request ---------------------------------------------------------------------------------

# Where one car's part of a request ends: "an oil change on the Civic | and a tire rotation on the Silverado".
# ("also" is no break: "the Jeep also needs a tire rotation")
_CAR_CLAUSE_BREAK = re.compile(r"\b(?:clausebreak|and|plus|then|as well as|but)\b")
# "both cars", "both of them", "all my cars", "each car": every car on the account.
_EVERY_CAR = re.compile(
    r"\b(?:both|all|each|every)(?: of)?(?: (?:my|the|our))? (?:cars|vehicles|trucks|them|ones|car|vehicle)\b|\bboth\b"
)


@dataclass(frozen=True)
class CarServices:
    """The services the caller wants for one of their cars (`vehicle`: an index into their vehicles), or, with
    `vehicle` None, services said beside two cars without saying which one they are for."""

    vehicle: int | None
    codes: tuple[str, ...]
    names: tuple[str, ...]


def services_by_car(text: str, vehicles: list[dict]) -> list[CarServices] | None:
    """Which service is for which car, when one request names two or more of the caller's cars: "an oil change on
    the Civic and a tire rotation on the Silverado", "oil change for my Honda and brakes for the truck", "both cars
    need an oil change", "an oil change for the Jeep and the Tacoma". None when fewer than two cars get a service.

    The request is read clause by clause; a clause's services go to the car it names; services said before any
    car wait for the next car named; a car named alone ("... and the Tacoma") takes the services of the car named
    just before it. Services left after the last car are returned with no car: which one they are for is asked,
    never guessed."""
    if len(vehicles) < 2:
        return None
    from calls.agent.understanding.services import find_services

    said = normalize(re.sub(r"[,;.!?]", " clausebreak ", text))
    matches = find_services(said)
    if not matches:
        return None
    cuts = [
        m for m in _CAR_CLAUSE_BREAK.finditer(said) if not any(x.start < m.end() and m.start() < x.end for x in matches)
    ]
    bounds = [0, *(p for m in cuts for p in (m.start(), m.end())), len(said)]
    by_car: dict[int, list] = {}
    waiting_services: list = []
    waiting_cars: list[int] = []
    last_services: list = []
    named: set[int] = set()

    def give(cars: list[int], services: list) -> None:
        for car in cars:
            have = by_car.setdefault(car, [])
            have.extend(s for s in services if s.service.code not in {h.service.code for h in have})

    for a, b in zip(bounds[::2], bounds[1::2], strict=True):
        piece = said[a:b]
        services = [m for m in matches if a <= m.start < b]
        if _EVERY_CAR.search(piece):
            cars = list(range(len(vehicles)))
            if not services and not waiting_services:
                # "... can I bring them both in Friday": every car comes, each with what it was given; only a car
                # given nothing yet takes the services said just before
                cars = [c for c in cars if c not in by_car]
                named.update(range(len(vehicles)))
        else:
            picked = pick_vehicle(piece, vehicles)
            cars = [] if picked is None else [picked]
        named.update(cars)
        if cars and (services or waiting_services):
            last_services = waiting_services + services
            give(waiting_cars + cars, last_services)
            waiting_services, waiting_cars = [], []
        elif cars and last_services:
            give(cars, last_services)  # "an oil change for the Jeep and the Tacoma"
        elif cars:
            waiting_cars.extend(cars)
        else:
            waiting_services.extend(services)
    if waiting_cars and waiting_services:
        give(waiting_cars, waiting_services)
        waiting_services = []
    out = [
        CarServices(car, tuple(m.service.code for m in found), tuple(m.service.name for m in found))
        for car, found in by_car.items()
        if found
    ]
    if len(out) < 2 and not (out and waiting_services and len(named) >= 2):
        return None  # one car: every service is for it
    if waiting_services:
        codes = tuple(m.service.code for m in waiting_services)
        out.append(CarServices(None, codes, tuple(m.service.name for m in waiting_services)))
    return out
