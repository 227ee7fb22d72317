"""Words and small helpers shared by the rule policy's flows."""

from __future__ import annotations

import re

ANYTHING_ELSE = "Is there anything else I can help you with?"
HOW_CAN_I_HELP = "How can I help you today?"
WHAT_ELSE = "What else can I help you with?"
MAX_MISSES = 3  # the third line in a row that doesn't answer our question goes to a human
OFFERS = 3

EXISTING_CUSTOMER = re.compile(
    r"\b(already (a )?(customer|client)|have an account|been (here|there|in) before|existing customer|"
    r"in (the|your) system|you (should )?have my|im a customer|not new|not a new|"
    # a known customer on another phone: "I'm calling from my work phone", "from my sister's phone"
    r"(calling|call) (you )?from (my |a |an |another |a different |someone elses |my \w+s )?(\w+ )?"
    r"(phone|cell|number|line)|"
    r"(not|isnt) my (usual |normal |regular )?(phone|number|cell))\b"
)
# ... unless they say the opposite: "I've never been there before", "first time calling".
NEW_CUSTOMER = re.compile(
    r"\b(never been|havent been|have not been|not been (here|there|in)|first time|new customer|im new|i am new|"
    r"never (used|come|came|called)|not (a customer|in (the|your) system))\b"
)


def says_known(norm: str) -> bool:
    """The caller says they are a customer of ours already (normalized text)."""
    return bool(EXISTING_CUSTOMER.search(norm)) and not NEW_CUSTOMER.search(norm)


# Only an explicit introduction counts as a name when we did not ask for one ("it's Tuesday" is no name).
NAME_INTRO = re.compile(r"\b(my name is|my names|the name is|this is|call me|(you are|youre) speaking (with|to))\b")
NO_CAR = re.compile(r"\b(no (car|vehicle)s?|dont have (a|any) (car|vehicle)|(no|dont have an?) appointment)\b")
SKIP = re.compile(r"\b(dont know|not sure|skip|no idea|doesnt matter|rather not)\b")
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
NEVERMIND = re.compile(
    r"^((oh|actually|um|uh|well|sorry|no|you know what|ah)\s+)*(never ?mind|forget it|"
    r"forget about it|scratch that|dont worry about it)\b"
)
# "same morning", "same time": the appointment just booked (or being moved) is the reference.
SAME_WHEN = re.compile(r"\bsame (day|date|morning|afternoon|time)\b")
HELLO = re.compile(r"^(yes |yeah )?(hi|hello|hey|hiya|good (morning|afternoon|evening)|howdy)( there)?$")
THANKED = re.compile(r"\bThanks, ")
THANKS = re.compile(r"\b(thanks|thank you|thank u|thx|appreciate (it|that|you)|cheers)\b")
WHAT_ABOUT = re.compile(r"\b(what|how) about\b|\bopen\b")
TRANSPORT_ACK = {
    "waiter": "Sure, you can wait at the shop while we work on it.",
    "loaner": "Okay, I'll note that you'd like a loaner car.",
    "shuttle": "Okay, I'll note that you'd like a ride on our shuttle.",
    "drop_off": "Sure, you can drop it off.",
}


# Words that say nothing of what is wrong with the car: asking, when, politeness, fillers.
_NOT_TROUBLE = frozenset(
    "a an the my our her his its it is are i im we you can could would will do does did get got need needs want "
    "wanted like id please just also too and or so um uh oh well yeah yes no ok okay sorry hi hello for to in on at "
    "by of with book schedule set up appointment service car truck this next tomorrow today morning afternoon evening "
    "monday tuesday wednesday thursday friday saturday sunday week am pm th done".split()
)


def trouble_said(u) -> bool:
    """The line says more of the car's trouble than a service's name ("it squeals when I start it up", "my brakes
    are shot"): words the technician wants in the visit's notes. ("an oil change Thursday at 2" says nothing more.)"""
    if not u.services:
        return False
    rest = [w for w in u.unnamed.split() if w not in _NOT_TROUBLE and not w[:1].isdigit()]
    return len(rest) >= 2


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text and not text[:2].isupper() else text


def vehicle_name(v: dict) -> str:
    make, model = v.get("make") or "", v.get("model") or ""
    if make and model.lower().startswith(make.lower()):
        return model  # "Mazda3", not "Mazda Mazda3"
    return " ".join(p for p in (make, model) if p) or v["label"]


def vehicle_names(vehicles: list[dict]) -> list[str]:
    """ "Jeep Grand Cherokee", "Honda Accord"; with the year only where two would sound alike."""
    short = [vehicle_name(v) for v in vehicles]
    return [v["label"] if short.count(name) > 1 else name for v, name in zip(vehicles, short, strict=True)]


def vehicle_short_names(vehicles: list[dict]) -> list[str]:
    """The shortest thing that tells the cars apart: makes ("Jeep or Honda"), else models, else years."""
    for key in ("make", "model", "year"):
        values = [str(v.get(key) or "") for v in vehicles]
        if all(values) and len(set(values)) == len(values):
            return values
    return []
