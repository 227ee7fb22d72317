"""What the agent just asked, as a kind the scripted caller can answer ("when", "confirm", "car"...).

Scenarios key the caller's lines on these kinds rather than on the agent's exact words, so a scenario survives
a rephrased question. This is the one place that knows how the agent's questions read: when the dialogue
learns a new way to ask something, teach it here (calls/tests/test_evals.py has one example per kind).
"""

from __future__ import annotations

import re

# Kinds a scenario's `talk:` may answer, with what each means (shown in YAML errors).
KINDS = {
    "request": "how can I help / what would you like to do",
    "anything_else": "is there anything else",
    "name": "your name",
    "last_name": "your last name (falls back to name)",
    "zip": "the ZIP or postal code on the account",
    "proof": "one more fact only the customer has: the make of a car on the account, or their appointment's day",
    "car": "year, make and model, which of your cars, or the VIN",
    "car_check": "a yes/no read-back of a car ('a 2003 Honda Accord?'; falls back to yes_no)",
    "service": "what the car needs",
    "when": "what day or time",
    "time": "what time, the day being known (falls back to when)",
    "offer": "one or more open slots proposed",
    "confirm": "the read-back before anything is written (book, move, cancel)",
    "appointment": "which of your appointments",
    "offer_book": "would you like to book one (falls back to yes_no)",
    "duplicate": "that service is already booked for the car: another one, or move that one (falls back to yes_no)",
    "transport": "will you wait or drop it off (falls back to yes_no)",
    "still_there": "are you still there (after silence)",
    "again": "didn't catch that, say it again (default: the caller repeats the last line)",
    "reminder": "the shop's reminder call: can you still make it (falls back to yes_no)",
    "waiting": "the agent waits while the caller checks ('take your time'; falls back to reminder)",
    "yes_no": "any other yes/no question",
    "otherwise": "anything the caller has no other answer for",
}

# Fallbacks when a scenario has no line for the exact kind.
FALLBACK = {
    "last_name": "name",
    "time": "when",
    "car_check": "yes_no",
    "offer_book": "yes_no",
    "duplicate": "yes_no",
    "transport": "yes_no",
    "reminder": "yes_no",
    "waiting": "reminder",
}

_CLOCK = re.compile(r"\b(\d{1,2}(:\d\d)? ?([ap]\.?m\b\.?)|noon|midday|\d{1,2}:\d\d)")
_YEAR = r"\b(19|20)\d\d\b"


def _rx(*alternatives: str) -> re.Pattern:
    return re.compile("|".join(alternatives))


# (kind, pattern, needs_clock) tried in order on the question sentence; the first match wins. needs_clock: the
# reply must name a time of day (an offer proposes slots; "does that work?" with no time is something else).
_RULES: list[tuple[str, re.Pattern, bool]] = [
    ("still_there", _rx(r"\b(still there|are you there|still with me)\b"), False),
    (
        "again",
        _rx(
            r"\b(didn'?t (quite )?(catch|get|hear) (that|you)|say (it|that) again|repeat (it|that)|"
            r"come again|pardon)\b"
        ),
        False,
    ),
    ("waiting", _rx(r"\btake your time\b"), False),
    ("reminder", _rx(r"\b(still make it|does that still work|so we'?ll see you)\b"), False),
    ("anything_else", _rx(r"\b(anything else|something else|what else|any other questions?)\b"), False),
    (
        "duplicate",
        _rx(
            r"\banother (one|visit|appointment),? or (should i |do you want me to |shall i )?(move|"
            r"reschedule|change)\b",
            r"\bbook a second \b.*\bor move\b",
        ),
        False,
    ),
    (
        "offer_book",
        _rx(
            r"\b(like|want) to (book|schedule|make|set up)\b.*\b(it|one|appointment|that|visit|them)\b",
            r"\b(shall|should|can) i (book|schedule|set up) (one|an appointment|a visit)\b",
            r"\bbook (one|an appointment)\?",
            r"\bbook (it for )?another (time|day)\b",
        ),
        False,
    ),
    (
        "confirm",
        _rx(
            r"\b(shall|should|can|may) i (go ahead and )?(book|schedule|put|lock|reserve|cancel|move|change|"
            r"reschedule|confirm)\b",
            r"\b(want|like) me to (go ahead and )?(book|schedule|cancel|move|reschedule|put|lock)\b",
            r"\b(book|cancel|move) (it|that|this)( for you)?\?",
            r"\bis that (right|correct|ok|okay)\b",
            r"\b(sound|look)s? (right|good|correct|ok|okay)\b",
            r"\bgo ahead( with (it|that|this))?\?",
            r"\bconfirm (it|that|this|the booking)\b",
            r"\bam i right\b",
            r"\bjust to be sure\b.*\byou'?d like to (cancel|move|book)\b",
            r"\b(shall|should) i add (?!it\b)\w+.*\bvisit\?",  # a service onto the visit ("add it" is a car)
        ),
        False,
    ),
    (
        "appointment",
        _rx(
            r"\bwhich (appointment|visit|booking)\b",
            r"\bwhich one first\b",  # "let's move them one at a time ... Which one first?"
            r"\bwhich (one|of them|of those)( would| do| did| should| shall)? (you|i) "
            r"(like|want|mean|need)? ?(to )?(cancel|move|change|reschedule)\b",
        ),
        False,
    ),
    ("zip", _rx(r"\b(zip|postal|post) ?code\b", r"\bzip\b"), False),
    (
        "proof",
        _rx(
            r"\b(make|model) (is|of) the (car|vehicle)s? on (your|the) account\b",
            r"\bwhat day is your (appointment|visit)\b",
        ),
        False,
    ),
    (
        "name",
        _rx(
            r"\b(your|the) (first and last |full |first )?name\b",
            r"\bwho (am i|i'?m) (speaking|talking) "
            r"(with|to)\b",
            r"\bspell (your|the) name\b",
            r"\bname (is it|on the account|please)\b",
        ),
        False,
    ),
    ("last_name", _rx(r"\blast name\b", r"\bsurname\b", r"\bfamily name\b"), False),
    (
        "car_check",
        _rx(
            r"^(so |and )?(that'?s |it'?s |is (that|it|this) )?(an? |your |the )?"
            + _YEAR
            + r"( [a-z0-9][\w-]*)+( (right|correct))?\?$",
            r"\bis (that|this|it) your (car|vehicle|truck)\b",
            r"\b(shall|should|can) i add (it|that|this|the [\w-]+)( to your account)?\?",
        ),
        False,
    ),
    (
        "car",
        _rx(
            r"\byear,? make\b",
            r"\bmake and model\b",
            r"\b(year|make|model) (of|is) (your|the|it)\b",
            r"\bwhich (car|vehicle|truck|one of your cars)\b",
            r"\bwhat (car|vehicle|truck|kind of car|sort of car|"
            r"make|model|are you driving|do you drive)\b",
            r"\bvin\b",
            r"\bvehicle identification\b",
            r"\bis (this|it|that) for (your|the)\b",
            r"\bfor which (car|vehicle)\b",
        ),
        False,
    ),
    (
        "service",
        _rx(
            r"\bwhat (service|services|work|kind of service|can we do|do you need done|does (your|the) "
            r"(car|vehicle|truck) need|seems to be|brings you)\b",
            r"\bwhich service\b",
            r"\bwhat (do|would) you need( done)?\b",
            r"\bwhat('?s| is) (going on|wrong|the problem)\b",
            r"\bwhich one do you need\b",
            r"\bwhat (can|should) we (do|look at)\b",
        ),
        False,
    ),
    (
        "offer",
        _rx(
            r"\b(which|what) (one|time|slot|of (these|those|them))\b.*\b(like|want|prefer|work|suit|best|"
            r"take)\b",
            r"\bwhich (works|suits|would work|one works|is best|do you prefer|would you prefer)\b",
            r"\b(does|do|would|will|could|can) (that|this|it|those|these|either( one)?|any of (these|those|"
            r"them)|one of (these|those|them))( time)? (work|suit|do)\b",
            r"\b(how about|what about|would you like|do you want|does|would|will|could|can)\b.*\d",
            r"\b(how about|what about)\b.*\b(noon|morning|afternoon)\b",
            r"\bthen\?$",
        ),
        True,
    ),
    (
        "time",
        _rx(
            r"\bwhat time\b",
            r"\b(morning|afternoon) or (the )?(afternoon|morning|evening)\b",
            r"\bwhat part of the day\b",
            r"\bwhat time of day\b",
        ),
        False,
    ),
    (
        "when",
        _rx(
            r"\b(what|which) (day|date|days)\b",
            r"\bwhen (would|do|did|can|could|will|should|is|are)\b",
            r"\b(day|date) or time\b",
            r"\bwork (better|best) for you\b",
            r"\bwhat works\b",
            r"\bmove it to\b",
            r"\b(another|different|other) (day|time)\b",
        ),
        False,
    ),
    (
        "transport",
        _rx(
            r"\b(wait|waiting) (for it|at the shop|there|while)\b",
            r"\bdrop (it|the car|your car) off\b",
            r"\bloaner\b",
            r"\bshuttle\b",
            r"\bride\b",
        ),
        False,
    ),
    (
        "request",
        _rx(
            r"\bhow (can|may) i help\b",
            r"\bwhat can i (do|help)\b",
            r"\bwhat would you like to do\b",
            r"\bwhat can we do for you\b",
            r"\bhelp you with\b",
            r"\bwhat are you calling about\b",
        ),
        False,
    ),
    (
        "yes_no",
        _rx(
            r"^(and |so |ok(ay)?,? )?(is|are|do|does|did|would|will|shall|should|can|could|may|was|have|"
            r"has)\b"
        ),
        False,
    ),
]
_SENTENCES = re.compile(r"[^.?!]+(?:[.?!]+|$)")


def question_of(reply: str) -> str:
    """The sentence that carries the agent's question: the last one ending in '?', else the last sentence."""
    # Dots inside "9:30 a.m." would end a sentence: drop them first.
    text = re.sub(r"\b([ap])\.m\.", r"\1m", reply.strip(), flags=re.IGNORECASE)
    sentences = [s.strip() for s in _SENTENCES.findall(text) if s.strip()]
    if not sentences:
        return ""
    asked = [s for s in sentences if s.endswith("?")]
    return asked[-1] if asked else sentences[-1]


def classify(reply: str) -> str:
    """The kind of question `reply` (one whole agent turn) ends on; "unknown" when no rule fits."""
    sentence = question_of(reply).lower().replace("’", "'")
    if not sentence:
        return "unknown"
    has_clock = bool(_CLOCK.search(reply.lower()))
    for kind, pattern, needs_clock in _RULES:
        if (has_clock or not needs_clock) and pattern.search(sentence):
            return kind
    return "unknown"


def answer_order(kind: str) -> list[str]:
    """The `talk:` keys that can answer a question of this kind, most specific first."""
    order = [kind]
    while order[-1] in FALLBACK:
        order.append(FALLBACK[order[-1]])
    return [*order, "otherwise"]
