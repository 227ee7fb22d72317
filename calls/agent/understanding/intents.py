"""What the caller wants (intents), yes and no, and the small requests: repeat that, transport, appointment numbers.

These are rules, not a parser's job: a service shop's callers ask for a handful of things in a handful of ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from calls.agent.understanding.text import normalize, numerize

INTENTS = ("book", "cancel", "reschedule", "check", "service_inquiry", "hours", "human", "goodbye", "other")

# Leaving to come back later: "I need to check my schedule first, I'll call you back".
_LATER = (
    r"\b(ill|i will|let me|ill have to|i can|ill just) (call|ring|get back to) (you|ya|yall)?\b ?(back|later)\b|"
    r"\bcall (you )?back later\b|\bcheck my (schedule|calendar)( first)?\b"
)
_LATER_RE = re.compile(_LATER)

# "a couple hours later", "two hours": an amount of time (a move), not the shop's opening hours
_AMOUNT_WORDS = ("couple", "few", "several", "of", "two", "three", "four", "five", "six", "many", "24", "48")
_NOT_AN_AMOUNT = "".join(rf"(?<!\b{w} )" for w in _AMOUNT_WORDS) + r"(?<!\d )"

# "what's the difference between X and Y", "how is X different from Y": what each of two services is
_DIFFERENCE = (
    r"\b(whats|what is|what s|tell me|explain|know) (the )?(difference|differences)\b|"
    r"\bdifference between\b|\bhow (is|are|does|do) .{1,40} (different|differ|compare)\b"
)

# "when's the next one?": the next appointment, asked for
NEXT_ONE = (
    r"\bwhen (is |s )?(the|my|his|her|our|their) next (one|appointment|appt|visit|booking|service)\b|"
    r"\bwhen the next one is\b|\b(what|which) (day|time|date) is (the|my|his|her|our|their) next (one|appointment)\b"
)

_INTENT_PATTERNS: dict[str, list[tuple[str, int]]] = {
    "book": [
        (
            r"\b(book|make|set up|schedule|get|need|want)\b"
            r"(?:(?!cancel|move|change|resched|check|confirm|push|bump|postpone|delay).){0,25}"
            r"\b(appointment|appt|slot|visit)\b",
            3,
        ),
        (r"\bbook\b", 2),
        (r"\bschedule\b", 2),
        (r"\b(bring|drop|take|get) (it|her|him|my \w+|the \w+|my \w+ \w+)( off)? (in|by|over)\b", 3),
        (r"\bcome in\b", 1),
        (r"\b(need|want|like|get)\b.{0,25}\b(done|looked at|checked|serviced|fixed|replaced|rotated|inspected)\b", 2),
        (r"\b(need|want|id like|i would like)\b", 1),
        (r"\b(any )?(openings?|availability|available)\b", 1),
        (
            r"\b(have|got) (any |some |an )?(time|room|space|openings?|availability|slots?|spots?|anything|something)"
            r"\b",
            2,
        ),
        (r"\b(put|pencil|sign|squeeze|fit|get) (me|us|it|her|him) (down|in|up)\b", 3),
        # "what do you have Friday", "what have you got tomorrow": availability
        (r"\bwhat (do|would|have) (you|ya|yall) (guys )?(have|got)\b(?! (for|in) (services?|prices?))", 3),
        (
            r"\b(look at|take a look|have a look|check out|listen to|diagnose) (it|her|him|them|that|the \w+|my \w+)"
            r"\b",
            2,
        ),
        (r"\b(come|swing|stop|drop|pop|roll) (in|by|over)\b", 2),
    ],
    "cancel": [
        (r"\bcancel", 4),
        (r"\bcall off\b", 3),
        (r"\b(cant|wont be able to|unable to|not going to|not gonna) make (it|my appointment|the appointment)\b", 4),
        (
            r"\b(cant|cannot|wont|unable to|not going to|not gonna)( be able to)? (come in|come|get there|be there|"
            r"show up|get in|bring it|bring the car|bring my car)\b",
            3,
        ),
        (r"\btake (me|us|it|that|my \w+|the \w+) off\b.{0,20}\b(schedule|calendar|books|list)\b", 4),
        (r"\bdont need (the|my|that) (appointment|appt)\b", 3),
        (r"\b(remove|delete)\b.{0,20}\bappointment", 3),
    ],
    "reschedule": [
        (r"\bre ?schedul", 5),
        (r"\bre ?book", 3),
        # ("my oil change" reads "my service" here: the words of a service named are masked)
        (
            r"\b(move|change|push|shift|switch|bump|postpone|delay)\b.{0,25}\b(appointment|appt|it|that|this|time|day|"
            r"date|back|up|"
            r"service|booking|visit)\b",
            3,
        ),
        (r"\b(different|another|other|new|later|earlier) (day|time|date)\b", 2),
        # "move my Thursday thing", "the Saturday one", "my Saturday stuff": what they have, named loosely
        (
            r"\b(move|change|push|shift|switch|bump|reschedule)\b.{0,25}\b(one|ones|thing|things|stuff|appointments|"
            r"times)\b",
            3,
        ),
        # "move my 7:30 on Wednesday to Friday", "push my Tuesday to next week": the appointment named by its time
        # or day alone
        (
            r"\b(move|change|push|shift|switch|bump|postpone)\b (my|the|our|that) (\d{1,2}(:\d\d)?|one|two|three|four|"
            r"five|six|seven|eight|nine|ten|eleven|twelve|noon|today|todays|tomorrow|tomorrows|(mon|tues|wednes|thurs|"
            r"fri|satur|sun)days?)\b",
            3,
        ),
        (r"\bmake it (later|earlier|another|a different|a bit|instead)\b", 3),
        # "I can't make it tomorrow, can we do Thursday instead, same time": another day asked for, a move
        (r"\b(can|could) (we|i|you) (do|make it|go with|try|have)\b.{0,30}\binstead\b", 3),
        (r"\b(same|the same) time\b", 2),
        # "move them both a week later", "bump everything a week": several of what they have
        (r"\b(move|push|shift|bump|reschedule)\b.{0,12}\b(them|both|everything|all)\b", 3),
        # "put both of them on Friday at 10": what they have, put on another day (both cars would be a booking)
        (r"\bput (them both|both of them|all of them|both (my|of my|the) (appointments|appts|bookings))\b", 3),
        # "my brake appointment Thursday, make it 3": a change to the one they have, not a new booking
        (
            r"\b(my|the|our) (\w+ ){0,2}(appointment|appt|booking)\b.{0,40}"
            r"\b(make it|move|change|later|earlier|instead|different|push|switch)\b",
            3,
        ),
    ],
    "check": [
        (r"\bwhen is my\b", 5),
        # "can you tell me when the next one is", "when's his next appointment": the next of those they have
        (NEXT_ONE, 5),
        (r"\bwhen\b.{0,20}\bmy (appointment|appt|booking)\b", 4),
        (r"\b(do|did) i (have|got) (an|any|a) (appointment|appointments|appt|booking)\b", 5),
        (r"\b(check|confirm|verify|look up|lookup|remind me)\b.{0,25}\b(my|the|an?) (appointment|appt|booking)", 4),
        (r"\bwhat (day|time|date) is my\b", 5),
        (r"\b(whats|what is|what s)\b.{0,15}\bmy (appointment|appt|booking)\b", 4),
        # "I'm calling about my appointment": the one they have, read out first; a change said with it outscores this
        (
            r"\b(calling|call|ringing|here) (about|regarding|for|on|re) (my|our|the|an|a) (\w+ ){0,2}"
            r"(appointment|appt|booking|visit)\b",
            2,
        ),
        (r"\bam i (booked|scheduled|on the schedule)\b", 5),
        # "I think I have an appointment on the 9th, can you tell me what time?"
        (r"\b(tell|remind) me (what time|when|what day|the time|the day)\b", 4),
        (r"\b(i|we) (think )?(have|got) an? (appointment|appt|booking)\b", 2),
        (r"\bmy (upcoming )?(appointment|appointments|booking)\b", 1),
        (r"\bwhat (appointments?|appts?|bookings?|visits?)\b.{0,20}\b(i|we) (have|got)\b", 5),
        (r"\b(i|we) (have|got)\b.{0,20}\b(coming up|scheduled|booked|on the books)\b", 4),
        (
            r"\b(make sure|making sure|double check|check|confirm|see if)\b.{0,20}\b(im|i am|were|we are|its|it is|"
            r"thats|that is|i was|i have|i got)( still)? (on|booked|scheduled|set|good|still)\b",
            5,
        ),
        (r"\bstill (on|booked|scheduled|set) for\b", 4),
        (r"\b(coming up|upcoming)\b", 1),
    ],
    "hours": [
        (_NOT_AN_AMOUNT + r"\bhours\b(?! (later|earlier|sooner|back|before|after|from now|more)\b)", 3),
        (
            r"\b(what time|when) (do|does|are|will) (you|ya|yall|the shop|the service department)\b.{0,20}"
            r"\b(open|close|closed|closing)\b",
            5,
        ),
        (r"\bare (you|yall) (guys )?(open|closed)\b", 4),
        (r"\b(open|closed?|closing)\b", 1),
        (r"\bopen (on|today|tomorrow|this|saturdays?|sundays?)\b", 2),
    ],
    "service_inquiry": [
        (r"\bhow much\b", 4),
        (r"\b(price|prices|pricing|cost|costs|charge|quote|estimate)\b", 3),
        (r"\bhow long (does|do|will|would|is|it)\b", 4),
        (
            r"\bdo (you|yall) (guys )?(do|offer|handle|service|work on|fix|have|replace|repair|install)\b"
            r"(?! (any|an?|some)? ?(openings?|availability|time|times|slots?|room|space|spots?|anything|"
            r"something)\b)"
            r"(?! (on |for |this |next )?(today|tomorrow|tonight|mondays?|tuesdays?|wednesdays?|thursdays?|"
            r"fridays?|saturdays?|sundays?|morning|afternoon|evening)\b)",
            3,
        ),
        (
            r"\bwhat(s| is| are| does| do)\b.{0,30}\b(included|include|includes|involved|involve|in it|consist|"
            r"come with|comes with|entail|cover|covers|covered|check for|you check)\b",
            4,
        ),
        (r"\bwhat (services|kind of services|kinds of services|do you offer|do you do|do yall do)\b", 4),
        (r"\bservices\b", 1),
        (_DIFFERENCE, 4),
    ],
    "human": [
        (r"\b(human|real person|live person|representative|operator|advisor|adviser|receptionist|manager)\b", 3),
        (
            r"\b(speak|talk) (to|with) (a|an|the|someone|somebody|some one|your|a real|a live|anybody|anyone|one of)\b",
            3,
        ),
        (
            r"\b(someone|somebody|anyone|anybody|a person|one of)\b.{0,40}\b(i|we) (can|could|should|may) (talk|speak)"
            r"\b",
            3,
        ),
        (r"\bwho (should|can|do|would|could|shall) (i|we) (talk|speak|ask)\b", 3),
        (r"\b(speak|talk) (to|with) (whoever|whomever|somebody who|someone who|the person who|the guy who)\b", 3),
        (r"\b(whoever|whomever|who) (handles|deals with|takes care of|is in charge of|manages|does)\b", 2),
        (r"\b(warranty|warranties|claims?|estimate|invoice|bill|billing|complaint|refund|job|jobs|hiring)\b", 1),
        (r"\b(transfer|connect) me\b|\bput me (through|on with|in touch)\b", 3),
        # "can I talk to Mike in service", "could I speak with Dana": a person of the shop, by name
        (r"\b(can|could|may) (i|we) (talk|speak) (to|with)\b", 3),
        (r"\b(someone|somebody|a person|agent|mechanic|technician|service writer)\b", 1),
    ],
    "goodbye": [
        (r"\b(bye|goodbye|good bye|bye bye|hang up)\b", 5),
        (
            r"\b(thats all|thats it|nothing else|that will be all|thatll be all|im good|im all set|all set|"
            r"no thanks|no thank you|i am good|were done|we are done)\b",
            3,
        ),
        (r"\bhave a (good|great|nice) (day|one|night|evening|weekend)\b", 3),
        (_LATER, 5),
    ],
}
_INTENT_RES = {k: [(re.compile(p), w) for p, w in v] for k, v in _INTENT_PATTERNS.items()}
# When scores tie, the more specific request wins.
_PRIORITY = ("human", "reschedule", "cancel", "check", "service_inquiry", "hours", "book", "goodbye")
# Verbs of these intents also occur inside service names ("oil change", "brake check", "fluid flush"): the words
# of a service the caller named are not read for them.
_MASKED_FOR = ("cancel", "reschedule", "check", "hours")


def _masked(t: str, phrases: Iterable[str], placeholder: str = "service") -> str:
    for phrase in sorted({p for p in phrases if p}, key=len, reverse=True):
        t = re.sub(rf"\b{re.escape(phrase)}\b", f" {placeholder} ", t)
    return " ".join(t.split())


def without_phrases(t: str, phrases: Iterable[str]) -> str:
    """A normalized line with these phrases (a service's words) masked, for reading what else it says."""
    return _masked(t, phrases)


def intent_scores(text: str, *, service_phrases: Iterable[str] = ()) -> dict[str, int]:
    """Each intent's score for a line. `service_phrases`: the words the caller named a service with."""
    t = normalize(text)
    masked = _masked(t, service_phrases)
    scores = {}
    for intent, patterns in _INTENT_RES.items():
        said = masked if intent in _MASKED_FOR else t
        score = sum(w for rx, w in patterns if rx.search(said))
        if score:
            scores[intent] = score
    # "cancel it and book another time" is a reschedule; "how much is an oil change" is a question.
    if scores.get("reschedule") and scores.get("cancel"):
        scores["reschedule"] += 2
    if scores.get("human", 0) < 3:
        scores.pop("human", None)
    if _LATER_RE.search(t):
        # "I'll call back to reschedule": what they will do in another call, not in this one
        for later in ("book", "cancel", "reschedule", "check"):
            scores.pop(later, None)
    return scores


def best_intent(scores: dict[str, int]) -> str:
    if not scores:
        return "other"
    best = max(scores.values())
    if best < 2:
        return "other"
    return next(i for i in _PRIORITY if scores.get(i) == best)


def detect_intent(text: str, *, service_phrases: Iterable[str] = ()) -> str:
    return best_intent(intent_scores(text, service_phrases=service_phrases))


# Who a caller asks for by name: "talk to Mike in service", "speak with Dana", "(put me through,) I'm asking for Joe".
_PERSON_ASKED = re.compile(r"\b(?:talk|speak) (?:to|with) (\w+)|\bask(?:ing)? for (\w+)")
_NO_PERSON = frozenset(
    "a an the someone somebody anyone anybody some one your you service advisor adviser person human manager "
    "representative operator receptionist mechanic technician whoever whomever him her them it help".split()
)


def person_asked_for(text: str) -> str:
    """The name of the person the caller asks for ("Mike"), or "" when they ask for a role or anyone."""
    m = _PERSON_ASKED.search(normalize(text))
    name = (m.group(1) or m.group(2)) if m else ""
    return name.capitalize() if name and name not in _NO_PERSON and name.isalpha() else ""


# --- yes / no -------------------------------------------------------------------------------------------------

_YES = re.compile(
    r"\b(yes|yeah|yea|yep|yup|ya|sure|ok|okay|correct|perfect|great|fine|absolutely|definitely|affirmative|"
    r"alright|all right|uh huh|mhm|please do|go ahead|do it|book it|sounds (good|great|fine|perfect)|"
    r"that (works|would work|will work)|thatll work|works( for me)?|thats (right|it|good|fine|perfect|great)|"
    r"of course|lets do (it|that)|exactly|you bet|certainly|good|excellent|awesome|cool|right|go for it|"
    r"lock it in|(put|sign|pencil) me (down|up|in))\b"
)
_NO = re.compile(
    r"\b(no|nope|nah|not|negative|dont|do not|wrong|incorrect|neither|none of (those|them|these)|"
    r"doesnt work|wont work|cant|cannot|im good|im all set|thats all|nothing else|no thanks)\b"
)
_STRONG_NO = re.compile(r"\b(doesnt work|wont work|not (right|correct|good)|thats wrong|no no)\b")
_NEUTRAL = re.compile(r"\b(no problem|not a problem|no worries|not sure|dont know|no idea)\b")
# What may come with a yes and leave it a yes. Anything else ("yeah I have a weird ...") may be a recogniser's
# guess at something else entirely: not clearly a yes, so the agent asks again before it writes.
YES_COMPANIONS = frozenset(
    """
    yes yeah yea yep yup ya sure ok okay correct perfect great fine absolutely definitely affirmative alright
    all right uh huh mhm um umm uh er hmm oh well so and then just that thats this it its is be will would
    sounds sound good works work for me us please thanks thank you very much go ahead do book lets let
    exactly of course you bet certainly excellent awesome cool totally yes sir maam i im ill id take
    see there then bye goodbye the one a wonderful lovely brilliant indeed deal done got gotcha for lock in put
    sign pencil me down up
""".split()
) | {"pronoun"}  # "that's the one": when.prepare's stand-in for a "one" that points at an option


def yes_no(text: str, *, understood: Iterable[str] = ()) -> str | None:
    """ "yes", "no" or None. "no, Thursday" is "no" (the caller corrects); "that works" is "yes".

    A yes is only a yes when nothing else was said with it, apart from politeness and what the line was
    understood to say besides (`understood`: phrases such as the time or the transport it named)."""
    t = _NEUTRAL.sub(" ", normalize(text))
    if _STRONG_NO.search(t):
        return "no"
    y, n = _YES.search(t), _NO.search(t)
    if n and (not y or n.start() < y.start()):
        return "no"
    if not y:
        return None
    rest = _masked(t, [normalize(p) for p in understood], placeholder="")
    if any(w not in YES_COMPANIONS for w in rest.split()):
        return None
    return "yes"


# --- small requests -------------------------------------------------------------------------------------------

_REPEAT = re.compile(
    r"^(what|pardon|sorry|huh|come again|say (that|it) again|(can you |could you )?repeat( that| it)?"
    r"( please)?|i didnt (catch|hear|get) (that|it)|one more time|what did you say|excuse me)\W*$"
)
_TRANSPORT = [
    (re.compile(r"\b(loaner|rental|courtesy car)\b"), "loaner"),
    (re.compile(r"\b(shuttle|ride (home|to work|back)|drive me|give me a ride)\b"), "shuttle"),
    (
        re.compile(r"\b(ill wait|i will wait|wait for it|wait there|wait at the shop|waiting|stay (there|with it))\b"),
        "waiter",
    ),
    (
        re.compile(
            r"\b(drop (it|her|him|the car|my car|the truck) off|drop off|dropping (it )?off|"
            r"leave (it|the car))\b"
        ),
        "drop_off",
    ),
]
_APPOINTMENT_REF = re.compile(
    r"\b(?:appointment|appt|booking|confirmation|reservation)\s+(?:number\s+|no\s+|id\s+|#\s*)?(\d{1,9})\b"
)


def transport_phrase(text: str) -> tuple[str, str] | None:
    """(transport, the words that said it) or None."""
    t = normalize(text)
    for rx, value in _TRANSPORT:
        m = rx.search(t)
        if m:
            return value, m.group(0)
    return None


def parse_transport(text: str) -> str | None:
    found = transport_phrase(text)
    return found[0] if found else None


_SERVICE_QUESTIONS = [
    (
        "contents",
        re.compile(
            r"\bwhat(s| is| are| does| do)\b.{0,30}\b(included|include|includes|involved|involve|in it|"
            r"consist|come with|comes with|entail|cover|covers|covered|check for|you check)\b|"
            r"\bwhat (do|does|will) (you|they|the \w+) (do|check|look at)\b|" + _DIFFERENCE
        ),
    ),
    ("price", re.compile(r"\b(how much|price|prices|pricing|cost|costs|charge|quote|estimate)\b")),
    ("duration", re.compile(r"\bhow long\b")),
]


def service_question(text: str) -> str | None:
    """What a question about a service asks: "contents" (what it includes), "price", "duration", or "price and
    duration" ("how much is it and how long does it take?"); None otherwise."""
    t = normalize(text)
    kinds = [kind for kind, rx in _SERVICE_QUESTIONS if rx.search(t)]
    if kinds[:1] == ["contents"] or len(kinds) < 2:
        return kinds[0] if kinds else None
    return "price and duration"


_ADDING = re.compile(
    r"\b(also|too|as well|add|adding|plus|while (youre|you are|its|it is) (at it|in there|there)|"
    r"on top of|at the same time|and (a|an|the|some)?\s*\w+ (while|too))\b"
)


def adds_to_request(text: str) -> bool:
    """ "could you also rotate the tires", "add a tire rotation": a service on top of what was asked, not instead."""
    return bool(_ADDING.search(normalize(text)))


def parse_appointment_ref(text: str) -> int | None:
    if not re.search(r"\b(appointment|appt|booking|confirmation|reservation)\b", normalize(text)):
        return None
    m = _APPOINTMENT_REF.search(numerize(text))
    return int(m.group(1)) if m else None


def wants_repeat(text: str) -> bool:
    return bool(_REPEAT.match(normalize(text)))
