"""More answers to the shop's reminder call (issue 9): the ones a caller gets lost on.

- yes in more words ("should be good", "yessir", "I plan on it", "I guess") and "15 minutes late";
- "yeah no, I can't", "I won't need it, the noise went away", "later in the week", "what's the earliest you have?";
- "is this a scam?", "how did you get my number?", "I can't hear you";
- someone else picks up ("this is his son, can I take a message?", "Linda doesn't live here anymore");
- the caller means another appointment of theirs today ("is this about the brake job today?");
- "f*** off", "leave me alone";
- a question with the yes, or right after it: loaners, the shuttle, hours, where, waiting, the total, when it is
  ready, a text, another appointment, someone else bringing the car. Answered from the shop's data (get_shop_info,
  get_business_hours, get_services) and the appointment itself, never made up;
- a service taken off (flows.reminder_requests) or the other car booked the same day (flows.reminder_second_car);
  what this call cannot make (a car not on the account): noted for a service advisor's call-back.

ReminderFlow calls `reminder_reply` before its own reading of the line, `reminder_follow_up` after the
confirmation, and `reminder_cancel_reply` on the cancel read-back.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING

from django.conf import settings

from calls.agent import nlu
from calls.agent.flows.reminder_answers import THIRD_PARTY, TRYING, UNSURE, may_ask_removal, read_answer
from calls.agent.flows.reminder_host import ReminderHost
from calls.agent.flows.shop_visit import bringing_answer, may_wait, waiting_answer
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import (
    LOANER_ALREADY,
    LOANER_RELEASED,
    LOANER_RESERVED,
    NO_LOANER_ON_IT,
    NOT_SURE_ACK,
    call_us_to_check_sentence,
    join_words,
    loaner_sentences,
    location_sentences,
    services_phrase,
    shuttle_sentences,
    spoken_duration,
    spoken_price,
    spoken_time,
)
from calls.agent.reminder_script import CAN_YOU_MAKE_IT, reminded_appointment, what_phrase, when_phrase
from calls.agent.understanding.questions import shop_question

if TYPE_CHECKING:
    from calls.agent.flows.reminder_answers import ReminderAnswer

# Yes, in words the first reading misses.
_MORE_YES = re.compile(
    r"^(yes ?sir|yes maam|yessir|yessum)\b|\b(should be good|should be ok(ay)?|i plan on it|"
    r"planning to be there|ill be in|were set|all set|you bet|for sure)\b"
)
_BARE_YES = re.compile(r"^(yes|yeah|yep|yup|sure|ok|okay|mm hmm|uh huh)( please)?$")
_I_GUESS = re.compile(r"^(i guess( so)?|guess so|i suppose( so)?)$")
_MINUTES_LATE = re.compile(r"\b(\d+|a few|few|couple( of)?|ten|fifteen|twenty|five) (minutes?|mins?) late\b")
# "yeah no, I can't", "no I can't make it": not coming, nothing said yet about moving or cancelling.
_CANT = re.compile(
    r"^(yeah |yes |no |nah |sorry |unfortunately )*(no )?(i|we) (cant|cannot|wont be able to|wont)"
    r"( (make it|come|do it|be there|do tomorrow|make tomorrow))?( tomorrow)?$|^(yeah|yes) no\b"
)
_MOVE_WORDS = re.compile(r"\b(move|another|different|other|reschedule|change|instead|later|earlier)\b")
_NO_LONGER_NEEDED = re.compile(
    r"\b(wont|dont|no longer) need (it|the appointment|to come( in)?)\b|"
    r"\b(noise|sound|problem|issue|leak|light|it) (went away|stopped|is gone|fixed itself|cleared up)\b"
)
_LATER_IN_WEEK = re.compile(r"\b(later|end|rest) (in|of) (the|this) week\b|\blater this week\b")
_EARLIEST = re.compile(r"\b(earliest|soonest|first (available|opening))\b")
_SCAM = re.compile(
    r"\b(scam|scammer|spam|legit|is this real|fraud|fishy|sketchy|suspicious|phishing|"
    r"how do i know (this|youre|it s|its|you are) (real|legit|really|actually|you))\b"
)
# "What's your number?", "give me a number I can call": the shop's own number, to call it back and check.
_YOUR_NUMBER = re.compile(
    r"\b((whats|what is|what s) (your|the|ur) (phone )?number|what number (can|do|should|could) (i|we) call|"
    r"give me (a|your|the) (phone )?number|number (i|we) can call|(your|a) (phone )?number to call)\b"
)
_HOW_NUMBER = re.compile(r"\b(how|where) did you get (my|this) (number|phone)\b|\bwhy do you have my number\b")
_CANT_HEAR = re.compile(
    r"\b(cant|cannot|cant|could not|couldnt) (hear|understand) (you|that|anything)\b|\byoure breaking up\b|"
    r"\bbad (line|connection)\b"
)
_HOSTILE = re.compile(
    r"\b(f+\W*off|fuck|leave me alone|(im|were) not interested$|piss off|go away|screw (you|off)|shut up)\b", re.I
)
_MOVED_AWAY = re.compile(
    r"\b(doesnt|does not|dont) live here|(no longer|not) (lives?|living) here|(moved out|moved away)\b"
)
_TODAY = re.compile(r"\btoday\b")
_SWAP = re.compile(r"\b(instead of|rather than|swap|switch|replace)\b")
_OTHER_CAR_TOO = re.compile(r"\b(too|also|as well|while (its|it is) there|other (car|vehicle|truck)|second car)\b")
_OTHER_CAR = re.compile(r"\b(other (car|vehicle|truck)|second (car|vehicle)|on my \w+ too|the \w+ too)\b")
_ADD = re.compile(r"\b(add|also|too|as well|while its there|throw in)\b")
_IT_MOVE = re.compile(r"\b(change|move|make|switch|push|bump) (it|that)\b|\binstead\b")

# Questions about the visit, in the turn of the yes or on their own: name -> pattern.
_QUESTIONS: list[tuple[str, re.Pattern]] = [
    (
        "loaner_mine",
        re.compile(
            r"\bloaner\b.{0,30}\b(reserved|booked|set up|lined up|for me|still)\b|"
            r"\b(still|do i) (have|get) (a|the|my) loaner\b"
        ),
    ),
    ("shuttle", re.compile(r"\bshuttle\b|\b(pick me up|give me a ride|drive me|ride (home|back))\b")),
    ("loaner", re.compile(r"\b(loaners?|loan car|courtesy car|rental)\b")),
    (
        "hours",
        re.compile(
            r"\b(what time|when) (do|does|are|will) (you|ya|yall|the shop|you guys)\b.{0,12}"
            r"\b(open|close)\b|\byour hours\b"
        ),
    ),
    (
        "night_before",
        re.compile(
            r"\bnight before\b|\b(drop|leave) (it|the car) (off )?(tonight|early|the evening)\b|"
            r"\bafter hours\b|\bkey drop\b"
        ),
    ),
    (
        "wait",
        re.compile(
            r"\b(can|could|should|may) i (wait|stay)\b|\bwait (there|while|for it)\b|\bwaiting (room|area|lounge)\b|"
            r"\b(somewhere|anywhere|someplace|a place|place) to (sit|wait)\b"
        ),
    ),
    ("bring", re.compile(r"\b(bring|need) anything\b|\b(need|have) to bring\b|\bshould i bring\b")),
    ("total", re.compile(r"\b(total|altogether|all together|in all)\b|\bhow much (will|is) (it|that|this) (be|come)")),
    ("ready", re.compile(r"\b(ready|done|finished) (by|at|before|in time)\b|\bwhen will it be (ready|done)\b")),
    ("text", re.compile(r"\b(text|email|e mail) (me|it)\b|\bsend (me )?(a text|the details|it)\b")),
    (
        "someone_else",
        re.compile(
            r"\b(wife|husband|son|daughter|partner|friend|someone|somebody|brother|sister|mom|dad|mother|father|"
            r"coworker|boyfriend|girlfriend) (will|can|is going to|gonna|could|might) (bring|drop|come)\b"
        ),
    ),
    ("other_appt", re.compile(r"\b(appointment|appt|one) (on|for) (the )?(\d+(st|nd|rd|th)?|\w+day)\b")),
]


# A line that cancels or moves something is read the usual way, whatever else it asks ("cancel the one on Thursday").
_CHANGES = re.compile(r"\b(cancel|move|reschedule|push|postpone|bump)\b")


def reminder_question(said: str) -> str:
    """The kind of question about the visit asked in the line ("" for none)."""
    if _CHANGES.search(said):
        return ""
    for kind, rx in _QUESTIONS:
        if rx.search(said):
            return kind
    return "location" if shop_question(said) == "location" else ""


class ReminderRepliesFlow(ReminderHost):
    # --- the answer to "can you still make it?" ---------------------------------------------------------------
    def reminder_reply(self, u: nlu.Understanding, a: ReminderAnswer, said: str) -> bool:
        """The answers handled here; False lets ReminderFlow read the line (`a` may be completed first)."""
        task = self.st.task
        if task.kind == "reminder_stop_offer":
            return self.on_stop_offer(u, said)
        if self.st.expect == Expect.REMINDER_CHANGE and _BARE_YES.match(said):
            # "yes" to "move it or cancel it?": neither; never a confirmation of the day they can't make
            self.ask(
                "Sorry, which would you like: move it to another day, or cancel it?", Expect.REMINDER_CHANGE, "intent"
            )
            return True
        if _HOSTILE.search(said) and not a.yes:
            return self.offer_to_stop_calling()
        if _MOVED_AWAY.search(said):
            return self.customer_moved_away()
        if THIRD_PARTY.search(said) and not self.speaks_for_customer(u, a, said):
            return self.take_message()  # with an answer for them ("this is her husband, she'll be there"), read on
        if _CANT_HEAR.search(said) and not a.yes:
            return self.repeat_reminder()
        if _SCAM.search(said) or _HOW_NUMBER.search(said) or (_YOUR_NUMBER.search(said) and not a.yes):
            return self.say_who_we_are(scam=bool(_SCAM.search(said)), number=bool(_YOUR_NUMBER.search(said)))
        if a.loaner_change:
            return self.change_loaner(a.loaner_change, yes=a.yes and not UNSURE.search(said))
        if _TODAY.search(said) and self.means_today(u, said):
            return True
        if _NO_LONGER_NEEDED.search(said):
            return self.ask_reminder_cancel(u)
        if _I_GUESS.match(said):
            return self.confirm_reminder()
        if TRYING.search(said) and not re.search(r"\b(cant|cannot|wont|not|no)\b", said) and not u.has_when:
            return self.confirm_not_sure()  # "I'll try to make it": put down as coming, noted as not sure
        if _MORE_YES.search(said) and not re.search(r"\b(cant|cannot|wont|not)\b", said):
            a.yes = True
        if _MINUTES_LATE.search(said):
            a.late = True
        if _CANT.search(said) and not u.has_when:
            self.ask(
                "No problem. Would you like to move it to another day, or cancel it?", Expect.REMINDER_CHANGE, "intent"
            )
            return True
        if _LATER_IN_WEEK.search(said):
            return self.move_later_in_week()
        if _EARLIEST.search(said) and (u.date is None or u.date.soonest):
            return self._move_within(u.date, u.time or nlu.TimePref(earliest=True, label="the soonest opening"))
        if self.swap_or_car_said(u, yes=a.yes and not UNSURE.search(said)):
            return True  # flows.reminder_requests: a swap or the other car, read back and made on this call
        if self.removal_said(u, yes=a.yes and not UNSURE.search(said)):
            return True  # "skip the tire rotation, just the oil change": what remains read back, then taken off
        if self.second_car_said(u, yes=a.yes and not UNSURE.search(said)):
            return True  # flows.reminder_second_car: "can you do my wife's Civic too while it's there?"
        if self.service_change(u, a, said):
            return True  # what this call cannot make: noted for an advisor
        return self.answer_with_yes(u, a, said)

    def answer_with_yes(self, u: nlu.Understanding, a: ReminderAnswer, said: str) -> bool:
        """ "Yes. Do you have loaners?": confirmed, and the question answered in the same turn."""
        kind = reminder_question(said)
        if not kind:
            return False
        sentences = self.visit_answer(kind, u)
        if a.yes and not re.search(r"\b(cant|cannot|maybe|not sure)\b", said):
            self.confirm_reminder(goodbye=False)
            self.say(*sentences)
            self.anything_else()
            return True
        self.say(*sentences)
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    # --- after the confirmation: "is the loaner still reserved?", "actually can I change it to 11?" -------------
    def reminder_follow_up(self, u: nlu.Understanding) -> bool:
        if self.ctx.direction != "outbound" or not self.ctx.appointment_id:
            return False
        said = nlu.normalize(u.text)
        answer = read_answer(u.text, self.now)
        if answer.loaner_change and self.reminded_again():
            return self.change_loaner(answer.loaner_change, yes=False)  # "oh, and can I get a loaner?" after the yes
        if answer.asks in ("price", "duration") and self.reminded_again():
            answer.yes = False  # confirmed already
            if self.other_service_asked(u, answer):  # "how much to add wipers?" after the yes
                return True
            self.st.task = None
        kind = reminder_question(said)
        moves = bool(_IT_MOVE.search(said) and (u.has_when or u.intent == "reschedule") and not u.services)
        removes = bool(u.services) and not kind and not moves and may_ask_removal(said)
        other_car = not kind and not moves and bool(_OTHER_CAR_TOO.search(said))
        if not (kind or moves or removes or other_car) or not self.reminded_again():
            return False
        if removes or other_car:
            if removes and self.removal_said(u, yes=False):
                return True  # "oh, and can we drop the tire rotation?" after the yes
            if other_car and self.second_car_said(u, yes=False):
                return True  # "oh, and can you do my wife's Civic too while it's there?"
            self.st.task = None
            return False
        if kind:
            self.say(*self.visit_answer(kind, u))
            self.anything_else()
            return True
        return self.start_reminder_reschedule(u)  # "it": the appointment we called about

    def confirm_not_sure(self) -> bool:
        """ "I'll try to make it": confirmed (they mean to come), with a note for the advisors that they weren't sure,
        and the way to tell us if they can't."""
        appt = self.st.task.appointment
        self.tool("add_appointment_note", appointment_id=appt["id"], note="customer will try to make it (not sure)")
        self.confirm_reminder(goodbye=False)
        self.say(NOT_SURE_ACK)
        self.anything_else()
        return True

    def change_loaner(self, change: str, *, yes: bool) -> bool:
        """A loaner for this visit asked for ("can I get a loaner?": reserved when the shop lends cars) or given back
        ("I won't need the loaner": dropped off instead), with the yes when they said one; the visit itself stays."""
        task = self.st.task
        appt = task.appointment
        has_loaner = appt.get("transport") == "loaner"
        if change == "reserve" and has_loaner:
            sentences = [LOANER_ALREADY]
        elif change == "release" and not has_loaner:
            sentences = [NO_LOANER_ON_IT]
        else:
            transport = "loaner" if change == "reserve" else "drop_off"
            res = self.tool("set_appointment_transport", appointment_id=appt["id"], transport=transport)
            if res.ok:
                task.appointment = {**appt, "transport": res.result["appointment"].get("transport", transport)}
                sentences = [LOANER_RESERVED if change == "reserve" else LOANER_RELEASED]
            elif change == "reserve":
                info = self.tool("get_shop_info")
                sentences = loaner_sentences(info.result or {}) if info.ok else [f"Sorry, {res.error}"]
            else:
                sentences = [f"Sorry, {res.error} A service advisor can sort it out."]
        if yes and appt.get("status") != "confirmed":
            self.confirm_reminder(goodbye=False)
        self.say(*sentences)
        if yes or appt.get("status") == "confirmed" or self.st.expect == Expect.ANYTHING_ELSE:
            self.anything_else()
        else:
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    def reminded_again(self) -> bool:
        """The appointment the call is about, back as the task after "anything else?" cleared it (False: gone)."""
        task = self.st.task
        if task is not None:
            return task.kind == "reminder" and bool(task.appointment)
        res = self.tool("get_upcoming_appointments")
        appts = res.result["appointments"] if res.ok else []
        appt = reminded_appointment(self.ctx, appts)
        if appt is None:
            return False
        self.st.task = Task(kind="reminder", appointments=appts, appointment=appt)
        return True

    # --- the cancel read-back: "no, I want to move it", "no wait, keep it, I'll come" ---------------------------
    def reminder_cancel_reply(self, u: nlu.Understanding) -> bool:
        said = nlu.normalize(u.text)
        if u.yes_no == "yes" and not re.search(r"\bno\b", said):
            return False
        if re.search(r"\b(keep (it|that)|ill (come|be there|make it)|i can make it)\b", said):
            self.st.task.kind = "reminder"
            return self.confirm_reminder()
        if _MOVE_WORDS.search(said) and not u.has_when:
            self.st.task.kind = "reminder"
            return self.start_reminder_reschedule(u)
        return False

    # --- the steps -------------------------------------------------------------------------------------------
    def visit_answer(self, kind: str, u: nlu.Understanding) -> list[str]:
        appt = self.st.task.appointment
        start, end = datetime.fromisoformat(appt["start"]), datetime.fromisoformat(appt["end"])
        if kind in ("loaner", "shuttle", "location", "loaner_mine"):
            res = self.tool("get_shop_info")
            info = res.result if res.ok and res.result else {}
            if kind == "loaner_mine":
                if appt.get("transport") == "loaner":
                    return ["Yes, a loaner car is reserved for you with this appointment."]
                return ["There's no loaner on this appointment.", *_or_advisor(loaner_sentences(info) if info else [])]
            if kind == "shuttle" and appt.get("transport") == "shuttle":
                area = info.get("shuttle_area")
                runs = [f"It runs {area}."] if area else []
                return ["Yes, you're down for the shuttle on this appointment.", *runs]
            maker = {"loaner": loaner_sentences, "shuttle": shuttle_sentences, "location": location_sentences}[kind]
            return _or_advisor(_filled(maker(info)) if info else [])
        if kind == "hours":
            res = self.tool("get_business_hours", date=start.date().isoformat())
            return [res.result["day"]["sentence"]] if res.ok else _or_advisor([])
        if kind == "night_before":
            self.ctx.note("asked about dropping the car off the night before")
            return [
                "I don't have after-hours drop-off information here; I've noted your question, and a service "
                "advisor can tell you."
            ]
        if kind == "wait":
            info = self.shop_info()
            sentences = waiting_answer(info, self.ctx)
            if may_wait(info) != "yes":
                return sentences
            self.ctx.note("would like to wait while the car is done")
            return [
                *sentences,
                f"It's booked for about {spoken_duration(_minutes(start, end))}, so it should be ready around "
                f"{spoken_time(end)}.",
            ]
        if kind == "bring":
            car = f"your {appt['vehicle']}" if appt.get("vehicle") else "the car"
            return [f"Bring {car} in at {spoken_time(start)}.", *bringing_answer(self.shop_info(), self.ctx)]
        if kind == "total":
            return self.total_sentences(appt["service_codes"])
        if kind == "ready":
            return [_ready_sentence(end, _time_asked(nlu.normalize(u.text), self.now))]
        if kind == "text":
            return self.details_instead_of_text(appt, start)
        if kind == "someone_else":
            self.ctx.note(f"someone else will bring the car: {u.text.strip()[:120]}")
            return ["That's fine, anyone can bring it in. I've made a note of it."]
        return self.other_appointment_sentences(u)

    def total_sentences(self, codes: list[str]) -> list[str]:
        res = self.tool("get_services", codes=codes)
        items = res.result["services"] if res.ok else []
        prices = [item.get("price") for item in items]
        if not items or any(p in (None, "") for p in prices):
            return ["I don't have a price for all of it here; a service advisor can give you a total."]
        total = sum((Decimal(str(p)) for p in prices), Decimal(0))
        if len(items) == 1:
            return [f"It's {spoken_price(total)} for the {items[0]['name'].lower()}."]
        parts = join_words([f"{item['name'].lower()} {spoken_price(item['price'])}" for item in items])
        return [f"It comes to {spoken_price(total)} in all: {parts}."]

    def details_instead_of_text(self, appt: dict, start: datetime) -> list[str]:
        res = self.tool("get_shop_info")
        address = (res.result or {}).get("address") if res.ok else ""
        car = f" for your {appt['vehicle']}" if appt.get("vehicle") else ""
        where = f", at {address.rstrip('.')}" if address else ""
        return [
            "I can't send a text from this call, but here are the details:",
            f"your {what_phrase(appt)} {when_phrase(appt['start'], self.now)}{car}{where}.",
        ]

    def other_appointment_sentences(self, u: nlu.Understanding) -> list[str]:
        """ "What's my appointment on the 14th for?": one of their own appointments, by its day."""
        days = set(u.date.dates()) if u.date is not None else set()
        appts = [a for a in (self.st.task.appointments or []) if datetime.fromisoformat(a["start"]).date() in days]
        if not appts:
            return ["I don't see another appointment for you on that day."]
        return [
            f"On {a['label']} you have {services_phrase(a['services'])}"
            + (f" for your {a['vehicle']}." if a.get("vehicle") else ".")
            for a in appts[:2]
        ]

    def means_today(self, u: nlu.Understanding, said: str) -> bool:
        """ "Is this about the brake job today?" / "I thought it was today at 4?": the call is about tomorrow's;
        their visit today, if any, is another one."""
        appt = self.st.task.appointment
        start = datetime.fromisoformat(appt["start"])
        today = self.now.astimezone(start.tzinfo).date()
        if start.date() == today or not re.search(r"\b(is this|about|thought|wasnt|isnt|was it|it s)\b", said):
            return False
        if re.search(r"\b(move|change|reschedule|cancel|make it|instead)\b", said):
            return False  # "can we make it today instead?": a move
        others = [
            a
            for a in (self.st.task.appointments or [])
            if a["id"] != appt["id"] and datetime.fromisoformat(a["start"]).date() == today
        ]
        ours = f"{what_phrase(appt)} {when_phrase(appt['start'], self.now)}"
        if others:
            other = others[0]
            self.say(
                f"This call is about your {ours}. Your {what_phrase(other)} "
                f"{when_phrase(other['start'], self.now)} is a separate one and stays as it is."
            )
        else:
            self.say(f"I have it for {when_phrase(appt['start'], self.now)}, not today: your {ours}.")
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    def say_who_we_are(self, *, scam: bool, number: bool = False) -> bool:
        """ "Is this a scam? What's your number?": who is calling, about what, and the shop's own number to call back
        on and check; the question stays open (the call goes on)."""
        appt = self.st.task.appointment
        shop = settings.SHOP_NAME
        if scam:
            first = f"It's not a scam: this is the automated assistant at {shop}."
        elif number:
            first = f"This is the automated assistant at {shop}."
        else:
            first = f"Your number is on your customer account with {shop}; we only use it about your car."
        info = self.tool("get_shop_info")
        phone = (info.result or {}).get("phone_spoken", "") if info.ok else ""
        self.say(
            first,
            f"We're calling about your {what_phrase(appt)} {when_phrase(appt['start'], self.now)}.",
            call_us_to_check_sentence(shop, phone),
        )
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    def repeat_reminder(self) -> bool:
        """ "Hello? I can't hear you": the reminder once more, in short pieces; a second time, we call back later."""
        appt = self.st.task.appointment
        if any("Sorry about the line" in line for line in self.st.last_reply):
            self.say("Sorry, the line seems bad. We'll try you again later. Goodbye!")
            self.tool("request_call_back", when="later (bad line)")
            self.end_reminder_call("bad line")
            return True
        self.say(
            f"Sorry about the line. This is {settings.SHOP_NAME}.",
            f"Your {what_phrase(appt)} is {when_phrase(appt['start'], self.now)}.",
        )
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    def take_message(self) -> bool:
        """Someone else answered: a message and a call-back, no more about the visit than the opening said."""
        name = self.ctx.customer_name
        who = name or "them"
        self.tool("request_call_back", when="later: someone else answered")
        self.say(
            f"Thank you. Could you let {who} know that {settings.SHOP_NAME} called about the appointment, "
            "and ask them to call us back if anything changes? We'll also try again later. Goodbye!"
        )
        self.end_reminder_call("not the customer: took a message")
        return True

    def customer_moved_away(self) -> bool:
        """ "Linda doesn't live here anymore": this number is not hers any more, a wrong number: flagged for staff
        (no more reminders to it until they correct it), never Linda herself put on do-not-call."""
        self.tool("report_wrong_number")
        self.ctx.note("the person who answered says the customer no longer lives there: please update the number")
        self.say("Sorry to have bothered you. We'll update our records and won't call this number again. Goodbye!")
        self.end_reminder_call("not the customer: number out of date")
        return True

    def offer_to_stop_calling(self) -> bool:
        self.st.task.kind = "reminder_stop_offer"
        self.ask(
            "I'm sorry to have bothered you. Would you like us to stop calling this number?",
            Expect.REMINDER_CONFIRM,
            "confirmation",
        )
        return True

    def on_stop_offer(self, u: nlu.Understanding, said: str) -> bool:
        self.st.task.kind = "reminder"
        if u.yes_no == "yes" or re.search(r"\b(yes|yeah|please|stop)\b", said):
            res = self.tool("stop_calls")
            self.say("Done, we won't call you again." if res.ok else "Sorry, I'll let the team know.")
        self.say("Sorry again for the trouble. Goodbye!")
        self.end_reminder_call("customer not interested")
        return True

    def move_later_in_week(self) -> bool:
        task = self.st.task
        day = datetime.fromisoformat(task.appointment["start"]).date()
        saturday = day + timedelta(days=(5 - day.weekday()) % 7 or 7)
        return self._move_within(nlu.DatePref(start=day + timedelta(days=1), end=saturday, label="later that week"))

    def _move_within(self, date: nlu.DatePref | None, at: nlu.TimePref | None = None) -> bool:
        task = self.st.task
        task.kind = "reschedule"
        self.set_services(task, task.appointment["service_codes"], task.appointment["services"])
        task.date, task.time = date, at
        self.search_and_offer()
        return True

    def service_change(self, u: nlu.Understanding, a: ReminderAnswer, said: str) -> bool:
        """Swap or remove a service, one for the other car, one already on it: what this call can't do, or needn't."""
        appt = self.st.task.appointment
        booked = set(appt["service_codes"])
        named = [s for s in u.services if s.code in booked] or _named_on_it(appt, said)
        new = [s for s in u.services if s.code not in booked]
        change = ""
        if _CHANGES.search(said):
            return False
        if _OTHER_CAR.search(said) and u.services:
            change = f"{join_words([s.name.lower() for s in u.services])} on your other car"
        elif _SWAP.search(said) and named and new:
            change = f"{new[0].name.lower()} instead of the {named[0].name.lower()}"
        if change:
            if a.yes:
                self.confirm_reminder(goodbye=False)
            if any(f"({change})" in line for line in self.st.last_reply):
                self.say("That's noted already; a service advisor will call you back about it.")
            else:
                self.tool("request_call_back", when=f"to change the services: {change}")
                self.say(
                    f"I can't do that on this call, but I've noted it ({change}), and a service advisor will "
                    "call you back to set it up."
                )
            if a.yes:
                self.anything_else()
            else:
                self.ask(
                    f"Otherwise, can you still make it {when_phrase(appt['start'], self.now)}?",
                    Expect.REMINDER_CONFIRM,
                    "confirmation",
                )
            return True
        if a.yes and named and not new and _ADD.search(said) and re.search(r"\badd|\bdo\b|\balso\b", said):
            self.confirm_reminder(goodbye=False)
            names = join_words([s.name.lower() for s in named])
            self.say(f"{names[0].upper()}{names[1:]} is already on this appointment.")
            self.anything_else()
            return True
        return False


def _filled(sentences: list[str]) -> list[str]:
    return [s for s in sentences if s]


def _or_advisor(sentences: list[str]) -> list[str]:
    return sentences or ["I don't have that information here, but a service advisor can tell you."]


def _minutes(start: datetime, end: datetime) -> int:
    return max(1, int((end - start).total_seconds() // 60))


def _named_on_it(appt: dict, said: str) -> list:
    """Services of the appointment named in the line, as objects with code and name ("instead of the brake
    inspection": the understanding keeps only the service wanted)."""
    return [
        SimpleNamespace(code=code, name=name)
        for code, name in zip(appt["service_codes"], appt["services"], strict=False)
        if nlu.normalize(name) in said
    ]


def _time_asked(said: str, now: datetime) -> time | None:
    """ "ready by noon?" -> 12:00."""
    match = re.search(r"\b(?:by|at|before) (.+)$", said)
    if match is None:
        return None
    pref = nlu.understand(match.group(1), now, expect_time=True).time
    return pref.exact if pref is not None else None


def _ready_sentence(end: datetime, by: time | None) -> str:
    """ "Will it be ready by noon?": the booked end, against the time they named."""
    said = f"It's booked to be done by about {spoken_time(end)}"
    if by is None:
        return said + "; a service advisor will call you if that changes."
    fits = end.time().replace(tzinfo=None) <= by
    return said + (", so yes, it should be ready by then." if fits else ", so probably not by then, I'm afraid.")
