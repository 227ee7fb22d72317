"""The reminder call the day before: confirm, move or cancel in the same conversation.

The shop is calling, so the customer is already known by the number we dialled. They may say yes, name another
day or time ("can we do Thursday instead", "make it 3"), cancel ("actually cancel it, I sold the car"), ask who is
calling, be the wrong person, or have no time to talk; each gets a short, polite answer. Moving reuses the booking
flow's offers and read-back; cancelling reads back first and keeps the customer's words as the reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings

from calls.agent import nlu
from calls.agent.flows.common import NEVERMIND, lower_first
from calls.agent.flows.reminder_answers import UNSURE as _UNSURE
from calls.agent.flows.reminder_answers import (
    ReminderAnswer,
    busy_said,
    calls_back_themselves,
    cancel_or_move,
    no_english,
    not_coming_will_call,
    passed_away,
    read_answer,
    taken_back,
    who_answered,
)
from calls.agent.flows.reminder_replies import ReminderRepliesFlow
from calls.agent.flows.reminder_requests import ReminderRequestsFlow
from calls.agent.flows.reminder_second_car import ReminderSecondCarFlow
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import (
    CONDOLENCES,
    TO_A_PERSON,
    TO_A_PERSON_ES,
    rebook_any_time_sentence,
    service_answer,
    spoken_day,
    spoken_time,
    will_call_back_sentence,
)
from calls.agent.reminder_script import CAN_YOU_MAKE_IT, opening_line, reminded_appointment, what_phrase, when_phrase

# "who is this?", "who's calling", "what's this about", "is this a robot?"
_WHO = re.compile(
    r"\b(who (is|s) (this|calling|that|speaking)|whos (this|calling)|who are you|what is this( about)?|"
    r"whats this( about)?|what (is|s) this regarding|where are you calling from|"
    r"(is this|are you) (a )?(robot|machine|recording|real person|computer|bot|human|ai))\b"
)
_KEEP = re.compile(
    r"\b(keep (it|that|the appointment)|leave (it|that)|(it|that)s fine|(it|that) works|"
    r"ill (be there|come|make it)|i (can|will) make it|see you (then|there|tomorrow))\b"
)
_MOVE = re.compile(r"\b(move|another|different|other|reschedule|change (it|the time|the day)|instead)\b")
# "My husband already took it to another shop", "I sold the car": the visit is no longer needed.
_NOT_NEEDED = re.compile(
    r"\b((another|other|different) (shop|place|garage|dealer|dealership|mechanic)|"
    r"already (took|had|got) it (done|fixed|in|looked at|serviced)|already (done|fixed|taken care of)|"
    r"(sold|totaled|traded in) (the|my|it|our)|dont need it anymore|no longer need|"
    # "got it done elsewhere", "a buddy of mine fixed it", "had it taken care of somewhere else"
    r"(got|had|have had|get) it (done|fixed|taken care of|looked at|serviced|sorted)|"
    r"(done|fixed|serviced|sorted|looked at|care of|went|took it|taking it|going|go|take it)( \w+){0,2} "
    r"(elsewhere|somewhere else)|"
    r"(buddy|friend|neighbor|brother|dad|father|husband|wife|son|cousin|uncle|mechanic)( of mine)? "
    r"(already )?(fixed|did|took care of|looked at|sorted) (it|that|the \w+))\b"
)
# A cancel in other words: "scrap it", "ditch the appointment", "call it off".
_CANCEL_IN_OTHER_WORDS = re.compile(
    r"\b(scrap|ditch|nix|axe|kill) (it|that|this|the (appointment|visit|whole thing))\b|"
    r"\bdrop (the appointment|the visit|the whole thing)\b|\bcall (it|the appointment|the visit) off\b|"
    r"\bcall off the (appointment|visit)\b"
)
_THANKS_ONLY = re.compile(
    r"^(ok(ay)? |oh |great |alright )*(thanks|thank you)( (so much|very much))?"
    r"( for (calling|the (call|reminder|heads up)|letting me know|reminding me))?( bye| goodbye)?$"
)
_CANCEL_WORD = re.compile(r"\b(cancel|cancell?ed|cancelling)\b")
# The move taken back, the visit kept as booked: "keep tomorrow", "the original time is fine", "I'll just come like
# planned".
_KEEP_AS_BOOKED = re.compile(
    r"\b(keep|leave|stick with|stay with) (it|that|tomorrow|tomorrows|the (original|appointment|one i have|same|"
    r"normal|usual)|my (appointment|original|slot)|it as (it is|is))\b|"
    r"\b(original|normal|usual|current) (time|day|one|appointment|slot)\b|"
    r"\b(as|like) (planned|booked|scheduled|before)\b"
)
# "I'll just come", "that's fine": keeping it only with the visit's own day or time said ("I'll just come tomorrow");
# alone, to times just offered, it takes the offer.
_WILL_COME = re.compile(
    r"\b((ill|i will|i can|well|we will|we can) (just )?(come|make it|be there)|(is|s) fine|works)\b"
)
# Near the appointment: "the day after", "the day before", "a bit later", "earlier" (that day).
_NEAR = re.compile(
    r"\b(the (next )?day (after|before)(?! tomorrow| yesterday| next| this)|"
    r"(a (little )?bit |an hour |a little )?(later|earlier))\b"
)


class ReminderFlow(ReminderRequestsFlow, ReminderRepliesFlow, ReminderSecondCarFlow):
    def greet_reminder(self, name: str, shop: str) -> bool:
        res = self.tool("get_upcoming_appointments")
        appts = res.result["appointments"] if res.ok else []
        appt = reminded_appointment(self.ctx, appts)
        if appt is None:
            # Cancelled or passed between the dial and the answer: nothing to confirm, but the call is ours.
            hello = f"Hi {name}, this is {shop}." if name else f"Hello, this is {shop}."
            self.say(hello, "I was calling about your appointment, but I see it has already changed.")
            self.anything_else()
            return True
        self.st.task = Task(kind="reminder", appointments=appts, appointment=appt)
        self.set_services(self.st.task, appt["service_codes"], appt["services"])
        opening, question = opening_line(appt, first_name=name, shop=shop, now=self.now)
        self.say(opening)
        self.ask(question, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    # --- what the customer answers, before the general reading of the line ------------------------------------
    def reminder_line(self, u: nlu.Understanding) -> nlu.Understanding:
        """A yes taken back in the same breath ("yes. wait, no, can we do Friday instead?"): the words after the
        take-back are the answer, read on their own."""
        rest = taken_back(u.text)
        return nlu.understand(rest, self.now) if rest else u

    def reminder_answer(self, u: nlu.Understanding) -> bool:
        """The answers only a call the shop placed gets: the ways of saying yes on the phone, "hold on", "stop
        calling me", "call me back tomorrow", "9:30, right?", "10 instead of 9", a yes with a request, "what?",
        "is this a real person?". False: the usual reading of the line goes on."""
        task = self.st.task
        if task is None or task.appointment is None:
            return False
        appt = task.appointment
        said = nlu.normalize(u.text)
        a = read_answer(u.text, self.now)
        if passed_away(u.text, self.ctx.customer_name):
            return self.customer_passed_away()
        language = no_english(u.text)
        if language:  # "no hablo inglés": a person, short and simple
            self.ctx.note(f"caller has no English{' (Spanish)' if language == 'es' else ''}: needs a person")
            self.transfer("caller does not speak English", TO_A_PERSON_ES if language == "es" else TO_A_PERSON)
            return True
        if who_answered(said, self.ctx.customer_name) and not self.speaks_for_customer(u, a, said):
            return False  # not the customer: reminder_aside says sorry and goodbye
        if self.reminder_reply(u, a, said):  # flows.reminder_replies: the answers callers got lost on
            return True
        if a.stop_calls:
            return self.stop_reminder_calls(u, a)
        if a.hold and not a.yes:
            self.say("Sure, take your time.")  # the question stays open; no goodbye, no reprompt
            return True
        if a.call_back and not a.yes:
            when = "tomorrow" if re.search(r"\btomorrow\b", said) else "later"
            res = self.tool("request_call_back", when=when)
            if res.ok:
                self.say(
                    f"No problem, we'll call you back {when}. Your appointment stays "
                    f"{when_phrase(appt['start'], self.now)} for now. "
                    f"{'Drive safe, goodbye!' if 'driving' in said else 'Goodbye!'}"
                )
            else:
                self.say(
                    f"No problem. Please call us when you can. Your appointment stays "
                    f"{when_phrase(appt['start'], self.now)}. Goodbye!"
                )
            self.end_reminder_call("customer asked to be called back")
            return True
        if not_coming_will_call(u.text) and not cancel_or_move(u.text):
            return self.will_call_to_rebook()  # "can't make it, I'll call you back": kept, noted, not cancelled
        if _THANKS_ONLY.match(said):
            self.close()  # "thanks for calling": our call, so "thanks, bye" -- nothing decided, nothing changed
            return True
        if self.reminder_other_request(u, yes=a.yes and not _UNSURE.search(said)):
            return True  # "yes, and cancel the oil change at 5:30": that one, never the reminded one
        if self.nothing_there_to_cancel(u, yes=a.yes and not _UNSURE.search(said)):
            return True
        if self.cancel_said_with_goodbye(u):
            return True
        if self.swap_or_car_said(u, yes=a.yes and not _UNSURE.search(said)):
            return True  # "a tire rotation instead of the brake inspection", "it's the Camry, not the RAV4"
        if a.asks == "human":
            self.say(
                f"I'm {settings.SHOP_NAME}'s automated assistant. I can confirm, move or cancel your "
                f"appointment right now, or put you through to a person if you'd rather."
            )
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        if a.huh and not a.yes:
            car = f" for your {appt['vehicle']}" if appt.get("vehicle") else ""
            self.say(
                f"This is {settings.SHOP_NAME} calling about your {what_phrase(appt)} "
                f"{when_phrase(appt['start'], self.now)}{car}."
            )
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        if self.other_service_asked(u, a):
            return True  # "how much to add wiper blades?": that service's price, then "shall I add it?"
        if a.asks in ("what", "when", "car", "duration", "price"):
            self.say(*self.about_reminded(a.asks))
            if a.yes and not _UNSURE.search(said):
                return self.confirm_reminder()
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        not_needed = (_NOT_NEEDED.search(said) and not _KEEP.search(said)) or _CANCEL_IN_OTHER_WORDS.search(said)
        if not_needed and not _CANCEL_WORD.search(said):
            return self.ask_reminder_cancel(u)  # "scrap it, got it done elsewhere": their words kept as the reason
        if a.instead is not None:
            return self.move_reminded_to(u, a.instead)
        start = datetime.fromisoformat(appt["start"])
        if a.checking and u.time is not None and not _same_time(u, appt) and not _MOVE.search(said):
            # "9:30, right?" when it is at 8:30: what they remember, not a request to move it
            self.ask(f"It's at {spoken_time(start)} - does that still work?", Expect.REMINDER_CONFIRM, "confirmation")
            return True
        if not self.reminder_yes(u, a, said):
            return False
        if a.late:
            self.ctx.note("may be a little late")
            self.say(
                "Thanks for letting us know, I've made a note of it. If it'll be much later than that, just "
                "give us a call."
            )
            return self.confirm_reminder()
        new = self.services_to_offer(u, appt)
        if new:
            return self.confirm_and_offer_add(new)
        if a.loaner:
            self.confirm_reminder(goodbye=False)
            self.say(*self.shop_fact_sentences("loaner"))
            self.anything_else()
            return True
        if u.has_when and not _same_time(u, appt) and u.time is not None and u.time.exact is not None:
            return False  # "yes, but can we make it 10?": a move, read the usual way
        return self.confirm_reminder()

    def reminder_yes(self, u: nlu.Understanding, a: ReminderAnswer, said: str) -> bool:
        """A yes in any of its phone forms; "oh right, yes, I'll drop it off in the morning" is a yes too."""
        if a.late:
            return True
        if not a.yes or (_UNSURE.search(said) and not re.search(r"\bi think so\b", said)):
            return False
        if self.wants_cancel(u) and _CANCEL_WORD.search(said):
            return False
        return not re.search(r"\b(cant|cannot|wont|not going to|unable)\b", said)

    def about_reminded(self, asks: str) -> list[str]:
        """ "What's it for again?", "which car?", "how long?", "how much?": about the appointment called about."""
        appt = self.st.task.appointment
        if asks == "what":
            car = f" for your {appt['vehicle']}" if appt.get("vehicle") else ""
            return [f"It's your {what_phrase(appt)} {when_phrase(appt['start'], self.now)}{car}."]
        if asks == "when":
            return [f"It's {when_phrase(appt['start'], self.now)}."]
        if asks == "car":
            return [
                f"It's for your {appt['vehicle']}."
                if appt.get("vehicle")
                else "I don't have the car on this appointment; a service advisor can check."
            ]
        res = self.tool("get_services", codes=appt["service_codes"])
        items = res.result["services"] if res.ok else []
        return [service_answer(item, asks) for item in items] or [
            "A service advisor can tell you; I don't have that here."
        ]

    def stop_reminder_calls(self, u: nlu.Understanding, a: ReminderAnswer) -> bool:
        """Do-not-call, and whatever else they said about the appointment (a yes confirms it, a cancel cancels)."""
        res = self.tool("stop_calls")
        self.say(
            "Okay, I've taken this number off our call list; we won't call you again."
            if res.ok
            else "Sorry, I couldn't update that; I'll let the team know."
        )
        said = nlu.normalize(u.text)
        if _CANCEL_WORD.search(said):
            return self.ask_reminder_cancel(u)
        if a.yes and not _UNSURE.search(said):
            return self.confirm_reminder()
        appt = self.st.task.appointment
        self.say(f"Your {what_phrase(appt)} {when_phrase(appt['start'], self.now)} stays booked.")
        self.anything_else()
        return True

    def move_reminded_to(self, u: nlu.Understanding, at: nlu.TimePref) -> bool:
        """ "Can it be 10 instead of 9?": the same day at that time, read back before it moves."""
        task = self.st.task
        task.kind = "reschedule"
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        day = datetime.fromisoformat(appt["start"]).date()
        task.date = u.date if u.date is not None else nlu.DatePref(start=day, end=day, label="that day")
        task.time = at
        self.search_and_offer()
        return True

    # --- the customer's answer to "can you still make it?" ---------------------------------------------------
    def on_reminder_confirm(self, u: nlu.Understanding) -> bool:
        said = nlu.normalize(u.text)
        if self.reminder_aside(u, said):
            return True
        if self.move_asked_instead(u):
            return True
        if self.wants_cancel(u) and not self.another_day_instead(u, said):
            return self.ask_reminder_cancel(u)
        if u.has_when and not _same_time(u, self.st.task.appointment):
            return self.start_reminder_reschedule(u)
        if _NEAR.search(said):
            return self.start_reminder_reschedule(u)
        keep = u.yes_no == "yes" or _KEEP.search(said)
        if u.intent == "reschedule" or (_MOVE.search(said) and not keep):
            return self.start_reminder_reschedule(u)
        if keep:
            return self.confirm_reminder()
        if u.yes_no == "no" or _UNSURE.search(said):
            self.ask(
                "No problem. Would you like to move it to another day, or cancel it?", Expect.REMINDER_CHANGE, "intent"
            )
            return True
        return False

    def on_reminder_change(self, u: nlu.Understanding) -> bool:
        said = nlu.normalize(u.text)
        if self.reminder_aside(u, said):
            return True
        if self.wants_cancel(u):
            return self.ask_reminder_cancel(u)
        if u.intent in ("reschedule", "book") or u.has_when or _MOVE.search(said):
            return self.start_reminder_reschedule(u)
        if _KEEP.search(said) or (u.yes_no == "yes" and re.search(r"\b(keep|come|make)\b", said)):
            return self.confirm_reminder()
        if u.yes_no == "no":
            appt = self.st.task.appointment
            self.say(f"Okay, I'll leave it as it is: {what_phrase(appt)} {when_phrase(appt['start'], self.now)}.")
            self.anything_else()
            return True
        return False

    def on_reminder_cancel(self, u: nlu.Understanding) -> bool:
        if self.reminder_cancel_reply(u):  # "no, I want to move it", "no wait, keep it"
            return True
        task = self.st.task
        if self.reminder_other_request(u, yes=False, implied="cancel"):
            return True  # "no, not that one! the oil change at 5:30", "no, the Thursday one": the reminded one stays
        if u.yes_no == "yes" and not u.has_when:
            if self.prompt_cut:
                self.say("Just to be sure.")
                self.ask(self.st.last_prompt, Expect.REMINDER_CANCEL, "confirmation")
                return True
            reason = f"“{task.notes}” (reminder call)" if task.notes else "cancelled on the reminder call"
            res = self.tool("cancel_appointment", appointment_id=task.appointment["id"], reason=reason[:200])
            if not res.ok:
                self.say(f"Sorry, {lower_first(res.error)}")
                self.anything_else()
                return True
            self.st.task, self.st.offered_services = None, list(task.appointment["service_codes"])
            self.st.cancelled = task.appointment
            self.st.last_cancelled = res.result["appointment"]  # "wait, don't cancel it" takes it back
            if calls_back_themselves(task.notes):
                # "cancel it for now, I'll call to rebook": no offer to book now, the door left open
                info = self.tool("get_shop_info")
                self.say(rebook_any_time_sentence((info.result or {}).get("phone_spoken", "") if info.ok else ""))
                self.anything_else()
                return True
            self.say("Done, it's cancelled.")
            self.ask("Would you like to book another time instead?", Expect.OFFER_BOOK, "intent")
            return True
        if u.has_when:
            return self.start_reminder_reschedule(u)
        if u.yes_no == "no":
            self.st.task.kind = "reminder"
            self.ask(
                f"Okay, I'll keep it. So we'll see you {when_phrase(task.appointment['start'], self.now)}?",
                Expect.REMINDER_CONFIRM,
                "confirmation",
            )
            return True
        return False

    # --- steps -------------------------------------------------------------------------------------------
    def confirm_reminder(self, *, goodbye: bool = True) -> bool:
        """Confirmed; then "anything else?" unless the caller's line asked for more (goodbye=False)."""
        task = self.st.task
        res = self.tool("confirm_appointment", appointment_id=task.appointment["id"])
        if not res.ok:
            self.say(f"Sorry, {lower_first(res.error)}")
            self.anything_else()
            return True
        task.appointment = res.result["appointment"]  # confirmed now: what follows in this call knows it
        self.say(f"Great, you're confirmed. See you {when_phrase(task.appointment['start'], self.now)}!")
        if goodbye:
            self.anything_else()
        return True

    def ask_reminder_cancel(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "cancel"
        task.notes = u.text.strip()[:150]
        appt = task.appointment
        self.ask(
            f"Just to be sure: you'd like to cancel your {what_phrase(appt)} {when_phrase(appt['start'], self.now)}?",
            Expect.REMINDER_CANCEL,
            "confirmation",
        )
        return True

    def start_reminder_reschedule(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "reschedule"
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        near_date, near_time = _near(nlu.normalize(u.text), appt)
        task.date, task.time = near_date or u.date, u.time or near_time
        if task.date is None and task.time is not None:
            # "can we make it 3 instead": the same day, another time
            day = datetime.fromisoformat(appt["start"]).date()
            task.date = nlu.DatePref(start=day, end=day, label="that day")
        if task.date is not None or task.time is not None:
            self.search_and_offer()
        else:
            self.ask("Sure. What day would work better for you?", Expect.WHEN, "slot_collection")
        return True

    def another_day_instead(self, u: nlu.Understanding, said: str) -> bool:
        """ "Can't make it tomorrow, can we do Friday?": a day other than the appointment's, and no word of
        cancelling, is a move."""
        return u.has_when and not _same_time(u, self.st.task.appointment) and not _CANCEL_WORD.search(said)

    @staticmethod
    def wants_cancel(u: nlu.Understanding) -> bool:
        return u.intent == "cancel" or u.scores.get("cancel", 0) >= 4

    def reminder_aside(self, u: nlu.Understanding, said: str) -> bool:
        """Who is calling, the wrong person, a bad time: answered without losing the question."""
        task, shop = self.st.task, settings.SHOP_NAME
        appt = task.appointment
        who = who_answered(said, self.ctx.customer_name)
        if who == "wrong_number":
            return self.wrong_number_answered()
        if who == "not_in" and not self.speaks_for_customer(u, read_answer(u.text, self.now), said):
            name = self.ctx.customer_name
            ask = f"Could you let {name} know that {shop} called? " if name else ""
            self.say(f"Sorry to bother you. {ask}Goodbye!")
            self.end_reminder_call("not the customer")
            return True
        if busy_said(said) and u.yes_no != "yes" and not u.has_when:
            # No time now: a call-back later (the reminder's ledger says "call-back promised"), never a wrong person.
            res = self.tool("request_call_back", when="later: busy when we called")
            again = "We'll call you back later; " if res.ok else "Call us when you can; "
            bye = "Drive safe, goodbye!" if "driving" in said else "Goodbye!"
            self.say(
                f"No problem, I won't keep you. {again}your appointment stays {when_phrase(appt['start'], self.now)} "
                f"for now. {bye}"
            )
            self.end_reminder_call("customer busy")
            return True
        if _WHO.search(said):
            self.say(
                f"This is the automated assistant at {shop}, calling about your {what_phrase(appt)} "
                f"{when_phrase(appt['start'], self.now)}."
            )
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        return False

    def wrong_number_answered(self) -> bool:
        """ "You have the wrong number", "there's no Daniel here": sorry, goodbye, and the number flagged for staff
        (report_wrong_number); nothing about the appointment is said to whoever this is."""
        self.tool("report_wrong_number")
        self.say("Sorry to bother you. We'll correct our records. Goodbye!")
        self.end_reminder_call("wrong number", note=False)  # the tool's note says it
        return True

    def end_reminder_call(self, reason: str, *, note: bool = True) -> None:
        if note:
            self.ctx.note(reason)
        self.tool("end_call", reason=reason)
        self.st.task = None
        self.st.expect, self.st.phase = Expect.ENDED, "closing"

    def speaks_for_customer(self, u: nlu.Understanding, a: ReminderAnswer, said: str) -> bool:
        """Someone else answered and gives the customer's answer: "this is her husband, she asked me to move it to
        Friday", "he's at work, but yes, he'll be there". The customer's own answer, then (noted as given by someone
        else); a wrong number, or someone with no answer to give, is not."""
        if re.search(r"\b(wrong|no one|nobody|dont know|doesnt live|dont live|never heard)\b", said):
            return False
        yes = a.yes and not re.search(r"\b(ill (tell|let|pass|give)|(can|could) i take|take a message)\b", said)
        acts = (
            yes
            or u.has_when
            or bool(cancel_or_move(u.text))
            or bool(re.search(r"\b(move|reschedule|cancel|change|push) (it|the appointment)\b|\basked me to\b", said))
        )
        if acts:
            self.ctx.note("someone else answered for the customer")
        return acts

    def customer_passed_away(self) -> bool:
        """ "Daniel passed away": condolences; the appointment cancelled and the number taken off the call list without
        a read-back, no offer of anything, and the call ends."""
        appt = self.st.task.appointment
        self.tool(
            "cancel_appointment", appointment_id=appt["id"], reason="the customer has passed away (reminder call)"
        )
        self.tool("stop_calls")
        self.say(CONDOLENCES)
        self.end_reminder_call("the customer has passed away: appointment cancelled, number off the call list")
        return True

    def will_call_to_rebook(self) -> bool:
        """ "Can't make it, I'll call you back": the visit stays booked (they did not cancel it), the advisors get a
        note that they will call to rebook, and the call ends."""
        appt = self.st.task.appointment
        note = "customer can't make it and will call back to rebook (kept, not cancelled)"
        self.tool("add_appointment_note", appointment_id=appt["id"], note=note)
        self.say(will_call_back_sentence(when_phrase(appt["start"], self.now)))
        self.end_reminder_call(note)
        return True

    def kept_after_all(self, u: nlu.Understanding) -> bool:
        """A move of the reminded visit started, then taken back: "never mind, I'll keep tomorrow" confirms the visit as
        booked; "never mind" alone asks whether they can still make it. False outside such a move."""
        task, st = self.st.task, self.st
        if (
            self.ctx.direction != "outbound"
            or task is None
            or task.kind != "reschedule"
            or not task.appointment
            or task.appointment.get("id") != self.ctx.appointment_id
            or st.expect not in (Expect.WHEN, Expect.SLOT_CHOICE, Expect.CONFIRM)
        ):
            return False
        said = nlu.normalize(u.text)
        appt = task.appointment
        never_mind = bool(NEVERMIND.search(said))
        own_when = u.has_when and _same_time(u, appt)  # "tomorrow", "at 10": the visit's own
        keeps = bool(_KEEP_AS_BOOKED.search(said)) or (own_when and (never_mind or bool(_WILL_COME.search(said))))
        if not (keeps or never_mind):
            return False
        if u.has_when and not own_when and not re.search(r"\b(original|normal|usual)\b", said):
            return False  # "same time on Friday", "keep the oil change but make it Friday": still a move
        task.kind, task.date, task.time, task.offers, task.more, task.chosen = "reminder", None, None, [], [], None
        if keeps:
            return self.confirm_reminder()
        self.ask(
            f"No problem, I'll leave it {when_phrase(appt['start'], self.now)}. Can you still make it?",
            Expect.REMINDER_CONFIRM,
            "confirmation",
        )
        return True

    def anything_else(self) -> None:
        """After another appointment was dealt with on the reminder call, the reminded visit's own question again
        (it had no answer yet); otherwise "anything else?"."""
        if not self.st.reminder_open:
            super().anything_else()
            return
        self.st.reminder_open, self.st.task = False, None
        if not self.reminded_again():
            super().anything_else()
            return
        appt = self.st.task.appointment
        self.ask(
            f"And your {what_phrase(appt)} {when_phrase(appt['start'], self.now)}: can you still make it?",
            Expect.REMINDER_CONFIRM,
            "confirmation",
        )

    def close(self) -> None:
        """The goodbye: on a call the shop made, nobody "called" the shop."""
        if self.ctx.direction != "outbound":
            super().close()
            return
        name = self.ctx.customer_name
        self.say(f"Thanks{', ' + name if name else ''}. Have a great day. Goodbye!")
        self.tool("end_call", reason="customer is done")
        self.st.task = None
        self.st.expect, self.st.phase = Expect.ENDED, "closing"


def _same_time(u: nlu.Understanding, appt: dict) -> bool:
    """ "Yes, tomorrow at 9 works": a day or time that is the appointment's own is no request to move it."""
    start = datetime.fromisoformat(appt["start"])
    day_ok = u.date is None or start.date() in u.date.dates()
    time_ok = (
        u.time is None
        or (u.time.exact is not None and u.time.exact == start.time().replace(tzinfo=None))
        or (u.time.exact is None and u.time.contains(start.time()))
    )
    return day_ok and time_ok


def _near(said: str, appt: dict) -> tuple[nlu.DatePref | None, nlu.TimePref | None]:
    """ "The day after" / "the day before" the appointment, or "later" / "earlier" on its day."""
    start = datetime.fromisoformat(appt["start"])
    match = re.search(r"\bthe (?:next )?day (after|before)\b(?! tomorrow| yesterday| next| this)", said)
    if match:
        day = start.date() + timedelta(days=1 if match.group(1) == "after" else -1)
        return nlu.DatePref(start=day, end=day, label=f"on {spoken_day(day)}"), None
    if re.search(r"\blater\b", said):
        after = (start + timedelta(minutes=settings.SLOT_MINUTES)).time().replace(tzinfo=None)
        return None, nlu.TimePref(start=after, label="later that day")
    if re.search(r"\bearlier\b", said):
        before = (start - timedelta(minutes=1)).time().replace(tzinfo=None)
        return None, nlu.TimePref(end=before, label="earlier that day")
    return None, None
