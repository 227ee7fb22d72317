"""Which of the shop's services a caller names, directly ("an oil change"), misheard ("break pads") or through a
symptom ("my brakes are squeaking").

The vocabulary is the shop's own: each active ServiceType's name, code and keywords, so a shop's service list
works without code changes. Matching is fuzzy (rapidfuzz), word by word: a slip in a long word is forgiven, a
short word ("oil", "tire") must be said as it is. Symptoms are rules mapping what callers describe onto words a shop's
keywords are likely to contain, then matched like anything the caller said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from calls.agent.understanding.symptoms import SYMPTOM_SYNONYMS
from calls.agent.understanding.text import normalize

# What callers say about symptoms -> words a shop's service keywords are likely to contain ("a|b": a, else b).
SERVICE_SYNONYMS: list[tuple[str, str]] = [
    (r"\b(brake|brakes|squeak\w*|squeal\w*|grinding|rotors?|pads|stopping)\b", "brakes"),
    (
        r"\b(check engine|engine light|warning light|dashboard light|diagnos\w*|runs rough|running rough|misfir\w*|"
        r"stalls|stalling)\b",
        "diagnostic",
    ),
    # noises other than the brakes' squeak, squeal and grind: somebody has to listen to it
    (
        r"\b(clunk|knock|rattl|thump|whin|tick|click|bang|whistl|hiss|hum|groan|moan|screech|roar|buzz|creak)\w*"
        r"( noise| sound)?\b|\b(strange|weird|funny|odd|loud|new|(?!squeak|squeal|grind)\w+ing) (noise|sound)s?\b|"
        r"\bmaking (a |some )?(\w+ )?noises?\b|\bsounds? (funny|weird|strange|off)\b",
        "strange noise|diagnostic",
    ),
    (r"\b(oil|lube|synthetic)\b", "oil change"),
    (
        r"\b(rotat\w* (the |my |your |all )?(four |4 )?tires|tires?\b.{0,25}\brotat\w*|tire rotation|tyre rotation)\b",
        "tire rotation",
    ),
    (r"\b(flat tire|new tires|tire replacement|tires)\b", "tires"),
    (r"\b(alignment|pulls? to the (left|right)|pulling to the (left|right))\b", "alignment"),
    (r"\b(battery|wont start|doesnt start|dead)\b", "battery"),
    (r"\b(ac|a c|air conditioning|air conditioner|blowing (warm|hot) air)\b", "air conditioning"),
    (r"\b(inspection|inspected|inspect|emissions|smog)\b", "inspection"),
    (r"\b(transmission|shifting|slipping gears)\b", "transmission"),
    (
        r"\b(jerk|lurch|clunk|slam|slip|hesitat|bang)\w*\b.{0,30}\bshift\w*|\bshift\w*\b.{0,20}\b(hard|rough|jerk\w*|"
        r"funny|weird|late|slips?|slipping)\b|\b(hard|rough|delayed|harsh|late) shift\w*",
        "rough shifting|transmission",
    ),
    (
        r"\b(overheat\w*|running hot|runs hot|run hot|temp(erature)? (gauge|needle|light)|(needle|gauge)\b.{0,30}"
        r"\b(red|hot|climb\w*|creep\w*)|steam\w* (from|out of) the (hood|engine)|leak\w* coolant|coolant leak\w*)\b",
        "overheating|coolant|radiator",
    ),
    (
        r"\b(check(ed|ing)? (it |her |the car |my car |the truck |everything )?over|"
        r"look(ed|ing)? (it |her |the car |my car |everything )?over|once over|road ?trip|long (drive|trip)|"
        r"before (we|i) (go|leave|head out|hit the road)|"
        r"(general|overall|full|complete) (check|inspection)|check ?up)\b",
        "checkup|multipoint|multi point",
    ),
    (r"\b(tune up|tuneup|spark plugs?)\b", "tune-up"),
    (r"\b(recall)\b", "recall"),
]
_SYNONYM_RES = [(re.compile(p), canonical) for p, canonical in [*SERVICE_SYNONYMS, *SYMPTOM_SYNONYMS]]


# Two slips are forgiven only in words this long: in a 9- or 10-letter word two changed letters make another
# word as often as a mishearing ("streaking" is two letters from the brakes' "squeaking").
TWO_SLIPS_FROM = 11


def similar(heard: str, meant: str) -> bool:
    """One slip (a letter added, dropped, changed or swapped) in a word of 6 letters or more, two from 11 on;
    shorter words must be said as they are, plural aside ("tire" is not "time", "a change" not "oil change")."""
    if heard == meant or heard in (meant + "s", meant + "es") or meant in (heard + "s", heard + "es"):
        return True
    n = min(len(heard), len(meant))
    if n < 6:
        return False
    allowed = 1 if n < TWO_SLIPS_FROM else 2
    return OSA.distance(heard, meant, score_cutoff=allowed) <= allowed


def _fuzzy_equal(phrase: list[str], window: list[str]) -> bool:
    if len(phrase) == len(window):
        return all(similar(w, p) for w, p in zip(window, phrase, strict=True))
    # "airconditioning", "tune up" / "tuneup": the same letters split otherwise, one slip at most (a whole
    # extra word, "my oil change", is no slip)
    heard, meant = "".join(window), "".join(phrase)
    return heard == meant or (min(len(heard), len(meant)) >= 6 and OSA.distance(heard, meant, score_cutoff=1) <= 1)


@lru_cache(maxsize=2048)
def _phrase_re(phrase: str) -> re.Pattern:
    return re.compile(r"\b" + re.escape(phrase) + r"(?:e?s)?\b")


@lru_cache(maxsize=256)
def _owners_of(vocabulary: Vocabulary, words: str) -> frozenset[int]:
    """The services whose words a symptom's canonical words are (per vocabulary: the shop's list as it is)."""
    return frozenset(owner for _, _, owner in vocabulary.spans(words))


@dataclass(frozen=True)
class Vocabulary:
    phrases: tuple[str, ...]  # normalized service phrases
    owners: tuple[int, ...]  # index into the services list, per phrase

    # Worked out once per vocabulary, not per line (cached_property writes the instance dict: fine when frozen).
    @cached_property
    def _words(self) -> tuple[list[str], ...]:
        return tuple(p.split() for p in self.phrases)

    @cached_property
    def _squashed(self) -> list[str]:
        return [p.replace(" ", "") for p in self.phrases]

    @cached_property
    def _window_sizes(self) -> tuple[int, ...]:
        sizes = {len(words) for words in self._words}
        return tuple(sorted({k + d for k in sizes for d in (-1, 0, 1) if k + d >= 1}))

    def spans(self, said: str) -> list[tuple[int, int, int]]:
        """(start, end, owner) of every phrase found in normalized text, exact (plural allowed) or fuzzy."""
        toks = said.split()
        starts, pos = [], 0
        for tok in toks:
            starts.append(pos)
            pos += len(tok) + 1
        found: list[tuple[int, int, int]] = []
        for phrase, owner in zip(self.phrases, self.owners, strict=True):
            if phrase in said:  # (a substring test first: most phrases are not in a line)
                for m in _phrase_re(phrase).finditer(said):
                    found.append((m.start(), m.end(), owner))
        exact = list(found)
        # Fuzzy: windows of as many words as the phrase, or one more or less ("air conditioning" heard as
        # "airconditioning"); a cheap whole-string score picks the candidates, then each word is checked.
        windows = [(i, n) for n in self._window_sizes for i in range(len(toks) - n + 1)]
        if not windows:
            return found
        scores = process.cdist(
            self._squashed, ["".join(toks[i : i + n]) for i, n in windows], scorer=fuzz.ratio, score_cutoff=75
        )
        for row, col in zip(*scores.nonzero(), strict=True):
            first, n = windows[col]
            phrase = self._words[row]
            if abs(len(phrase) - n) <= 1 and _fuzzy_equal(phrase, toks[first : first + n]):
                last = first + n - 1
                a, b = starts[first], starts[last] + len(toks[last])
                # a slip is only a guess where nothing was said exactly ("my oil change" is "oil change")
                if not any(x < b and a < y for x, y, _ in exact):
                    found.append((a, b, self.owners[row]))
        return found


@dataclass(frozen=True)
class ServiceMatch:
    service: object  # scheduling.models.ServiceType
    start: int  # in the normalized text
    end: int
    said: str  # the caller's words for it


def _phrases_of(name: str, code: str, keywords: str) -> set[str]:
    out = {normalize(name), normalize(code.replace("-", " "))}
    out.update(normalize(k) for k in keywords.split(","))
    return {p for p in out if p}


@lru_cache(maxsize=8)
def _vocabulary(rows: tuple[tuple[str, str, str], ...]) -> Vocabulary:
    phrases, owners = [], []
    for owner, (name, code, keywords) in enumerate(rows):
        for phrase in sorted(_phrases_of(name, code, keywords)):
            phrases.append(phrase)
            owners.append(owner)
    return Vocabulary(tuple(phrases), tuple(owners))


def active_services() -> tuple[list, Vocabulary]:
    """The shop's active services and their compiled vocabulary (one query; see shop_words for the cache)."""
    from scheduling.models import ServiceType

    services = list(ServiceType.objects.filter(active=True).order_by("name", "pk"))
    return services, _vocabulary(tuple((s.name, s.code, s.keywords) for s in services))


_CHECK_WORDS = {"inspection", "check", "diagnostic", "diagnostics", "test"}
_GENERIC_NAME_WORDS = {"and", "the", "for", "with", "replacement", "repair", "service", "services", "change", "new"}


def _name_words(service) -> set[str]:
    return {w for w in normalize(service.name).split() if len(w) >= 3 and w not in _GENERIC_NAME_WORDS}


def _checks_of_named_work(said: str, services: list, found: dict[int, tuple[int, int]]) -> list[int]:
    """Services that only look at something (a brake inspection) when the caller also named the work on that same
    thing (brake pads): "my pads are worn, it's grinding" is a pad job, not an inspection and a pad job. A check
    whose own name the caller said ("a brake inspection and new pads") stays."""
    out = []
    for owner in found:
        words = _name_words(services[owner])
        if not words & _CHECK_WORDS or re.search(rf"\b{re.escape(normalize(services[owner].name))}\b", said):
            continue
        topic = words - _CHECK_WORDS
        if any(
            other != owner
            and topic & (_name_words(services[other]) - _CHECK_WORDS)
            and not _name_words(services[other]) & _CHECK_WORDS
            for other in found
        ):
            out.append(owner)
    return out


# A recogniser's spelling of the brakes: "my breaks", "a break job" ("a break" alone is a pause, not a car part).
_BRAKES_MISSPELT = re.compile(
    r"\bbreak(?=s\b)|\bbreak(?= (pads?|job|fluid|lines?|light|pedal|check|inspection|rotors?|service)\b)"
)


def _respelled(said: str) -> str:
    """Words spelled as the shop spells them, letter for letter as long (spans found here index the line as said)."""
    return _BRAKES_MISSPELT.sub("brake", said)


def find_services(text: str, services: list | None = None, vocabulary: Vocabulary | None = None) -> list[ServiceMatch]:
    """The services a caller names, in the order they said them; a phrase inside a longer one matched for
    another service ("tire" inside "tire rotation") does not count."""
    as_said = normalize(text)
    said = _respelled(as_said)
    if not said:
        return []
    if services is None or vocabulary is None:
        from django.utils import timezone

        from calls.agent.understanding.shop_words import shop_words

        words = shop_words(timezone.localdate())
        services, vocabulary = words.services, words.vocabulary
    spans = vocabulary.spans(said)
    direct = list(spans)
    for rx, canonical in _SYNONYM_RES:
        for m in rx.finditer(said):
            if any(x < m.end() and m.start() < y for x, y, _ in direct):
                continue  # the words name a service of the shop's themselves ("pads" are brake pads)
            for words in canonical.split("|"):  # the shop's likely words, the likeliest first
                owners = _owners_of(vocabulary, words)
                if owners:
                    spans.extend((m.start(), m.end(), owner) for owner in owners)
                    break

    def covered(a: int, b: int, owner: int) -> bool:
        return any(x <= a and b <= y and (y - x) > (b - a) and o != owner for x, y, o in spans)

    first: dict[int, tuple[int, int]] = {}
    for a, b, owner in sorted(spans, key=lambda s: (s[0], -s[1])):
        if owner not in first and not covered(a, b, owner):
            first[owner] = (a, b)
    for owner in _checks_of_named_work(said, services, first):
        del first[owner]
    ordered = sorted(first.items(), key=lambda item: (item[1][0], services[item[0]].name))
    return [ServiceMatch(services[owner], a, b, as_said[a:b]) for owner, (a, b) in ordered]


def _named_in(services: list, word: str) -> list:
    """The services whose own name holds this word: "inspection" in a brake, a multi-point and a state inspection."""
    return [s for s in services if word in normalize(s.name).split()]


def _unowned_spans(said: str, services: list, vocabulary: Vocabulary) -> list[tuple[int, int, str]]:
    """(start, end, canonical) of the synonyms said whose words own none of the shop's services."""
    taken = [(a, b) for a, b, _ in vocabulary.spans(said)]
    unowned: list[tuple[int, int, str]] = []
    for rx, canonical in _SYNONYM_RES:
        for m in rx.finditer(said):
            if any(x < m.end() and m.start() < y for x, y in taken):
                continue
            if any(_owners_of(vocabulary, words) for words in canonical.split("|")):
                taken.append((m.start(), m.end()))  # "rotate my tires": the rotation's words, not tire sales
            else:
                unowned.append((m.start(), m.end(), canonical))
    return [(a, b, c) for a, b, c in sorted(unowned) if not any(x < b and a < y for x, y in taken)]


def work_of_several(text: str, services: list, vocabulary: Vocabulary) -> list:
    """The services a general word said could mean, when it names several ("an inspection" at a shop with a brake,
    a multi-point and a state safety inspection): which one is asked, never guessed nor refused."""
    said = _respelled(normalize(text))
    for _a, _b, canonical in _unowned_spans(said, services, vocabulary) if said else []:
        several = next((found for w in canonical.split("|") if len(found := _named_in(services, w)) >= 2), [])
        if several:
            return several
    return []


def unoffered_work(text: str, services: list, vocabulary: Vocabulary) -> list[str]:
    """The caller's words for work the shop has no service for ("new tires" at a shop without tire sales), in
    the order said: the agent says it can't book them rather than book the rest as if they were all. (A word that
    names several services is asked about: work_of_several.)"""
    said = _respelled(normalize(text))
    if not said:
        return []
    out = [
        said[a:b]
        for a, b, canonical in _unowned_spans(said, services, vocabulary)
        if not any(len(_named_in(services, w)) >= 2 for w in canonical.split("|"))
    ]
    return list(dict.fromkeys(out))


# The work a question is about, by its shape: "do you guys do body work?", "what about a timing belt, how much is
# that", "how much is a timing belt", "do you replace windshields".
_WORK_ASKED = [
    re.compile(
        r"\bdo (?:you|yall|ya)(?: guys| all)? (?:do|offer|handle|fix|work on|service|replace|repair|install|sell) "
        r"(?:an? |the |any |some )?(?P<w>[a-z ]+?)(?:(?: here| there| too| at all| on| for| i| we| or)\b|$)"
    ),
    re.compile(
        r"\b(?:what|how) about (?:an? |the |my |some )?(?P<w>[a-z ]+?)(?:(?: how much| what| do you| can you)\b|$)"
    ),
    re.compile(
        r"\b(?:how much|price|cost) (?:is|for|of|does|would|to do|to replace|to fix) (?:an? |the |my |some )?"
        r"(?P<w>[a-z ]+?)(?:(?: cost| run| be| go for| on my| for my)\b|$)"
    ),
]
_NO_WORK = frozenset(
    "it that this those them one service services stuff something anything things work repairs repair everything "
    "kind what you that cost".split()
)


def work_asked_about(text: str) -> str:
    """The caller's words for the work a question asks about ("body work", "timing belt"), or ""."""
    t = normalize(re.sub(r"[,;.!?]", " | ", text)).replace("|", " | ")
    for clause in (c.strip() for c in t.split("|")):
        for rx in _WORK_ASKED:
            m = rx.search(clause)
            words = m.group("w").split() if m else []
            while words and words[-1] in ("is", "that", "cost", "please", "then", "now"):
                words.pop()
            if words and len(words) <= 4 and not set(words) <= _NO_WORK:
                return " ".join(words)
    return ""


def match_services(text: str) -> list:
    """Active ServiceType rows the caller mentions, directly or through a symptom; in the order they said them."""
    return [m.service for m in find_services(text)]
