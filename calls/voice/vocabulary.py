"""The offline recogniser's domain language: what callers say to a car service department.

`build_corpus()` expands templates (booking, cancelling, moving and checking appointments, services and their
everyday names, makes and models, days, dates, times, numbers, yes/no, names, goodbyes) into sentences.
`build_language_model()` turns them into an ARPA bigram model (absolute discounting with back-off, written
here) and a pronunciation dictionary (cmudict, then our own spellings, then eSpeak's phonemes mapped to the
CMU phone set), cached on disk under a hash of the corpus so every process builds it at most once.

Next to the general model, one model per kind of question (`listen_hint.Expect`): the general counts merged
with the counts of the answers that question expects, expanded from the same word lists (days, times, names,
makes and models, yes/no) through the templates in `HINT_TEMPLATES`, weighted so those answers carry
`HINT_SHARE` of the counts. The general part keeps any other answer reachable. A hint that names concrete
options (the offered times) gets its own model on demand, with those options weighted further.

A small, focused model is the point: pocketsphinx with its full English LM is slower than real time on phone
audio and returns unrelated words; a domain bigram model decodes ~20x faster than real time and gets the
content words right.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import re
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from pathlib import Path

from calls.voice.listen_hint import Expect, ListenHint

logger = logging.getLogger(__name__)

FORMAT_VERSION = "1"  # bump when the corpus templates or the file formats change meaning
# Share of the counts a question's expected answers get in its model; the general model keeps the rest, so an
# answer to something else still comes through. The options a hint names take OPTIONS_SHARE of the question's part.
# Measured (bench/recognition.py --rates 150,175,210 --hint-share S): WER 37.1% at 0.5, 35.7% at 0.6, 35.2% at 0.7,
# 35.0% at 0.8 (general model: 52.1%); answers to another question: 16% with the general model, 20-21% with these.
HINT_SHARE = 0.6
# Offered options (CHOICE answers, same bench): 16.1% WER without them, 15.1% at 0.15, 18.3% at 0.4, 25.8% at 0.7 --
# callers answer an offer with "the first one" or another day as often as with an offered time. Kept small: what
# it mainly buys is weight for the caller's own car names, which only the CRM knows.
OPTIONS_SHARE = 0.15
# Trigrams tell "the first one" from "the first of" and keep a request's phrasing together across three words.
NGRAM_ORDER = 3
SENTENCE_START = "<s>"
SENTENCE_END = "</s>"

# ---------------------------------------------------------------------------------------------------------
# Word lists
# ---------------------------------------------------------------------------------------------------------

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
         "nineteen"]  # fmt: skip
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth"]  # fmt: skip
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]  # fmt: skip

# (spoken form, what it means) -- the spoken forms are what the recogniser can output.
SERVICES = [
    "oil change", "synthetic oil change", "brake job", "brake inspection", "brake pads", "new brakes",
    "tire rotation", "new tires", "tire change", "flat tire", "wheel alignment", "alignment", "state inspection",
    "inspection", "battery", "new battery", "battery check", "a/c", "air conditioning", "a/c recharge",
    "check engine light", "diagnostic", "tune-up", "transmission service", "transmission fluid", "coolant flush",
    "wiper blades", "air filter", "cabin filter", "spark plugs", "timing belt", "recall", "maintenance",
    "thirty thousand mile service", "sixty thousand mile service", "scheduled maintenance", "car wash",
    "headlight", "suspension", "windshield", "software update",
]  # fmt: skip
PROBLEMS = [
    "my brakes are squeaking", "the brakes are grinding", "my brakes are squealing", "the check engine light is on",
    "the check engine light came on", "it's making a noise", "it's making a weird noise", "the car won't start",
    "the battery is dead", "the a/c isn't blowing cold", "the air conditioning doesn't work", "it's leaking oil",
    "it's overheating", "the tire pressure light is on", "the steering wheel shakes", "it pulls to the left",
    "it pulls to the right", "the oil light is on", "the engine is knocking", "it's making a clicking noise",
    "i have a flat tire", "i got a recall notice", "it's due for service", "it's due for an oil change",
    "it's been making a weird noise", "it's running rough", "it's running hot", "it's slow to start",
    "it keeps stalling", "the temperature gauge keeps going up", "it's been pulling to the left",
    "there's a clunk when i go over bumps", "it grinds when i brake", "it shakes on the highway",
    "it's leaking something", "the tire pressure light keeps coming on", "the brakes feel soft",
    "the wipers are streaking", "it jerks when it shifts", "the transmission is slipping", "the heater doesn't work",
    "it makes a noise when i turn", "it clicks but it won't start", "the battery keeps dying",
    "the pads are worn down", "the tires are worn", "the steering wheel is crooked", "the a/c is blowing warm air",
]  # fmt: skip
MAKES = ["acura", "audi", "bmw", "buick", "cadillac", "chevy", "chevrolet", "chrysler", "dodge", "ford", "gmc",
         "genesis", "honda", "hyundai", "infiniti", "jeep", "kia", "lexus", "lincoln", "mazda", "mercedes",
         "mitsubishi", "nissan", "ram", "subaru", "tesla", "toyota", "volkswagen", "vw", "volvo"]  # fmt: skip
MODELS = {
    "honda": ["accord", "civic", "cr-v", "pilot", "odyssey", "hr-v", "ridgeline"],
    "toyota": ["camry", "corolla", "rav4", "highlander", "tacoma", "tundra", "sienna", "prius", "4runner"],
    "ford": ["f-150", "escape", "explorer", "mustang", "edge", "bronco", "expedition", "ranger", "fusion"],
    "chevy": ["silverado", "equinox", "malibu", "tahoe", "traverse", "colorado", "suburban", "impala"],
    "nissan": ["altima", "sentra", "rogue", "pathfinder", "frontier", "murano", "maxima"],
    "hyundai": ["elantra", "sonata", "tucson", "santa fe", "palisade"],
    "kia": ["optima", "sorento", "sportage", "telluride", "soul", "forte"],
    "mazda": ["cx-5", "mazda three", "cx-9", "miata"],
    "subaru": ["outback", "forester", "impreza", "crosstrek", "ascent"],
    "volkswagen": ["jetta", "passat", "tiguan", "atlas", "golf"],
    "jeep": ["wrangler", "cherokee", "grand cherokee", "compass"],
    "ram": ["fifteen hundred", "twenty five hundred"],
    "tesla": ["model three", "model y"],
    "dodge": ["charger", "durango", "caravan"],
    "gmc": ["sierra", "yukon", "acadia"],
    "lexus": ["r x", "e s"],
}
FIRST_NAMES = [
    "james", "john", "robert", "michael", "william", "david", "richard", "joseph", "thomas", "charles",
    "christopher", "daniel", "matthew", "anthony", "mark", "steven", "paul", "andrew", "joshua", "kevin",
    "brian", "george", "timothy", "ryan", "jason", "jeff", "eric", "jacob", "gary", "nick", "jose", "carlos",
    "luis", "juan", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara", "susan", "jessica",
    "sarah", "karen", "lisa", "nancy", "betty", "sandra", "ashley", "emily", "donna", "michelle", "amanda",
    "melissa", "deborah", "stephanie", "rebecca", "laura", "sharon", "cynthia", "amy", "angela", "anna",
    "maria", "olivia", "emma", "sophia", "rachel", "megan", "hannah", "tom", "mike", "bob", "bill", "dave",
    "jim", "joe", "chris", "dan", "matt", "tony", "steve", "sam", "alex", "kate", "jen", "liz", "sue",
]  # fmt: skip
LAST_NAMES = [
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez",
    "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
    "lee", "perez", "thompson", "white", "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker",
    "young", "allen", "king", "wright", "scott", "torres", "nguyen", "hill", "flores", "green", "adams",
    "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts", "kowalski", "murphy",
    "cook", "rogers", "morgan", "cooper", "peterson", "reed", "bailey", "kelly", "howard", "ward", "cox",
]  # fmt: skip

# Spellings the recogniser should output as one token, with pronunciations (CMU phones) cmudict lacks.
CUSTOM_PRONUNCIATIONS = {
    "a/c": ["EY S IY"],
    "bmw": ["B IY EH M D AH B AH L Y UW"],
    "gmc": ["JH IY EH M S IY"],
    "vw": ["V IY D AH B AH L Y UW"],
    "cr-v": ["S IY AA R V IY"],
    "hr-v": ["EY CH AA R V IY"],
    "cx-5": ["S IY EH K S F AY V"],
    "cx-9": ["S IY EH K S N AY N"],
    "rav4": ["R AE V F AO R"],
    "4runner": ["F AO R R AH N ER"],
    "f-150": ["EH F W AH N F IH F T IY"],
    "tune-up": ["T UW N AH P"],
    "loaner": ["L OW N ER"],
    "loaners": ["L OW N ER Z"],
    "okay": ["OW K EY"],
}


def number_words(n: int) -> str:
    """0..99 in words ("forty two")."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is outside 0..99")
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    tens, ones = divmod(n, 10)
    return TENS[tens - 2] + ("" if ones == 0 else " " + ONES[ones])


def ordinal_words(n: int) -> str:
    """1..31 as an ordinal ("twenty first")."""
    if not 1 <= n <= 31:
        raise ValueError(f"{n} is outside 1..31")
    if n <= 20:
        return ORDINALS[n - 1]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return "thirtieth" if tens == 3 else "twentieth"
    return TENS[tens - 2] + " " + ORDINALS[ones - 1]


# ---------------------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------------------

HOURS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
MINUTES = ["", " o'clock", " fifteen", " thirty", " forty five", " oh five", " twenty", " forty five"]


def _times() -> list[str]:
    out = []
    for i, hour in enumerate(HOURS):
        for j, minute in enumerate(MINUTES):
            out.append(hour + minute)
            if (i + j) % 3 == 0:
                out.append(hour + minute + (" a.m." if 7 <= i + 1 <= 11 else " p.m."))
    out += ["noon", "around noon", "lunch time", "around two", "around ten", "after lunch", "early afternoon",
            "first thing in the morning", "end of the day", "late morning", "as early as possible"]  # fmt: skip
    return out


def _days() -> list[str]:
    out = ["today", "tomorrow", "the day after tomorrow", "next week", "this week", "later this week",
           "early next week", "the end of the week", "this weekend", "next month"]  # fmt: skip
    for day in WEEKDAYS:
        out += [day, "next " + day, "this " + day, "this coming " + day, day + " morning", day + " afternoon"]
    for period in ("morning", "afternoon", "evening"):
        out += ["tomorrow " + period, "this " + period]
    # Each ordinal after some month, each month before some ordinal; other pairs back off to unigrams.
    # (Listing all 366 month-day pairs made ordinals so likely that "Thursday"/"Friday" became "third"/"right".)
    for n in range(1, 32):
        out.append("the " + ordinal_words(n))
        out.append(MONTHS[(n * 5) % 12] + " " + ordinal_words(n))
    for month in MONTHS:
        out += [month + " " + ordinal_words(1 + MONTHS.index(month) * 2), "in " + month]
    # A prior: callers name a weekday far more often than a date, yet the dates above outnumber the weekday forms
    # (a "{day}" slot was a date four times in five: "anything thursday" came out "anything third the").
    out += [f for day in WEEKDAYS for f in (day, day + " morning", day + " afternoon")]
    return out


def _numbers() -> list[str]:
    out = [number_words(n) for n in range(100)]
    out += ["oh " + number_words(n) for n in range(1, 10)]
    # zip codes and phone numbers read digit by digit; years; mileage
    for i in range(40):
        digits = " ".join(ONES[(i * 7 + k * 3) % 10] for k in range(5))
        out.append(digits.replace("zero", "oh") if i % 2 else digits)
    out += _years()
    for n in (5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 75, 80, 90):
        out.append(number_words(n) + " thousand miles")
    out += ["a hundred thousand miles", "about fifty thousand", "one hundred twenty thousand"]
    return out


def _years() -> list[str]:
    return [("two thousand " + number_words(y - 2000)) if y < 2010 else "twenty " + number_words(y % 100)
            for y in range(2005, 2027)]  # fmt: skip


def _vehicles() -> list[str]:
    out = []
    for make in MAKES:
        out.append(make)
        for model in MODELS.get(make, ()):
            out += [make + " " + model, model]
    return out


YES = ["yes", "yeah", "yep", "yes please", "sure", "sure thing", "that works", "that works for me", "sounds good",
       "that sounds good", "correct", "that's correct", "that's right", "right", "okay", "ok", "perfect", "great",
       "yes that works", "yeah that's fine", "that's fine", "absolutely", "of course", "please do", "go ahead",
       "yes it is", "uh huh"]  # fmt: skip
NO = ["no", "nope", "no thanks", "no thank you", "not really", "actually no", "that doesn't work",
      "that doesn't work for me", "no that's wrong", "that's not right", "wrong", "not that one",
      "no i can't", "nah", "neither"]  # fmt: skip
GOODBYES = ["goodbye", "bye", "bye bye", "thank you goodbye", "thanks bye", "thank you", "thanks", "that's all",
            "that's it", "nothing else", "no that's all thanks", "have a good day", "have a nice day",
            "thanks for your help", "you too", "that's it thanks", "that's everything", "i'm all set", "i'm good",
            "i'm good thanks", "that's all i needed", "all good", "that'll be all", "that should do it",
            "that's all for today", "nothing else thanks", "thanks so much", "appreciate it"]  # fmt: skip
HUMAN = ["talk to a person", "i want to talk to a person", "can i speak to someone", "let me talk to an advisor",
         "i need to speak with my service advisor", "representative", "agent", "a real person", "operator",
         "transfer me please", "can you transfer me to the service desk", "i'd rather talk to a human",
         "speak to a human", "customer service"]  # fmt: skip
INFO = ["what are your hours", "when are you open", "are you open on saturday", "are you open on sunday",
        "what time do you close", "what time do you open", "how much is an oil change", "how much does it cost",
        "how long does it take", "how long will it take", "where are you located", "what's your address",
        "do you have loaners", "do you have a loaner car", "do you have a shuttle", "can i wait for it",
        "is there a waiting room", "do you do state inspections", "do you work on {make}",
        "how much is a {service}", "how long does a {service} take", "is my car ready", "is my car done yet",
        "do i need an appointment", "do you take walk ins"]  # fmt: skip
TRANSPORT = ["i'll wait", "i'll wait for it", "i can wait", "i'll drop it off", "i'll drop it off in the morning",
             "i need a loaner", "can i get a loaner", "can i get a ride", "i need the shuttle",
             "can someone give me a ride", "i'll leave it there"]  # fmt: skip
# How much likelier some answers are than others of the same list (a prior; 1 when absent). Without it every
# value of a list is as likely as any other, and "the third one" is as good a guess as "the first one" for audio
# that could be either (on a phone line f and th differ only above 4 kHz).
PRIORS = {
    "yes": 4, "yeah": 2, "yes please": 2, "sure": 2, "that works": 2, "sounds good": 2, "that's right": 2,
    "no": 4, "nope": 2, "no thanks": 2, "no thank you": 2,
    "the first one": 4, "the first": 2, "the earliest one": 2, "the earlier one": 2, "the second one": 2,
    "the last one": 2, "that one": 2,
    "that's it": 3, "that's all": 3, "no that's all thanks": 2, "that's it thanks": 2, "thank you": 2,
    "thanks bye": 2, "goodbye": 2,
}  # fmt: skip


def with_priors(values: list[str]) -> list[str]:
    """`values` with each repeated by its prior, so template expansion and counts see it that much more often."""
    return [v for v in values for _ in range(PRIORS.get(v, 1))]


# Picking one of the options just offered; the same words calls.agent.nlu reads as a choice.
CHOICES = ["the first one", "the second one", "the third one", "the last one", "the earlier one", "the later one",
           "the earliest one", "the first", "the second", "the last", "the earliest", "the middle one",
           "the other one", "that one", "either one", "either", "any of them", "whichever", "doesn't matter",
           "you pick", "none of those", "none of them", "neither", "the first option", "the second option",
           "option one", "option two", "number one", "number two"]  # fmt: skip
# What a VIN is spelled with: letters (never I, O or Q) and digits, "oh" for zero as callers say it.
VIN_CHARACTERS = [*"abcdefghjklmnprstuvwxyz", *ONES, "oh"]
FILLERS = ["", "", "", "um ", "uh ", "yeah ", "hi ", "hello ", "so ", "well ", "okay ", "yes "]

TEMPLATES = [
    # booking
    "i need an {service}", "i need a {service}", "i need to get an {service}", "i'd like to schedule an {service}",
    "i'd like to book a {service}", "i want to book an appointment", "i want to make an appointment",
    "i need to make an appointment for my {vehicle}", "can i bring my {vehicle} in for a {service}",
    "i need to bring my car in", "my {vehicle} needs a {service}", "i need an {service} {day}",
    "i need an {service} {day} at {time}", "can i get an {service} {day}", "i want to schedule service",
    "i'd like to schedule a {service} for {day}", "can you fit me in {day}", "do you have anything {day}",
    "do you have anything {day} {time}", "i'm calling to schedule a {service}", "{problem}",
    "{problem} can you look at it", "{problem} i need to bring it in", "i have a {vehicle} and {problem}",
    "i need to get my brakes checked", "i need to get my tires rotated", "can you check my brakes",
    "i need to book a {service} for my {vehicle} {day}", "i need an appointment {day}",
    # cancelling
    "cancel my appointment", "i need to cancel my appointment", "i want to cancel", "please cancel it",
    "i need to cancel my appointment for {day}", "i can't make it {day}", "i can't make my appointment",
    "cancel the {service}",
    # rescheduling
    "i need to reschedule", "i need to reschedule my appointment", "can i move my appointment to {day}",
    "can we move it to {day} at {time}", "i'd like to change my appointment", "can we push it to {day}",
    "can i come in {day} instead", "move it to {time}", "change it to {day}",
    # checking
    "when is my appointment", "what time is my appointment", "do i have an appointment",
    "can you check my appointment", "i'm calling about my appointment", "i'm calling to confirm my appointment",
    "is my appointment still on for {day}", "i want to check on my car",
    # days and times alone, the usual answer to "when?"
    "{day}", "{day} at {time}", "{time}", "at {time}", "{day} {time}", "how about {day}", "how about {time}",
    "{day} works", "{time} works", "{time} is good", "anything {day}", "the earliest you have",
    "the {ordinal} works", "is {time} available", "{day} around {time}", "maybe {day}",
    # identity and vehicle
    "my name is {first} {last}", "this is {first} {last}", "this is {first}", "it's {first} {last}",
    "{first} {last}", "my last name is {last}", "it's under {last}", "it's under {first} {last}",
    "the last name is {last}", "it's {vehicle}", "a {year} {vehicle}", "it's a {year} {vehicle}",
    "i drive a {vehicle}", "my {vehicle}", "the {vehicle}", "my zip code is {number}", "{number}",
    "it has {number}", "my phone number is {number}", "it's {number}", "about {number}",
    # answers
    "{yes}", "{no}", "{yes} {day}", "{no} {day}", "{no} i need {day}", "{yes} {time}", "{bye}", "{human}",
    "{info}", "{transport}", "{yes} {transport}", "{no} {bye}",
]  # fmt: skip

# How people actually talk on the phone, beyond the plain requests above: openers, hedges ("i was hoping",
# "any chance"), their cars named loosely, clock times said the long way, moves by an amount, corrections and
# asides. Without these the everyday words in between ("could", "guys", "back", "both", "been") are out of
# vocabulary and come out as whatever in-vocabulary word sounds nearest ("rogue", "october").
EVERYDAY_TEMPLATES = [
    # how a request starts
    "{opener} i need a {service}", "{opener} i was wondering if i could get a {service} {day}",
    "{opener} i was hoping to bring my {car} in {day}", "{opener} i wanted to set up a {service}",
    "{opener} this is {first} i need to make an appointment", "{opener} it's {first} {last} calling about my {car}",
    "{opener} i'm calling because {problem}", "{opener} {problem}", "{opener} i'd like to get a {service} {day}",
    "could i get a {service} {day}", "could you guys do a {service} {day}", "could you fit my {car} in {day}",
    "is there any chance you could look at my {car} {day}", "any chance you have something {day}",
    "could i swing by {day} for a {service}", "can i stop by {day} after work", "can you squeeze me in {day}",
    "i'd like to get my {car} looked at {day}", "can somebody take a look at it {day}",
    "i need someone to look at my {car}", "i think i need a {service}", "i think it needs a {service}",
    "it's probably due for a {service}", "it's overdue for a {service}",
    "i need a {service} and a {service} on my {car}",
    "i need a {service} on the {vehicle}", "while it's in there can you do a {service} too",
    "can you also do a {service}", "and a {service} too", "i'd like to get my tires rotated",
    "can you rotate the tires too", "can you check the coolant", "{problem} and {problem}",
    "{problem} for the last couple of days", "{problem} since yesterday", "{problem} so i think i need a {service}",
    "i need to get the {vehicle} in for a {service}", "i have a {year} {vehicle} and it needs a {service}",
    # when
    "{day} at half past {hour}", "{day} at quarter past {hour}", "{day} around {hour} in the morning",
    "{day} around {hour} in the afternoon", "at {hour} in the morning", "at {hour} in the afternoon",
    "{hour} o'clock in the morning", "{hour} o'clock in the afternoon", "sometime {day}", "sometime next week",
    "a week from today", "two weeks from now", "the week after next", "the end of next week", "early next week",
    "any day next week but {weekday}", "not {weekday} {weekday}", "{day} after work", "{day} before work",
    "{day} on my lunch break", "around lunchtime {day}", "{day} if that's possible", "{day} if you can",
    "what's the soonest you have", "the soonest you can get me in", "as soon as you can",
    "mornings are better for me", "afternoons are better for me", "i can do any time {day}", "anytime {day} works",
    "whenever works for you", "{weekday} the {ordinal}", "{month} {ordinal} in the morning",
    "on the {ordinal} of this month", "the {ordinal} of next month", "i have to be at work by {hour}",
    "not too early", "not before {hour}", "sometime after {hour}", "before {hour} if you can",
    # moving, cancelling, checking
    "can we push it back a day", "can we push it back an hour", "can you move it up an hour",
    "can we make it an hour later", "a couple hours later", "can we do the day after instead",
    "same time next week", "same time but on {weekday}", "can you move both of them to {day}",
    "move them both a week later", "can you push them all back a week", "can i move my {weekday} appointment to {day}",
    "i need to move the {service} to {day}", "i can't make it {day} anymore", "something came up and i can't make it",
    "i won't be able to make it {day}", "i need to cancel both of them", "go ahead and cancel it",
    "please take me off the schedule for {day}", "cancel the one on {day}", "cancel the {service} on {day}",
    "never mind", "forget it", "never mind i'll keep it", "when's my appointment", "what time am i coming in",
    "am i still booked for {day}", "just checking on my appointment",
    "i just wanted to make sure i'm still on for {day}",
    "what do i have coming up", "do i have anything booked", "i got a message about my appointment",
    # people and questions
    "can i talk to a manager", "i want to speak to a manager", "is there someone i can talk to",
    "who handles warranty claims", "can someone call me back", "can you have someone call me back",
    "i'd like to talk to somebody about my bill", "do you guys do {service}", "do you guys work on {make}",
    "how much do you charge for a {service}", "what does the {service} include", "are you open on sundays",
    "what are your hours on {weekday}", "what time do you close {day}", "how long is that going to take",
    "can i wait while you do it", "i'll drop it off in the morning and pick it up after work",
    "is it ready yet", "do you have a shuttle", "do you guys have loaners",
    # corrections, asides, short answers
    "no wait i meant {day}", "sorry i meant {time}", "actually make that {time}", "actually can we do {day} instead",
    "not {day} {day}", "no not that one the other one", "the {vehicle} not the {vehicle}", "it's for my {car}",
    "it's for the {vehicle}", "both cars need a {service}", "my {car} needs a {service} too",
    "yeah i'll be there", "yes we'll be there", "i can still make it", "yes that still works", "hold on let me check",
    "let me check my calendar", "i'm driving right now", "can you call me back later", "sorry what was that",
    "i don't know", "i'm not sure", "i don't remember the year", "i'm not sure what year it is", "i guess so",
    "oh sorry", "hang on a second", "okay great thanks", "alright thank you",
    # the shop's own names for its work and what callers say about it ({shop}: from its service list)
    "{shop}", "i need the {shop}", "my {car} needs the {shop}", "is it time for the {shop}", "it's the {shop}",
    "i'm calling about the {shop}", "{opener} i need to book the {shop}", "how much is the {shop}",
    # more of the everyday: the car's history, who else is involved, asides, thinking aloud
    "i've been meaning to bring it in", "i've got a {vehicle}", "i've had it for a while", "i bought it used",
    "it started making a noise {day}", "it's been doing that for a while", "it's pretty bad", "it's not that bad",
    "it's getting worse", "a little bit", "it's kind of loud", "my husband says it needs a {service}",
    "my wife says {problem}", "my son's car needs a {service}", "my neighbor told me about you",
    "a friend recommended you", "i'm not in a hurry", "whenever's easiest for you", "whichever's earlier",
    "whatever's open {day}", "can you put me down for {day}", "put me in for {day} at {time}", "let's do {day}",
    "let's go with {time}", "let's do the first one", "yup that works", "yup", "mm hmm", "uh huh that's right",
    "ah okay", "hmm let me think", "i'm in the area {day}", "i'll be around {day}", "i work during the day",
    "i'm stuck in traffic", "i'm at work right now", "i already have an appointment {day}",
    "i have two appointments", "both of my appointments", "one of my appointments", "the one on {weekday}",
    "the other one", "move the {weekday} one to {day}", "the {service} one", "the second one is for my {car}",
    "it's under my wife's name", "it might be under my husband's name", "i'm calling for my mom",
    "i'm calling on behalf of my dad", "the front brakes", "the front tires", "the rear brakes",
    "something under the front", "what's included in the {service}", "how much will that run me",
    "is there a direct line", "i saw the price online", "i forgot to tell you", "i almost forgot",
    "one more thing", "i thought it was at {time}", "i thought it was on {weekday}", "i thought it was later",
    "it's a newer {make}", "it's an older {make}", "the newer one", "the older one", "the old one", "the new one",
    "the engine light popped on", "it needed a jump", "the needle keeps climbing", "especially on the highway",
    "especially when it's cold", "when i go over bumps", "when i turn the wheel", "when i hit the brakes",
    "when it shifts gears", "the tread is almost gone", "can you call me back on this number",
    "this is the best number to reach me", "i'm calling from my work phone", "i'm calling from my cell",
    "someone in the service department", "i was looking at {day}", "i was thinking {day}",
    "i was thinking maybe {time}", "how does {day} look", "what about {day}", "what does {day} look like",
    "okay {day} then", "{time} then", "and then a {service}", "after that", "that's the one",
]  # fmt: skip
OPENERS = ["hi", "hey", "hello", "hi there", "hey there", "good morning", "good afternoon", "yeah hi", "hi yes",
           "morning", "hi how are you", "hey how's it going", "oh hi"]  # fmt: skip
CARS = ["car", "truck", "van", "suv", "wife's car", "husband's truck", "son's car", "daughter's car", "other car",
        "work truck", "new car", "old car"]  # fmt: skip


# What each question's answers look like. Slots are those of TEMPLATES plus {choice}, {vin}, {zip}, {weekday}
# and {month}; a hint with concrete options fills {time}, {day}, {weekday} and {phrase} with just those.
HINT_TEMPLATES: dict[Expect, list[str]] = {
    Expect.REQUEST: [
        "i'd like to book a {service}", "i'd like to book a {service} {day}", "i need a {service} {day}",
        "i'd like to make an appointment for a {service}", "i need to schedule a {service} for my {vehicle}",
        "can i bring my car in {day} for a {service}", "can i get my {vehicle} in {day}",
        "do you have any openings {day}", "do you have anything {day} around {time}", "is there any room {day}",
        "could you fit me in {day} for a {service}", "i want to bring the {vehicle} in {day}",
        "{problem} can someone take a look at it {day}", "{problem} can you guys look at it",
        "i think {problem}", "{problem} and i need a {service}", "i need to get my {vehicle} looked at",
        "i need to cancel my {service} {day}", "i need to cancel my appointment", "can you cancel my appointment",
        "i have to cancel my appointment for {day}", "i need to move my appointment to {day}",
        "can i reschedule my {service} to {day} at {time}", "can we push my appointment back to {day}",
        "i'd like to change my appointment to {time}", "can you move my {service} to {day}",
        "when is my appointment", "i'm calling to check on my appointment", "do i have an appointment {day}",
        "is my appointment still on for {day}", "{human}", "{info}", "i'd like to talk to someone about my car",
        "this is {first} {last} i need a {service}", "hi this is {first} i'd like to book a {service} {day}",
        "my {vehicle} needs a {service} can i come in {day}", "i need a {service} and a {service}",
        "i need a {service} {day} in the morning", "a {service} {day} at {time}",
        "i'd like to bring my {vehicle} in for a {service} {day} at {time}",
        "can i drop my car off {day} for a {service}", "i need to get my {vehicle} in for a {service}",
        "i'm calling to book a {service}", "i was hoping to get a {service} {day}",
        "i need the {shop}", "i'd like to book the {shop} {day}", "{problem} i think it needs the {shop}",
    ],
    Expect.ANYTHING_ELSE: [
        "{no}", "{bye}", "{no} {bye}", "{no} that's it", "{no} that's all", "{no} that's everything",
        "that's it {bye}", "{no} i'm good", "{no} i'm all set", "{no} that's all i needed", "{yes} {bye}",
        "{no} that's it {bye}", "{no} nothing else", "{yes} can i also book a {service}",
        "{yes} i need a {service} too", "actually can i also get a {service}", "{yes} {info}", "actually {info}",
        "{yes} one more thing", "{human}", "can you move my appointment to {day}",
        "{yes} i need to cancel my appointment",
        "actually can we move it to {day}", "actually make it {day} at {time}", "{yes} when is my appointment",
    ],
    Expect.CONFIRM: [
        "{yes}", "{no}", "{yes} please", "{yes} go ahead", "{yes} {yes}", "{yes} that's right", "{no} {no}",
        "{no} {day}", "{no} i said {day}", "{no} i said {time}", "{no} {time}", "{no} i need {day}",
        "{no} not {day}", "{no} {day} instead", "{no} {bye}", "{yes} {bye}", "{yes} {transport}",
        "{yes} book it", "{yes} that's me", "{no} that's not me",
    ],
    Expect.CHOICE: [
        "{yes}", "{no}", "{yes} please", "{yes} go ahead", "{choice}", "{yes} {choice}", "{choice} please",
        "{choice} works", "{choice} works for me", "{choice} is fine", "{choice} is good", "{time}", "at {time}",
        "{time} please", "{time} works", "{time} works for me", "{time} is good", "{time} is fine", "{yes} {time}",
        "{yes} {time} works", "the {time} one", "{day} at {time}", "{weekday} at {time}", "{no} {day} instead",
        "{no} {day} {time} instead", "{no} {time} instead", "how about {day}", "how about {time}",
        "{no} do you have anything {day}", "{no} {day}", "{no} something {day}", "{yes} {transport}",
        "{choice} {transport}", "{no} none of those work", "{no} {bye}", "{yes} the {phrase}", "the {phrase}",
        "{phrase}", "my {phrase}", "{phrase} please",
        # taking one with a word of its own, or turning them all down for another day
        "i'll take {choice}", "let's do {choice}", "{choice} sounds good", "{choice} is perfect", "{time} then",
        "{time} is perfect", "{yes} {time} is good", "{time} {yes}", "okay {time}", "{weekday}'s fine",
        "{weekday} would be better", "{weekday} would be better {choice}", "whatever's earliest", "whichever is first",
        "none of those really work for me", "do you have anything {day} instead", "anything later in the day",
        "anything earlier", "something in the afternoon", "something in the morning", "is there anything after {time}",
        "{no} those don't work", "{no} i can't do {day}",
    ],
    Expect.WHEN: [
        "{day}", "{day} at {time}", "{time}", "at {time}", "{day} {time}", "how about {day}",
        "how about {day} at {time}", "{day} works", "{day} if you have it", "{day} would be good", "anything {day}",
        "{day} around {time}", "maybe {day}", "the {ordinal}", "the {ordinal} at {time}", "{month} {ordinal}",
        "{month} {ordinal} at {time}", "the earliest you have", "{time} on {day}", "sometime {day}",
        "{day} in the morning", "{day} in the afternoon", "first thing {day}", "{weekday} or {weekday}",
        "do you have anything {day}", "can i come in {day}", "{day} after {time}", "{day} before {time}",
        "the {ordinal} of {month}", "as soon as possible", "whenever you have",
        # the same, said loosely: with "then", an amount of time ahead, or a day ruled out
        "{day} then", "okay {day} then", "{weekday}'s good", "{weekday}'s fine", "{day} is good", "{day} is fine",
        "okay then {day} at {time}", "any day but {weekday}", "not {weekday}", "in two weeks", "in three days",
        "in a couple of days", "a week later", "a week later if you can", "the week after", "next week sometime",
        "{day} or {day}", "{day} any time", "any time {day}", "{day} early", "{day} late in the day",
        "earlier that day", "later that day", "the same day but later", "a day later", "the next day",
    ],
    Expect.NAME: [
        "my name is {first} {last}", "this is {first} {last}", "it's {first} {last}", "{first} {last}", "{last}",
        "{first}", "my last name is {last}", "my first name is {first}", "it's under {last}",
        "it's under {first} {last}", "the last name is {last}", "{yes} it's {first} {last}", "{first} {last} here",
        "my name's {first}", "it's {last}", "{yes} {first} {last}",
    ],
    Expect.VEHICLE: [
        "it's a {year} {vehicle}", "a {year} {vehicle}", "{year} {vehicle}", "{vehicle} {year}", "it's a {vehicle}",
        "{vehicle}", "my {vehicle}", "i drive a {vehicle}", "i have a {year} {vehicle}", "the {vehicle}",
        "a {vehicle}", "the vin is {vin}", "the {phrase}", "{phrase}", "my {phrase}",
    ],
    Expect.POSTAL_CODE: [
        "{zip}", "my zip is {zip}", "my zip code is {zip}", "it's {zip}", "zip code {zip}", "the zip is {zip}",
        "{yes} {zip}", "it's {zip} i think",
    ],
    Expect.SERVICE: [
        "{service}", "a {service}", "i need a {service}", "just a {service}", "i'd like a {service}",
        "i need to get a {service}", "{problem}", "a {service} and a {service}", "i need a {service} and a {service}",
        "{service} please", "i think {problem}", "{problem} and {problem}", "{yes} a {service}", "the {phrase}",
        "{phrase}", "{phrase} please", "{shop}", "the {shop}", "{shop} please", "i need the {shop}",
    ],
}  # fmt: skip


def time_phrases(value: time) -> list[str]:
    """How a caller says a clock time: "nine", "nine o'clock", "nine a.m.", "eleven thirty", "noon"."""
    hour = HOURS[(value.hour % 12 or 12) - 1]
    half = "a.m." if value.hour < 12 else "p.m."
    if value.minute == 0:
        out = [hour, f"{hour} o'clock", f"{hour} {half}"]
        if value.hour == 12:
            out.append("noon")
        return out
    minute = ("oh " if value.minute < 10 else "") + number_words(value.minute)
    out = [f"{hour} {minute}", f"{hour} {minute} {half}"]
    if value.minute == 30:
        out.append(f"half past {hour}")
    elif value.minute == 15:
        out.append(f"quarter past {hour}")
    return out


def _zip_codes(count: int = 120) -> list[str]:
    out = []
    for i in range(count):
        digits = [ONES[(i * 37 + k * (i % 7 + 3)) % 10] for k in range(5)]
        spoken = " ".join(digits)
        out.append(spoken.replace("zero", "oh") if i % 3 else spoken)
    return out


def _vin_fragments(count: int = 20) -> list[str]:
    n = len(VIN_CHARACTERS)
    return [" ".join(VIN_CHARACTERS[(i * 7 + k * (i % 5 + 11)) % n] for k in range(4 + i % 5)) for i in range(count)]


def shop_phrases(services: Iterable[str] = ()) -> list[str]:
    """The shop's own service names and keywords (`services`: the words the understanding layer matches a request
    against), the ones our everyday names do not already say. They get templates of their own ({shop}): the
    keywords mix services with symptoms ("slow start"), which read wrongly in a "{service}" sentence."""
    known = set(SERVICES) | set(PROBLEMS)
    return [p for p in dict.fromkeys(normalize_text(s) for s in services) if p and p not in known]


def _slot_values(extra_names: list[str], services: Iterable[str] = ()) -> dict[str, list[str]]:
    return {
        "shop": shop_phrases(services), "service": SERVICES, "problem": PROBLEMS, "vehicle": _vehicles(),
        "day": _days(), "time": _times(),
        "ordinal": [ordinal_words(n) for n in range(1, 32)], "first": FIRST_NAMES + extra_names,
        "last": LAST_NAMES + extra_names, "year": _years(),
        "number": _numbers(), "yes": with_priors(YES), "no": with_priors(NO), "bye": with_priors(GOODBYES),
        "human": HUMAN, "transport": TRANSPORT, "info": INFO, "make": MAKES, "choice": with_priors(CHOICES),
        "vin": _vin_fragments(), "zip": _zip_codes(),
        "weekday": WEEKDAYS, "month": MONTHS, "phrase": [], "opener": OPENERS, "car": CARS, "hour": HOURS,
    }  # fmt: skip


_STRIDES = (1, 7, 11, 13)
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE_FIX = [(re.compile(r"\ban ([^aeiou\s])"), r"a \1"), (re.compile(r"\ba ([aeiou])"), r"an \1")]


def normalize_text(text: str) -> str:
    """Lower-case words the way the dictionary spells them (keeps apostrophes, a/c, cr-v, a.m.)."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9'./\- ]+", " ", text)
    words = [w.strip(".-'/") if w not in CUSTOM_PRONUNCIATIONS and w not in ("a.m.", "p.m.") else w
             for w in text.split()]  # fmt: skip
    return " ".join(w for w in words if w)


def _step(length: int, count: int, k: int) -> int:
    """The stride through a slot's list of `length` values for `count` samples: wide enough that the samples
    spread over the whole list (each kind of value in proportion), coprime with it so none repeats early. A stride
    of 1 gave each template one stretch of the list: "move it to {day}" got only dates, never a weekday."""
    step = max(1, length // max(1, count)) * _STRIDES[k % len(_STRIDES)]
    while math.gcd(step, length) != 1:
        step += 1
    return step


def _expand(templates: list[str], slots: dict[str, list[str]], samples: int, *, fillers: bool = True) -> list[str]:
    sentences: list[str] = []
    for t_index, template in enumerate(templates):
        names = _SLOT.findall(template)
        if any(not slots[n] for n in names):
            continue  # e.g. {phrase} when the hint names no options
        count = 1 if not names else min(samples, max(len(slots[n]) for n in names))
        steps = [_step(len(slots[name]), count, k) for k, name in enumerate(names)]
        for i in range(count):
            # Walk each slot's list with a different stride so combinations vary between samples.
            values = {name: slots[name][(i * steps[k] + t_index * 13) % len(slots[name])]
                      for k, name in enumerate(names)}  # fmt: skip
            filler = FILLERS[(i + t_index) % len(FILLERS)] if fillers else ""
            sentence = filler + _SLOT.sub(lambda m, v=values: v[m.group(1)], template)
            for pattern, repl in _ARTICLE_FIX:
                sentence = pattern.sub(repl, sentence)
            sentences.append(normalize_text(sentence))
    return sentences


def _extra_names(extra_words: Iterable[str]) -> list[str]:
    return sorted({w for phrase in extra_words for w in normalize_text(phrase).split()})


def build_corpus(
    extra_words: Iterable[str] = (), *, services: Iterable[str] = (), samples_per_template: int = 40
) -> list[str]:
    """Sentences, deterministic for a given input. `extra_words`: names from the CRM and other words to know;
    `services`: the shop's service names and keywords."""
    extra = _extra_names(extra_words)
    slots = _slot_values(extra, services)
    sentences = _expand(TEMPLATES, slots, samples_per_template)
    sentences += _expand(EVERYDAY_TEMPLATES, slots, max(1, samples_per_template // 4))
    # Every slot value and every extra word at least once, so each is reachable in the model.
    for name in ("service", "vehicle", "day", "time", "number", "first", "last", "yes", "no", "bye", "human",
                 "info", "transport", "problem", "shop"):  # fmt: skip
        sentences.extend(normalize_text(v) for v in slots[name])
    for word in extra:
        sentences += [f"this is {word}", f"my name is {word}", f"it's under {word}", word]
    return [s for s in sentences if s and "{" not in s]


# Which slot lists must appear whole in a question's corpus, so every value is reachable with the hint's weight.
_HINT_LISTS = {
    Expect.REQUEST: ("service", "problem", "human", "info", "shop"),
    Expect.ANYTHING_ELSE: ("no", "bye"),
    Expect.CONFIRM: ("yes", "no"),
    Expect.CHOICE: ("yes", "no", "choice", "time"),
    Expect.WHEN: ("day", "time"),
    Expect.NAME: ("first", "last"),
    Expect.VEHICLE: ("vehicle", "year"),  # VIN characters only after "vin": alone they match any short word
    Expect.POSTAL_CODE: ("zip",),
    Expect.SERVICE: ("service", "problem", "shop"),
}


def build_hint_corpus(
    expect: Expect, extra_words: Iterable[str] = (), *, services: Iterable[str] = (), samples_per_template: int = 60
) -> list[str]:
    """The answers one kind of question expects, from the same word lists as the general corpus."""
    slots = _slot_values(_extra_names(extra_words), services)
    sentences = _expand(HINT_TEMPLATES[expect], slots, samples_per_template)
    for name in _HINT_LISTS[expect]:
        sentences.extend(normalize_text(v) for v in slots[name])
    return [s for s in sentences if s]


def build_options_corpus(hint: ListenHint, *, samples_per_template: int = 12) -> list[str]:
    """Answers naming the options a hint carries (the offered times, the caller's cars); [] when it has none."""
    overrides: dict[str, list[str]] = {}
    if hint.times:
        overrides["time"] = [p for t in hint.times for p in time_phrases(t)]
    if hint.weekdays:
        days = [WEEKDAYS[d] for d in sorted(set(hint.weekdays))]
        overrides["weekday"] = days
        overrides["day"] = days + [f"{p} {d}" for d in days for p in ("this", "on")]
    phrases = [normalize_text(p) for p in hint.phrases]
    if any(phrases):
        overrides["phrase"] = [p for p in phrases if p]
    if not overrides:
        return []
    slots = _slot_values([]) | overrides
    templates = [t for t in HINT_TEMPLATES[hint.expect] if set(_SLOT.findall(t)) & overrides.keys()]
    sentences = _expand(templates, slots, samples_per_template, fillers=False)
    for values in overrides.values():
        sentences.extend(values)
    return [s for s in sentences if s]


# ---------------------------------------------------------------------------------------------------------
# ARPA bigram model
# ---------------------------------------------------------------------------------------------------------


class NgramCounts:
    """Unigram, bigram and trigram counts of a corpus; counts of several corpora merge with integer weights."""

    def __init__(self) -> None:
        self.unigrams: Counter[str] = Counter()
        self.bigrams: dict[str, Counter[str]] = defaultdict(Counter)
        self.trigrams: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        self.tokens = 0

    def add(self, sentences: Iterable[str], weight: int = 1) -> NgramCounts:
        for sentence in sentences:
            words = [SENTENCE_START, *sentence.split(), SENTENCE_END]
            for w in words[1:]:
                self.unigrams[w] += weight
            for a, b in itertools.pairwise(words):
                self.bigrams[a][b] += weight
            for a, b, c in zip(words, words[1:], words[2:], strict=False):
                self.trigrams[(a, b)][c] += weight
            self.tokens += (len(words) - 1) * weight
        return self

    def add_counts(self, other: NgramCounts, weight: int = 1) -> NgramCounts:
        for w, c in other.unigrams.items():
            self.unigrams[w] += c * weight
        for table, others in ((self.bigrams, other.bigrams), (self.trigrams, other.trigrams)):
            for history, following in others.items():
                mine = table[history]  # type: ignore[index]
                for w, c in following.items():
                    mine[w] += c * weight
        self.tokens += other.tokens * weight
        return self


def blend(general: NgramCounts, parts: Iterable[tuple[NgramCounts, float]]) -> NgramCounts:
    """General counts plus each part weighted to hold its share of the total (count merging)."""
    parts = [(counts, share) for counts, share in parts if counts.tokens]
    rest = 1.0 - sum(share for _c, share in parts)
    if rest <= 0:
        raise ValueError("the shares of the parts must leave room for the general model")
    out = NgramCounts().add_counts(general)
    for counts, share in parts:
        weight = max(1, round(share / rest * general.tokens / counts.tokens))
        out.add_counts(counts, weight)
    return out


def write_arpa(
    sentences: Iterable[str], path: Path, *, unigram_floor: float = 0.5, order: int | None = None
) -> dict[str, int]:
    """Write a back-off n-gram model of `sentences` in ARPA format (see `write_counts`)."""
    return write_counts(NgramCounts().add(sentences), path, unigram_floor=unigram_floor, order=order)


def _discount(tables: Iterable[Counter[str]]) -> float:
    """Ney's estimate D = n1 / (n1 + 2 n2) from the counts of counts, kept within [0.1, 0.9]."""
    count_of_counts = Counter(c for following in tables for c in following.values())
    n1, n2 = count_of_counts.get(1, 0), count_of_counts.get(2, 0)
    discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
    return min(max(discount, 0.1), 0.9)


def write_counts(
    counts: NgramCounts, path: Path, *, unigram_floor: float = 0.5, order: int | None = None
) -> dict[str, int]:
    """Write a back-off bigram or trigram model (`order`, default NGRAM_ORDER) of `counts` in ARPA format.

    Absolute discounting: every seen n-gram gives up D = n1 / (n1 + 2 n2) of a count (Ney's estimate, per order),
    the freed mass backs off to the next lower order. Unigrams are add-`unigram_floor` smoothed so rare words stay
    reachable. Returns the n-gram counts written.
    """
    order = NGRAM_ORDER if order is None else order
    if order not in (2, 3):
        raise ValueError(f"order {order}: only bigram and trigram models")
    unigrams, bigrams = counts.unigrams, counts.bigrams
    vocab = sorted(unigrams)
    if not vocab:
        raise ValueError("empty corpus")
    total = sum(unigrams.values())
    denom = total + unigram_floor * len(vocab)
    p_uni = {w: (unigrams[w] + unigram_floor) / denom for w in vocab}

    discount = _discount(bigrams.values())
    p_bi: dict[str, dict[str, float]] = {}
    backoff: dict[str, float] = {}
    for history, following in bigrams.items():
        c_h = sum(following.values())
        probs = {w: (c - discount) / c_h for w, c in following.items()}
        left = 1.0 - sum(probs.values())  # = discount * len(following) / c_h
        lower = 1.0 - sum(p_uni[w] for w in following if w in p_uni)
        p_bi[history] = probs
        backoff[history] = left / lower if lower > 1e-12 else 1e-12

    # Trigrams back off to the bigram distribution of their last word; every trigram's two bigrams were counted
    # with it (same sentences, same weights), so the bigram probabilities below exist.
    p_tri: dict[tuple[str, str], dict[str, float]] = {}
    backoff2: dict[tuple[str, str], float] = {}
    if order == 3:
        discount3 = _discount(counts.trigrams.values())
        for (u, v), following in counts.trigrams.items():
            c_h = sum(following.values())
            probs = {w: (c - discount3) / c_h for w, c in following.items()}
            left = 1.0 - sum(probs.values())
            lower = 1.0 - sum(p_bi[v][w] for w in following)
            p_tri[(u, v)] = probs
            backoff2[(u, v)] = left / lower if lower > 1e-12 else 1e-12

    n_bigrams = sum(len(v) for v in p_bi.values())
    n_trigrams = sum(len(v) for v in p_tri.values())
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        out.write("\\data\\\n")
        out.write(f"ngram 1={len(vocab) + 1}\n")
        out.write(f"ngram 2={n_bigrams}\n")
        if p_tri:
            out.write(f"ngram 3={n_trigrams}\n")
        out.write("\n\\1-grams:\n")
        out.write(f"-99.0000 {SENTENCE_START} {math.log10(backoff[SENTENCE_START]):.4f}\n")
        for w in vocab:
            bow = f" {math.log10(backoff[w]):.4f}" if w in backoff else ""
            out.write(f"{math.log10(p_uni[w]):.4f} {w}{bow}\n")
        out.write("\n\\2-grams:\n")
        for history in sorted(p_bi):
            for w, p in sorted(p_bi[history].items()):
                bow = f" {math.log10(backoff2[(history, w)]):.4f}" if (history, w) in backoff2 else ""
                out.write(f"{math.log10(p):.4f} {history} {w}{bow}\n")
        if p_tri:
            out.write("\n\\3-grams:\n")
            for u, v in sorted(p_tri):
                for w, p in sorted(p_tri[(u, v)].items()):
                    out.write(f"{math.log10(p):.4f} {u} {v} {w}\n")
        out.write("\n\\end\\\n")
    os.replace(tmp, path)
    written = {"unigrams": len(vocab) + 1, "bigrams": n_bigrams}
    if p_tri:
        written["trigrams"] = n_trigrams
    return written


# ---------------------------------------------------------------------------------------------------------
# Pronunciations
# ---------------------------------------------------------------------------------------------------------


@cache
def _cmudict_text() -> str:
    from pocketsphinx import get_model_path

    return (Path(get_model_path()) / "en-us" / "cmudict-en-us.dict").read_text(encoding="utf-8")


def cmudict_lookup(words: Iterable[str]) -> dict[str, list[str]]:
    """Pronunciations (all variants) of the given words from the cmudict that ships with pocketsphinx."""
    wanted = set(words)
    found: dict[str, list[str]] = defaultdict(list)
    if len(wanted) > 50:  # one pass over the file
        for line in _cmudict_text().splitlines():
            head, _, phones = line.partition(" ")
            word = head.split("(", 1)[0]
            if word in wanted:
                found[word].append(phones.strip())
    else:  # a few hint words: search instead of splitting 135k lines
        text = _cmudict_text()
        for word in wanted:
            for m in re.finditer(rf"^{re.escape(word)}(?:\(\d+\))? (.+)$", text, flags=re.MULTILINE):
                found[word].append(m.group(1).strip())
    return dict(found)


# eSpeak NG's en-us IPA -> CMU phones. Longest symbols are matched first.
IPA_TO_CMU = {
    "aɪɚ": "AY ER", "aɪə": "AY AH", "ɑːɹ": "AA R", "ɔːɹ": "AO R", "ɛɹ": "EH R", "ɪɹ": "IH R", "ʊɹ": "UH R",
    "ɜːɹ": "ER", "iə": "IY AH", "aɪ": "AY", "aʊ": "AW", "eɪ": "EY", "oʊ": "OW", "ɔɪ": "OY", "tʃ": "CH",
    "dʒ": "JH", "ɑː": "AA", "ɔː": "AO", "ɜː": "ER", "iː": "IY", "uː": "UW", "oː": "OW", "n̩": "AH N",
    "l̩": "AH L", "m̩": "AH M", "ɑ": "AA", "æ": "AE", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɔ": "AO", "ɛ": "EH",
    "ɜ": "ER", "ɚ": "ER", "ɪ": "IH", "ᵻ": "IH", "i": "IY", "ʊ": "UH", "u": "UW", "o": "OW", "e": "EH", "a": "AE",
    "b": "B", "d": "D", "f": "F", "h": "HH", "k": "K", "l": "L", "ɫ": "L", "m": "M", "n": "N", "p": "P",
    "s": "S", "t": "T", "v": "V", "w": "W", "z": "Z", "ɡ": "G", "g": "G", "ŋ": "NG", "θ": "TH", "ð": "DH",
    "ʃ": "SH", "ʒ": "ZH", "j": "Y", "ɹ": "R", "r": "R", "ɾ": "T", "ʔ": "T", "x": "K", "ç": "HH", "ɬ": "L",
}  # fmt: skip
_IPA_KEYS = sorted(IPA_TO_CMU, key=len, reverse=True)
_IPA_IGNORED = str.maketrans("", "", "ˈˌ-‿|.")


def ipa_to_cmu(ipa_phonemes: str) -> str | None:
    """'_'-separated IPA phonemes (eSpeak) -> space-separated CMU phones; None if a symbol is unknown."""
    phones: list[str] = []
    for symbol in ipa_phonemes.translate(_IPA_IGNORED).split("_"):
        rest = symbol
        while rest:
            for key in _IPA_KEYS:
                if rest.startswith(key):
                    phones.extend(IPA_TO_CMU[key].split())
                    rest = rest[len(key) :]
                    break
            else:
                if rest[0] == "ː":  # stray length mark
                    rest = rest[1:]
                    continue
                return None
    # eSpeak sometimes doubles a consonant across a syllable boundary ("mjʊɹ_ɹˈɑː"); CMU never does.
    deduped = [p for i, p in enumerate(phones) if i == 0 or p != phones[i - 1] or p in _VOWELS]
    return " ".join(deduped) or None


_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}


def espeak_pronunciations(words: Iterable[str]) -> dict[str, str]:
    """Letter-to-sound by eSpeak NG for words cmudict lacks (names, models)."""
    from calls.voice.providers.espeak import text_to_ipa

    out: dict[str, str] = {}
    for word in words:
        spoken = word.replace("-", " ").replace("/", " ")
        ipa = text_to_ipa(spoken)
        phones = [ipa_to_cmu(p) for p in ipa]
        if ipa and all(phones):
            out[word] = " ".join(p for p in phones if p)
        else:
            logger.warning("no pronunciation for %r (eSpeak gave %r)", word, ipa)
    return out


def pronunciations(words: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """({word: [phones, ...]}, [words we cannot pronounce])."""
    words = sorted(set(words))
    result: dict[str, list[str]] = {w: list(CUSTOM_PRONUNCIATIONS[w]) for w in words if w in CUSTOM_PRONUNCIATIONS}
    missing = [w for w in words if w not in result]
    result.update(cmudict_lookup(missing))
    missing = [w for w in missing if w not in result]
    if missing:
        guessed = espeak_pronunciations(missing)
        result.update({w: [p] for w, p in guessed.items()})
        missing = [w for w in missing if w not in guessed]
    return result, missing


# ---------------------------------------------------------------------------------------------------------
# The cached model files
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageModelFiles:
    lm_path: Path  # the general domain model
    dict_path: Path  # pronunciations of every word of every model below
    key: str
    words: frozenset[str]  # what the dictionary can say
    hint_paths: dict[Expect, Path] = field(default_factory=dict)  # one blended model per kind of question
    extra_words: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


def cache_root() -> Path:
    try:
        from django.conf import settings

        root = Path(settings.VAR_DIR) / "speech"
    except Exception:  # noqa: BLE001 - usable outside a configured Django project (scripts, benchmarks)
        root = Path(tempfile.gettempdir()) / "bartsvoice-speech"
    root.mkdir(parents=True, exist_ok=True)
    return root


_build_lock = threading.Lock()


def _hint_path(target: Path, expect: Expect) -> Path:
    return target / f"hint-{expect.value}.arpa"


def _read_dictionary_words(dict_path: Path) -> frozenset[str]:
    return frozenset(line.split(" ", 1)[0].split("(", 1)[0] for line in dict_path.read_text().splitlines())


def build_language_model(
    extra_words: Iterable[str] = (), *, services: Iterable[str] = (), directory: Path | None = None
) -> LanguageModelFiles:
    """Build (or reuse from the cache) the domain LM, one blended LM per kind of question, and the dictionary.
    Slow on a cache miss (~1-2 s): call from a thread, at process start."""
    extra = tuple(sorted(set(extra_words)))
    shop = tuple(dict.fromkeys(services))
    corpus = build_corpus(extra, services=shop)
    hints = {expect: build_hint_corpus(expect, extra, services=shop) for expect in Expect}
    # The pronunciation tables and the blend are part of the key, so editing them rebuilds everything.
    recipe = [FORMAT_VERSION, repr(sorted(CUSTOM_PRONUNCIATIONS.items())), repr(sorted(IPA_TO_CMU.items())),
              f"hint share {HINT_SHARE}", f"order {NGRAM_ORDER}"]  # fmt: skip
    sections = [*recipe, *corpus]
    for expect, sentences in hints.items():
        sections += [f"[{expect.value}]", *sentences]
    key = hashlib.sha256("\n".join(sections).encode()).hexdigest()[:16]
    target = (directory or cache_root()) / key
    lm_path, dict_path = target / "domain.arpa", target / "domain.dict"
    hint_paths = {expect: _hint_path(target, expect) for expect in Expect}
    with _build_lock:
        if all(p.exists() for p in (lm_path, dict_path, *hint_paths.values())):
            words = _read_dictionary_words(dict_path)
            return LanguageModelFiles(lm_path, dict_path, key, words, hint_paths, extra, shop)
        target.mkdir(parents=True, exist_ok=True)
        vocab = {w for sentences in (corpus, *hints.values()) for s in sentences for w in s.split()}
        prons, unknown = pronunciations(vocab)
        if unknown:
            logger.warning("speech model: dropping %d sentence words without pronunciation: %s", len(unknown), unknown)
        words = frozenset(vocab - set(unknown))
        general, per_hint = _model_counts(corpus, hints, words)
        counts = write_counts(general, lm_path)
        for expect, hint_counts in per_hint.items():
            write_counts(blend(general, [(hint_counts, HINT_SHARE)]), hint_paths[expect])
        write_dictionary(prons, dict_path, only=set(words))
        _counts_cache[key] = (general, per_hint)
        logger.info("speech model %s: %d sentences, %s, %d question models", key, len(corpus), counts, len(hints))
        return LanguageModelFiles(lm_path, dict_path, key, words, hint_paths, extra, shop)


def _known(sentences: Iterable[str], words: frozenset[str]) -> list[str]:
    return [s for s in sentences if words.issuperset(s.split())]


def _model_counts(
    corpus: list[str], hints: dict[Expect, list[str]], words: frozenset[str]
) -> tuple[NgramCounts, dict[Expect, NgramCounts]]:
    general = NgramCounts().add(_known(corpus, words))
    return general, {expect: NgramCounts().add(_known(s, words)) for expect, s in hints.items()}


_counts_cache: dict[str, tuple[NgramCounts, dict[Expect, NgramCounts]]] = {}


def _counts_for(files: LanguageModelFiles) -> tuple[NgramCounts, dict[Expect, NgramCounts]]:
    cached = _counts_cache.get(files.key)
    if cached is None:
        corpus = build_corpus(files.extra_words, services=files.services)
        hints = {expect: build_hint_corpus(expect, files.extra_words, services=files.services) for expect in Expect}
        cached = _counts_cache[files.key] = _model_counts(corpus, hints, files.words)
        while len(_counts_cache) > 4:
            _counts_cache.pop(next(iter(_counts_cache)))
    return cached


def prepare_options(files: LanguageModelFiles) -> None:
    """Count the corpora the options models blend (~0.3 s), ahead of the first hint that names options."""
    with _build_lock:
        _counts_for(files)


def options_model(files: LanguageModelFiles, hint: ListenHint, *, known: Iterable[str] = ()) -> Path | None:
    """The question's model with the options the hint names weighted further (None: the hint names none).

    Built on first use (~0.1 s; call from a worker thread between utterances) and cached next to the models
    it blends, under a hash of what it was built from. `known`: words the decoder has learnt beyond the
    dictionary (the caller's own names), which the options may use.
    """
    words = files.words | frozenset(known)
    options = _known(build_options_corpus(hint), words)
    if not options:
        return None
    digest = hashlib.sha256(
        "\n".join([hint.expect.value, f"share {OPTIONS_SHARE}", f"order {NGRAM_ORDER}", *options]).encode()
    )
    path = files.lm_path.parent / f"options-{hint.expect.value}-{digest.hexdigest()[:16]}.arpa"
    with _build_lock:
        if path.exists():
            return path
        general, per_hint = _counts_for(files)
        # The options take their share out of the question's part: the general part is the same as without them.
        parts = [(per_hint[hint.expect], HINT_SHARE * (1 - OPTIONS_SHARE)),
                 (NgramCounts().add(options), HINT_SHARE * OPTIONS_SHARE)]  # fmt: skip
        write_counts(blend(general, parts), path)
        return path


def write_dictionary(prons: dict[str, list[str]], path: Path, *, only: set[str] | None = None) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for word in sorted(prons):
            if only is not None and word not in only:
                continue
            for i, phones in enumerate(dict.fromkeys(prons[word])):
                out.write(f"{word if i == 0 else f'{word}({i + 1})'} {phones}\n")
    os.replace(tmp, path)
