"""Questions a caller asks about the shop or their own visit, wherever they are in the call.

    shop_question("where are you located?") -> "location"

Kinds: "car_status" (is the car ready), "is_this_shop" (is this the service department), "location", "phone",
"loaner", "shuttle", "wait" (waiting at the shop, somewhere to sit), "bring" (what to bring), "hours", "duration",
"price", "my_appointment". The answer comes from the shop's own data (scheduling.shop_facts, hours, service types)
or the caller's appointments; this module only says what was asked. A line that asks for something ("I'd like a
loaner") is a request, not a question.
"""

from __future__ import annotations

import re

from calls.agent.understanding.text import normalize

# A question, by its first words or its shape: "do you", "where", "how much", "what time".
_ASKING = r"(do|does|can|could|will|would|is|are|have) (you|ya|yall|they|there|i)\b"

_QUESTIONS: list[tuple[str, re.Pattern]] = [
    (
        # "is my car ready yet?", "when will the truck be done?", "can I come pick it up?": today's visit
        "car_status",
        re.compile(
            r"\b(is|s|will|would) (my|the|our|his|her) (car|truck|vehicle|van|suv|\w+) (be )?(ready|done|finished)\b|"
            r"\bready (for|to be|to) pick(ed)? ?up\b|"
            r"\b(can|could) (i|we) (come )?(pick|get) (it|her|him|them|my \w+|the \w+) (up|back)\b|"
            r"\b(status|update) (on|of) my (car|truck|vehicle|van)\b|"
            r"\bhow (is|s) my (car|truck|vehicle) (coming|doing)\b|"
            r"\b(are|is) (you|yall|they|the guys) (done|finished) with (it|my|the)\b"
        ),
    ),
    (
        "my_appointment",
        re.compile(
            r"\bwhen (am i|are we|is my car|should i|do i|was i|did i)\b.{0,25}\b(coming|come|bring|booked|scheduled|"
            r"supposed|due|drop|in)\b|"
            r"\bwhat (time|day|date) (is|was|s) (my|our|the) (appointment|appt|booking|visit|drop off)\b|"
            r"\bwhat (time|day|date) (am i|are we|was i|did i|do i)\b.{0,20}\b(coming|come|booked|scheduled|due|set|"
            r"supposed|in)\b|"
            r"\bwhen (is|was|s) (my|our|the) (appointment|appt|booking|visit)\b|"
            # "what time was that again?": the one just read back or booked
            r"\b(what|which) (time|day|date) (was|is|s) (that|it)( again)?\b|\bwhen (was|is|s) that( again)?\b"
        ),
    ),
    (
        # the shop's own number ("what's your number?", "can I call you back on a direct line?"), never the caller's
        "phone",
        re.compile(
            r"\b(what (is|s)|whats|give me|get|need|have) (the|your|yall|you guys) (phone |telephone |direct |"
            r"call ?back |callback )?number\b|"
            r"\b(your|the shops?|the service|the dealerships?) (phone|telephone|direct) (number|line)\b|"
            r"\bdirect (line|number)\b|\bwhat number (should|can|do|could) i (call|use|ring|reach)\b|"
            r"\b(can|could|how (do|can|could)) i (call|reach|ring) (you|yall|you guys|the shop|someone)\b"
            r".{0,20}\b(back|directly|number|line|later)\b|\bnumber (to|i can) (call|reach)\b"
        ),
    ),
    (
        "bring",
        re.compile(
            r"\bwhat (should|do|must|will) (i|we) (need to |have to |want to )?bring\b|\bwhat to bring\b|"
            r"\b(do|should|must) (i|we) (need to |have to )?bring anything\b|\banything (i|we) (should|need to|have to|"
            r"must) bring\b|\b(bring|have) (anything|something) (with|along)\b"
        ),
    ),
    (
        # waiting at the shop while the car is worked on, and somewhere to sit
        "wait",
        re.compile(
            r"\b(can|could|may) (i|we) (just )?(wait|stay)\b(?! (a|one|just a) (sec|second|minute|moment))|"
            r"\b(ok|okay|alright|fine) (if|for) (i|me|we|us) (to )?(wait|stay)\b|"
            r"\bcan (customers|people|folks) wait\b|"
            r"\b(somewhere|anywhere|someplace|a place|place) to (sit|wait)\b|\bwaiting (room|area|lounge)\b|"
            r"\b(customer )?lounge\b"
        ),
    ),
    (
        "location",
        re.compile(
            r"\bwhere (are|r) (you|yall|ya|u)\b|\bwhere (is|s) (the|your) (shop|garage|dealership|service|place|store|"
            r"location|building|entrance)\b|\bwhere (you|yall) (at|located)\b|\b(your|the) (address|location)\b|"
            r"\bhow do i (get|find) (to )?(you|there|the shop|your shop|the place)\b|\bdirections\b|"
            r"\bwhat (is|s) (the|your) (address|location)\b|\bwhere (do|should|can) i (go|park|bring|drop|pull)\b"
        ),
    ),
    (
        # "is this the service department?", "did I reach Bart's?": who picked up
        "is_this_shop",
        re.compile(
            r"\b(is this|am i (speaking|talking) (to|with)|did i (reach|get|call)|have i (reached|got)|"
            r"(is|s) this (the )?(number|line) for)\b.{0,30}\b(service|shop|garage|dealership|department|barts?|"
            r"auto|repair|mechanics?|place)\b"
        ),
    ),
    (
        # "can I wait for it?", "is there somewhere to wait?": waiting at the shop while the work is done (more ways)
        "wait",
        re.compile(
            r"\b(can|could|may) (i|we) (just )?(wait|stay)\b|\b(ok|okay|alright|possible|fine) (if|for|to) (i|me|us|we)"
            r"( to)? (wait|stay)\b|\b(waiting (room|area|lounge))\b|\bsomewhere to wait\b|\bwhile i wait\b"
        ),
    ),
    (
        "loaner",
        re.compile(
            rf"\b({_ASKING}|any|got|offer|provide)\b.{{0,20}}\b(loaners?|loaner cars?|rentals?|rental cars?|"
            r"courtesy cars?|courtesy vehicles?|replacement cars?)\b|\bloaners? (available|possible)\b"
        ),
    ),
    (
        "shuttle",
        re.compile(
            rf"\b({_ASKING}|any|got|offer|provide)\b.{{0,20}}\b(shuttles?|shuttle service|rides?)\b|"
            r"\bcan (you|someone|somebody) (drive|take|give) me\b"
        ),
    ),
    (
        "hours",
        re.compile(
            r"\b(what are|whats|what s) (your|the) hours\b|\b(what time|when) (do|does|are|will) (you|ya|yall|the shop)"
            r"\b.{0,20}\b(open|close|closed|closing)\b|\bare (you|yall) (guys )?(open|closed)\b|\byour hours\b"
        ),
    ),
    ("duration", re.compile(r"\bhow long (does|do|will|would|is|it|should|can)\b")),
    (
        "price",
        re.compile(
            r"\b(how much|what does .{0,30} cost|what (is|s) the (price|cost)|price (of|for)|"
            r"what do (you|yall) charge|cost of)\b"
        ),
    ),
]


def shop_question(text: str) -> str | None:
    """The kind of question asked in the line, or None when it asks none of these."""
    t = normalize(text)
    for kind, rx in _QUESTIONS:
        if rx.search(t):
            return kind
    return None


# "can I get a loaner?", "could I have the shuttle": a question in form, a request in meaning
_ASKS_FOR_IT = re.compile(r"\b(can|could|may) (i|we) (get|have|borrow|take|use|grab|book|reserve)\b")


def asks_for_it(text: str) -> bool:
    """The question asks for the thing rather than about it ("can I get a loaner" vs "do you have loaners")."""
    return bool(_ASKS_FOR_IT.search(normalize(text)))
