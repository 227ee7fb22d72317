"""Booking (and the slot part of moving): service, car, day and time; offers; read-back; writing it."""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any

from calls.agent import nlu
from calls.agent.flows.choosing import excepted_words, says_all, says_later
from calls.agent.flows.common import OFFERS, lower_first
from calls.agent.flows.shop_visit import may_wait
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import (
    join_words,
    removal_done,
    removal_read_back,
    service_phrase,
    services_phrase,
    spoken_time,
    with_transport,
)
from calls.agent.understanding import constraints

# "the afternoon one", "the morning slot": one of the offers, by the part of the day it is in
_THE_ONE = re.compile(r"\b(one|slot|option)\b")


def _clock(offer: dict) -> time:
    return time.fromisoformat(offer["time"])


def _in_part(window: nlu.TimePref, at: time) -> bool:
    """Is an offer in the part of the day named ("the afternoon one" of 7:00 and 5:00 is the 5:00, its end kept)?"""
    return window.contains(at) or (window.exact is None and window.end is not None and at == window.end)


# "What's the latest you can do?", "how far out can you book?": the furthest day we book, asked for.
_FURTHEST = re.compile(
    r"\b(latest|furthest|farthest|last) (you can|you could|possible|date|day|one|opening|i can)\b|"
    r"\b(whats|what is) the (latest|furthest|farthest)\b|\bhow far (out|ahead|in advance)\b|"
    r"\bas (late|far out|far ahead) as (you can|possible|you go)\b"
)

# "cancel the whole thing", "the whole appointment", "all of it": the visit, not one of its services.
_WHOLE_VISIT = re.compile(
    r"\b(whole|entire) (thing|appointment|visit|booking)\b|\ball of it\b|\beverything\b|\bthe whole\b"
)

# What a caller says again to agree to a read-back, by the task read back.
_TIME_ORDINALS = re.compile(r"\b(earliest|soonest|latest|earlier|sooner|later)\b")
_SAME_REQUEST = {"book": "book", "cancel": "cancel", "reschedule": "reschedule", "reminder": "reschedule"}


class BookingFlow:
    # --- booking ----------------------------------------------------------------------------------------
    def advance_booking(self) -> None:
        st, task = self.st, self.st.task
        if not self.ensure_identity("register"):
            return
        if task.candidates or not task.service_codes:  # ("an inspection": the shop has several)
            self.ask(self.service_prompt(), Expect.SERVICE, "slot_collection")
            return
        if self.new_car_pending():  # "for my wife's 2019 Camry": not on their account yet
            return
        vehicles = (st.customer or {}).get("vehicles", [])
        if task.vehicle_id is None and len(vehicles) == 1:
            task.vehicle_id, task.vehicle_label = vehicles[0]["id"], vehicles[0]["label"]
        if task.vehicle_id is None and len(vehicles) > 1:
            self.split_by_car()  # "an oil change on the Civic and a tire rotation on the Silverado"
        if self.ask_unplaced():  # "... and a tire rotation": for which of the cars named
            return
        if task.vehicle_id is None and len(vehicles) > 1:
            # "an oil change for the jeep": the car named anywhere in what they said so far, latest first
            picked = next(
                (i for i in (nlu.pick_vehicle(t, vehicles) for t in reversed(task.vehicle_hints)) if i is not None),
                None,
            )
            if picked is not None:
                task.vehicle_id, task.vehicle_label = vehicles[picked]["id"], vehicles[picked]["label"]
        if task.vehicle_id is None and len(vehicles) > 1:
            labels = [v["label"] for v in vehicles]
            self.ask(f"Is this for your {join_words(labels, 'or your')}?", Expect.VEHICLE_CHOICE, "slot_collection")
            return
        if self.duplicate_warned():  # the same service already coming up for that car
            return
        if task.date is None and task.time is None:
            self.ask("What day works best for you?", Expect.WHEN, "slot_collection")
            return
        if task.chosen is None and self.ask_which_day():
            return
        if task.chosen is None:
            self.search_and_offer()
            return
        self.confirm_prompt()

    def ask_which_day(self) -> bool:
        """ "Sometime this week": which day suits them, before a list of times across it they have no use for.
        Asked once; a caller who is open ("any day next week") hears the soonest opening instead, and one who named
        the week by a day of it ("the week of the 14th") hears openings across that week."""
        task = self.st.task
        span = task.date
        if (
            span is None
            or task.asked_day
            or task.time is not None
            or span.soonest
            or span.week_of is not None
            or span.days
            or (span.end - span.start).days < 3
        ):
            return False
        task.asked_day = True
        self.ask(f"Sure. What day {span.label} works best for you?", Expect.WHEN, "slot_collection")
        return True

    def on_service(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if task.candidates and self.pick_candidate(u):
            return True
        if not u.services:
            if u.has_when:
                self.merge_when(u)
                self.ask(f"Sure. {self.service_prompt(again=True)}", Expect.SERVICE, "slot_collection")
                return True
            return False
        self.set_services(self.st.task, [s.code for s in u.services], [s.name for s in u.services])
        self.say_not_offered(u)
        if u.has_when:
            self.merge_when(u)
        self.advance()
        return True

    def service_prompt(self, *, again: bool = False) -> str:
        """What service, or which of those a general word could mean: "We do a brake inspection, ... Which one?"."""
        task = self.st.task
        if task.candidates and again:  # said once in full: "Which inspection: the brake, multi-point or state safety?"
            names = [name.lower().split() for _code, name in task.candidates]
            common = [w for w in names[0] if all(w in n for n in names[1:])]
            parts = [" ".join(w for w in n if w not in common) for n in names]
            if common and all(parts):
                return f"Which {' '.join(common)}: the {join_words(parts, 'or')}?"
        if task.candidates:
            offered = join_words([service_phrase(name) for _code, name in task.candidates])
            return f"We do {offered}. Which one would you like?"
        return "And what service does your car need?" if again else "What service does your car need?"

    def pick_candidate(self, u: nlu.Understanding) -> bool:
        """Which of the services a general word could mean ("which inspection?"): one named ("multi-point"), by a word
        of its name ("the state one") or by its place ("the first one"); kept beside any asked for already."""
        task = self.st.task
        codes = [code for code, _name in task.candidates]
        picked = [s.code for s in u.services if s.code in codes]
        if not picked and not u.services:
            said = set(nlu.normalize(u.text).split())
            common = set.intersection(*(set(nlu.normalize(name).split()) for _c, name in task.candidates))
            by_word = [c for c, name in task.candidates if (set(nlu.normalize(name).split()) - common) & said]
            place = nlu.parse_ordinal_choice(u.text, len(codes))
            picked = by_word if len(by_word) == 1 else [codes[place]] if place is not None else []
        if not picked and not u.services:
            return False
        task.candidates = []
        self.set_services(task, [*task.service_codes, *(picked or [s.code for s in u.services])])
        if u.has_when:
            self.merge_when(u)
        self.advance()
        return True

    def on_vehicle_choice(self, u: nlu.Understanding) -> bool:
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if self.st.task.unplaced is not None:
            return self.place_unplaced(u)
        if self.split_by_car():  # "the oil change is for the Jeep and the brakes for the Tacoma"
            if u.has_when:
                self.take_when(u)
            self.advance()
            return True
        if self.both_cars(u):  # "both of them"
            return True
        idx = nlu.pick_vehicle(u.kept or u.text, vehicles)
        if idx is None:
            # ("the earliest you have", "the soonest": a time asked for, never the first car listed)
            idx = nlu.parse_ordinal_choice(_TIME_ORDINALS.sub(" ", nlu.normalize(u.text)), len(vehicles))
        if idx is None:
            return False
        task = self.st.task
        task.vehicle_id, task.vehicle_label = vehicles[idx]["id"], vehicles[idx]["label"]
        if u.has_when:  # "the jeep, tomorrow morning"
            self.take_when(u)
        self.advance()
        return True

    def switch_vehicle(self, u: nlu.Understanding) -> bool:
        """The caller names another of their cars than the one the booking is for: take it."""
        task = self.st.task
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if len(vehicles) < 2:
            return False
        idx = nlu.pick_vehicle(u.kept or u.text, vehicles)  # "the Jeep, not the Sonata"
        if idx is None or vehicles[idx]["id"] == task.vehicle_id:
            return False
        if any(c.vehicle_id == vehicles[idx]["id"] for c in task.companions):
            return False  # that car has its own booking in this call: naming it moves nothing onto it
        task.vehicle_id, task.vehicle_label = vehicles[idx]["id"], vehicles[idx]["label"]
        return True

    def on_when(self, u: nlu.Understanding) -> bool:
        if self.offer_furthest(u):
            return True
        if not u.has_when:
            if self.st.task.kind == "book" and u.services and self.take_services(u):
                # "actually, make that a tire rotation instead": the day is still to be said
                self.ask(
                    f"Okay, {services_phrase(self.st.task.service_names)}. What day works best for you?",
                    Expect.WHEN,
                    "slot_collection",
                )
                return True
            return False
        if self.st.task.kind == "book" and u.services:
            self.take_services(u)
        if self.st.task.kind in ("reschedule", "reminder") and says_later(u.text):
            self.st.task.later = True  # "can we push it to Thursday": the Thursday after it
        self.merge_when(u)
        self.search_and_offer()
        return True

    def offer_furthest(self, u: nlu.Understanding) -> bool:
        """ "What's the latest you can do?" after a day beyond how far ahead we book: the last bookable day's
        openings (the closest to the day they wanted), latest day first."""
        from datetime import timedelta

        from scheduling.availability import last_bookable_day

        task = self.st.task
        horizon = last_bookable_day(self.ctx.clock())
        if task.date is None or task.date.start <= horizon or not _FURTHEST.search(nlu.normalize(u.text)):
            return False
        for back in range(14):  # (a closed day or a full one: the day before)
            d = horizon - timedelta(days=back)
            res = self.tool("get_available_slots", services=task.service_codes, date_from=d.isoformat(), limit=OFFERS)
            slots = sorted(res.result["slots"], key=lambda s: s["start"]) if res.ok else []
            slots = [s for s in slots if s["date"] == d.isoformat()]
            if slots:
                task.date, task.time, task.chosen = nlu.DatePref(d, d, label=slots[0]["day_label"]), None, None
                task.offers = slots
                times = join_words([s["time_label"] for s in slots], "or")
                self.ask(
                    f"The furthest out I can book is {slots[0]['day_label']}, at {times}. Which works best for you?",
                    Expect.SLOT_CHOICE,
                    "slot_collection",
                )
                return True
        return False

    def take_services(self, u: nlu.Understanding) -> bool:
        """Services said while the time is being settled: "also rotate the tires" adds, "make that a full brake job"
        replaces. True when the list changed."""
        task = self.st.task
        said = [s.code for s in u.services]
        codes = list(dict.fromkeys(task.service_codes + said)) if u.adding else said
        if not codes or codes == task.service_codes:
            return False
        self.set_services(task, codes, None if u.adding else [s.name for s in u.services])
        self.say_not_offered(u)
        return True

    def change_services(self, u: nlu.Understanding) -> bool:
        """Take the services said and search again, keeping the slot the caller picked as the time they want: a
        longer visit may no longer fit there, and they hear so before anything is written."""
        task = self.st.task
        if task.kind != "book" or not u.services or not self.take_services(u):
            return False
        if task.chosen is not None:
            start = datetime.fromisoformat(task.chosen["start"])
            task.date = nlu.DatePref(start.date(), start.date(), label=task.chosen["day_label"])
            task.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=task.chosen["time_label"])
        task.chosen, task.offers = None, []
        self.search_and_offer()
        return True

    def merge_when(self, u: nlu.Understanding) -> None:
        task = self.st.task
        if u.date is not None:
            task.date = self.date_in_discussion(u.date)
        if u.time is not None:
            task.time = u.time
        task.chosen = None
        task.offers = []

    def search_and_offer(self) -> None:
        task = self.st.task
        self.keep_appointment_day()
        args: dict[str, Any] = {"services": task.service_codes, "limit": OFFERS}
        if task.date is not None:
            if task.date.days:
                args["dates"] = [d.isoformat() for d in task.date.days]
            else:
                args["date_from"], args["date_to"] = task.date.start.isoformat(), task.date.end.isoformat()
        if task.date is None and task.time is not None and task.time.soonest:
            args["time_preference"] = "soonest"  # no day said: the soonest opening, whatever the hour
        elif task.time is not None and task.time.to_param():
            args["time_preference"] = task.time.to_param()
            if self.soonest_within(task):  # "asap, mornings are best"
                args["time_preference"] += " soonest"
        elif task.date is not None and task.date.soonest:
            args["time_preference"] = "soonest"
        args.update(constraints.search_args(task.date))  # "any day but Monday": never offered
        if task.kind in ("reschedule", "reminder") and task.appointment:
            args["exclude_appointment_id"] = task.appointment["id"]
            if task.appointment.get("vehicle_id"):
                args["vehicle_id"] = task.appointment["vehicle_id"]
        elif task.vehicle_id:
            args["vehicle_id"] = task.vehicle_id
        res = self.tool("get_available_slots", **args)
        if not res.ok:
            self.say(f"Sorry, {lower_first(res.error)}")
            self.ask("What other day would work for you?", Expect.WHEN, "slot_collection")
            return
        data = res.result
        exact = task.time.exact if task.time else None
        # Off the grid, the times either side are named closest first; lists otherwise read best in time order.
        slots = list(data["slots"]) if data.get("off_grid") else sorted(data["slots"], key=lambda s: s["start"])
        if not slots:
            self.transfer(
                "no availability found",
                "I'm sorry, I don't have any openings for that in the next few weeks. "
                "Let me connect you with a service advisor.",
            )
            return
        day = task.date.single_day if task.date else None
        task.more = []
        if exact and data["matched_preference"]:
            hit = next(
                (s for s in slots if s["time"] == f"{exact:%H:%M}" and (day is None or s["date"] == day.isoformat())),
                None,
            )
            if hit is not None:
                task.chosen, task.offers = hit, [hit]
                self.confirm_prompt()
                return
        lead = "I have"
        if data["beyond_period"]:
            self.say(self.nothing_then(data))
            lead = "The next openings are"
        elif data["matched_preference"] and self.wants_one(task):
            # "As early as you can", "first thing": one best fit, put as a yes/no question; the rest wait behind it.
            # (in the tool's order, best first: the latest of the day is not the first of the list read out)
            which = "latest" if task.time and task.time.latest and not task.time.earliest else "earliest"
            best = data["slots"][0]
            self.propose_one(f"The {which} I have is {best['label']}.", best, data["slots"][1:])
            return
        elif not data["matched_preference"]:
            if self.offer_within_hours(data):  # "after six" when we close at six
                return
            on_day = f" on {task.date.label}" if day else ""
            if exact and data.get("off_grid"):
                # 9:15 is never a start time: say why, and name the grid times either side as one question.
                task.offers = slots[:2]
                times = join_words([o["time_label"] for o in task.offers], "or")
                when = f" on {task.offers[0]['day_label']}" if len({o["date"] for o in task.offers}) == 1 else ""
                if when:
                    question = f"Would {times}{when} work for you?"
                else:
                    question = f"Would {join_words([o['label'] for o in task.offers], 'or')} work for you?"
                self.ask(
                    f"We book {data['grid']}, so the closest I have are {times}. {question}"
                    if not when
                    else f"We book {data['grid']}. {question}",
                    Expect.SLOT_CHOICE,
                    "slot_collection",
                )
                return
            elif exact:
                self.say(f"Sorry, {spoken_time(exact)} isn't available{on_day}.")
            else:
                self.say(f"Sorry, I don't have anything {task.time.label if task.time else 'then'}{on_day}.")
            lead = "The closest I have are" if len(slots) > 1 else "The closest I have is"
        task.offers = slots
        question = "Which works best for you?" if len(slots) > 1 else "Does that work for you?"
        self.ask(f"{self.offers_sentence(lead, slots)} {question}", Expect.SLOT_CHOICE, "slot_collection")

    def keep_appointment_day(self) -> None:
        """Moving an appointment to a time with no day said ("make it 3 o'clock", "later in the day"): that time
        on the appointment's own day, never the soonest day that has it. "As soon as you can" stays open."""
        task = self.st.task
        if (
            task.kind in ("reschedule", "reminder")
            and task.appointment is not None
            and task.date is None
            and task.time is not None
            and not task.time.soonest
        ):
            day = datetime.fromisoformat(task.appointment["start"]).date()
            task.date = nlu.DatePref(day, day, label=f"{day:%A}, {day:%B} {day.day}")

    def propose_one(self, said: str, best: dict, rest: list[dict]) -> None:
        """One best opening ("The earliest I have is ..."), the others waiting behind it. Put as the read-back
        itself where there is one visit to book or move, so a yes books it: one question, not two."""
        task = self.st.task
        task.offers, task.more = [best], sorted(rest, key=lambda s: s["start"])
        single = not task.companions and not task.group and not task.several
        if single and (task.kind == "book" or (task.kind in ("reschedule", "reminder") and task.appointment)):
            task.chosen = best
            self.confirm_prompt(proposed=said)
            return
        self.ask(f"{said} Does that work for you?", Expect.SLOT_CHOICE, "slot_collection")

    def offer_more(self) -> None:
        """The one proposed doesn't suit: the next openings behind it, as a choice."""
        task = self.st.task
        task.offers, task.more, task.chosen = task.more[: OFFERS - 1], [], None
        question = "Would one of those work?" if len(task.offers) > 1 else "Would that work?"
        self.ask(f"{self.offers_sentence('I also have', task.offers)} {question}", "slot_choice", "slot_collection")

    @staticmethod
    def wants_one(task: Task) -> bool:
        """The caller asked for the single best opening (earliest, first thing, end of the day), not a menu."""
        if task.time is not None and (task.time.earliest or task.time.latest) and not task.time.exact:
            return True
        return bool(
            task.date is not None
            and task.date.soonest
            and (task.time is None or not task.time.to_param() or BookingFlow.soonest_within(task))
        )

    @staticmethod
    def soonest_within(task: Task) -> bool:
        """ "As soon as you can, in the morning": the soonest opening inside a part of the day. ("Any time after
        lunch" leaves it to us: the openings after lunch, as a choice.)"""
        return bool(
            task.date is not None
            and task.date.soonest
            and not task.date.deferring
            and task.time is not None
            and not task.time.exact
            and (task.time.start or task.time.end)
        )

    def nothing_then(self, data: dict) -> str:
        """Why the period asked for had no openings, before the next ones are offered."""
        empty = data.get("empty") or {}
        if empty.get("reason") not in (None, "none_in_period"):
            return empty["sentence"]
        label = self.st.task.date.label if self.st.task.date else "then"
        return f"Sorry, I don't have any openings {label}."

    @staticmethod
    def offers_sentence(lead: str, slots: list[dict]) -> str:
        days = {s["date"] for s in slots}
        if len(days) == 1:
            times = [s["time_label"] for s in slots]
            return f"{lead} {slots[0]['day_label']} at {join_words(times, 'or')}."
        return f"{lead} {join_words([s['label'] for s in slots], 'or')}."

    def pick_offer(self, u: nlu.Understanding, offers: list[dict]) -> int | None:
        said = nlu.normalize(u.text)
        has_month = re.search(
            r"\b(of|january|february|march|april|may|june|july|august|september|october|"
            r"november|december)\b",
            said,
        )
        idx = nlu.parse_ordinal_choice(u.text, len(offers))
        if idx is not None and not has_month:
            return idx
        if (nlu.any_choice(u.text) and u.time is None) or self.any_time_that_day(u):
            return 0  # ("any time after lunch" is no pick of the first: a window, searched below)
        day = u.date.single_day if u.date else None
        candidates = list(range(len(offers)))
        if day is not None:
            candidates = [i for i in candidates if offers[i]["date"] == day.isoformat()]
        if u.time is not None and u.time.exact:
            candidates = [i for i in candidates if offers[i]["time"] == f"{u.time.exact:%H:%M}"]
        elif u.time is not None:
            inside = [i for i in candidates if _in_part(u.time, _clock(offers[i]))]
            if len(inside) == 1 and _THE_ONE.search(said):
                return inside[0]  # "the afternoon one": the one offer in that window
            # a new window ("afternoon"): search again, unless the hour they have in mind was offered ("like 5?")
            return self.offer_at(nlu.named_hour(u.text), [offers[i] for i in candidates], candidates)
        if (day is not None or (u.time and u.time.exact)) and candidates:
            return candidates[0]
        if u.yes_no == "yes" and len(offers) == 1 and day is None and u.time is None:
            return 0
        return None

    def any_time_that_day(self, u: nlu.Understanding) -> bool:
        """ "anytime" to times offered on the day the caller gave ("I'm off on Friday"): any of them, that day;
        not the soonest opening on another day."""
        task = self.st.task
        return bool(
            task is not None and task.date is not None and not task.date.soonest and nlu.any_time_of_the_offers(u.text)
        )

    def offers_on_day_said(self, u: nlu.Understanding) -> bool:
        """ "Thursday's better" to offers on Thursday and Friday: which of Thursday's times, never the first of them
        taken. True when asked."""
        task = self.st.task
        day = u.date.single_day if u.date is not None else None
        if day is None or u.time is not None or nlu.parse_ordinal_choice(u.text, len(task.offers)) is not None:
            return False
        on_day = [o for o in task.offers if o["date"] == day.isoformat()]
        if len(on_day) < 2 or len(on_day) == len(task.offers):
            return False
        task.offers = on_day
        self.ask(
            f"{self.offers_sentence('Sure, I have', on_day)} Which works best for you?",
            Expect.SLOT_CHOICE,
            "slot_collection",
        )
        return True

    def on_slot_choice(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if not u.services and self.offers_on_day_said(u):
            return True
        idx = self.pick_offer(u, task.offers)
        if idx is not None and u.services:
            task.chosen = task.offers[idx]  # "the first one, and also rotate the tires"
        if u.services and self.change_services(u):
            return True
        if idx is not None:
            task.chosen = task.offers[idx]
            if u.transport:
                task.transport = u.transport
            self.confirm_prompt()
            return True
        if u.has_when:
            task.named_hour = nlu.named_hour(u.text) or task.named_hour
            self.merge_when(u)
            self.search_and_offer()
            return True
        if u.yes_no == "no" and task.more:
            self.offer_more()
            return True
        if u.yes_no == "no":
            task.offers = []
            self.ask("No problem. What day or time would work better?", Expect.WHEN, "slot_collection")
            return True
        if u.yes_no == "yes" and task.offers:
            return self.yes_to_offers(u)
        return False

    @staticmethod
    def offer_at(hour: tuple[int, int] | None, offers: list[dict], indexes: list[int]) -> int | None:
        """The index (from `indexes`) of the offer at the hour the caller named (12-hour clock), if one is."""
        if hour is None:
            return None
        for i, offer in zip(indexes, offers, strict=True):
            h, m = (int(x) for x in offer["time"].split(":")[:2])
            if (h % 12, m) == hour:
                return i
        return None

    @staticmethod
    def nearest_offer(wanted, offers: list[dict]) -> int:
        def gap(offer: dict) -> int:
            h, m = (int(x) for x in offer["time"].split(":")[:2])
            return abs(h * 60 + m - (wanted.hour * 60 + wanted.minute))

        return min(range(len(offers)), key=lambda i: gap(offers[i]))

    def yes_to_offers(self, u: nlu.Understanding) -> bool:
        """ "Yep" to the times offered: the one offer there was, or the one at the hour the caller named earlier
        ("after work, like 5?"); to several with none named, which one is asked, never the first taken."""
        task = self.st.task
        idx = 0 if len(task.offers) == 1 else self.offer_at(task.named_hour, task.offers, list(range(len(task.offers))))
        if idx is None and task.time is not None and task.time.exact is not None:
            idx = self.nearest_offer(task.time.exact, task.offers)  # "9:20": the grid time nearest to it
        if idx is None:
            one_day = len({o["date"] for o in task.offers}) == 1
            times = join_words([o["time_label"] if one_day else o["label"] for o in task.offers], "or")
            self.ask(f"Which one works best for you: {times}?", Expect.SLOT_CHOICE, "slot_collection")
            return True
        task.chosen = task.offers[idx]
        if u.transport:
            task.transport = u.transport
        self.confirm_prompt()
        return True

    def confirm_prompt(self, proposed: str = "") -> None:
        """The read-back before anything is written. `proposed`: the one opening we put forward ("The earliest I have
        is ..."), said first; the question then reads back the rest of it."""
        task = self.st.task
        if task.kind == "cancel" and task.several:
            self.confirm_several()
            return
        if task.group:
            self.confirm_group_move()
            return
        if task.kind == "book" and task.companions:
            self.confirm_visits()
            return
        if task.kind == "book" and proposed:
            vehicle = f" for your {task.vehicle_label}" if task.vehicle_label else ""
            extra = with_transport(task.transport)
            self.ask(
                f"{proposed} Shall I book {services_phrase(task.service_names)}{vehicle}{extra} then?",
                Expect.CONFIRM,
                "confirmation",
            )
        elif task.kind == "book":
            vehicle = f" for your {task.vehicle_label}" if task.vehicle_label else ""
            extra = with_transport(task.transport)
            self.ask(
                f"So that's {services_phrase(task.service_names)} on {task.chosen['label']}{vehicle}{extra}. "
                "Shall I book it?",
                Expect.CONFIRM,
                "confirmation",
            )
        elif task.kind in ("reschedule", "reminder") and task.chosen and proposed:
            appt = task.appointment
            self.ask(
                f"{proposed} Shall I move your {services_phrase(appt['services'], article=False)} from {appt['label']} "
                "to that time?",
                Expect.CONFIRM,
                "confirmation",
            )
        elif task.kind in ("reschedule", "reminder") and task.chosen:
            appt = task.appointment
            self.ask(
                f"So I'll move your {services_phrase(appt['services'], article=False)} from {appt['label']} "
                f"to {task.chosen['label']}. Is that right?",
                Expect.CONFIRM,
                "confirmation",
            )
        elif task.kind == "cancel" and self.part_of_visit(task):
            # "cancel my oil change" on a visit for an oil change and brake pads: that service off, the visit stays
            appt = task.appointment
            removed = [n for c, n in zip(appt["service_codes"], appt["services"], strict=False) if c in task.to_remove]
            kept = [n for c, n in zip(appt["service_codes"], appt["services"], strict=False) if c not in task.to_remove]
            self.ask(removal_read_back(removed, kept, appt), Expect.CONFIRM, "confirmation")
        elif task.kind == "cancel":
            appt = task.appointment
            self.ask(
                f"I see your {services_phrase(appt['services'], article=False)} on {appt['label']}. "
                "Do you want me to cancel it?",
                Expect.CONFIRM,
                "confirmation",
            )

    @staticmethod
    def part_of_visit(task: Task) -> bool:
        """The cancel names some, not all, of the chosen visit's services: those come off (task.to_remove). A visit
        for that service alone is cancelled as usual."""
        said = task.described.services if task.described is not None else []
        on_visit = (task.appointment or {}).get("service_codes") or []
        named = [s.code for s in said if s.code in on_visit]
        task.to_remove = named if named and set(named) != set(on_visit) else []
        return bool(task.to_remove)

    def on_removal_confirm(self, u: nlu.Understanding) -> bool:
        """ "Shall I take off the oil change and keep the brake pads?": yes takes it off; "the whole thing" cancels the
        visit; no leaves it."""
        task = self.st.task
        appt = task.appointment
        if _WHOLE_VISIT.search(nlu.normalize(u.text)):
            task.to_remove = []
            self.execute()  # "no, cancel the whole thing"
            return True
        if u.yes_no == "no":
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        if u.yes_no != "yes" and u.intent != "cancel":
            return False
        res = self.tool("remove_services_from_appointment", appointment_id=appt["id"], services=task.to_remove)
        if res.ok and res.result is not None:
            self.say(removal_done(res.result["removed"], res.result["appointment"]))
        else:
            self.say(f"Sorry, {lower_first(res.error)}")
        self.anything_else()
        return True

    def on_confirm(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if task.group:
            return self.on_group_confirm(u)
        if task.kind == "cancel" and task.to_remove:
            return self.on_removal_confirm(u)
        if task.kind == "add":
            return self.on_addition_confirm(u)
        if task.kind == "book" and task.companions:
            handled = self.on_visits_confirm(u)  # a change to another car's booking
            if handled is not None:
                return handled
        if self.correct_read_back(u):  # "no wait, make it Thursday": that slot changes, the rest stays
            return True
        chosen = task.chosen or {}
        same = (u.time is None or (u.time.exact and chosen.get("time") == f"{u.time.exact:%H:%M}")) and (
            u.date is None or (u.date.single_day and chosen.get("date") == u.date.single_day.isoformat())
        )
        new_when = u.has_when and not same
        if (
            task.kind == "cancel"
            and task.several
            and u.yes_no != "no"
            and says_all(u.text, len(task.several))
            and not excepted_words(u.text)
        ):
            # "all three", "every one of them", asked whether to cancel all of them: a yes ("three" is no 3 o'clock)
            u.yes_no, new_when = "yes", False
        if task.kind == "book" and self.switch_vehicle(u):  # "no, it's for the Honda"
            if new_when:
                self.merge_when(u)
                self.search_and_offer()
            else:
                self.confirm_prompt()
            return True
        # "yes, please cancel it", "book it": the very thing we asked about, said again, is a yes
        agreed = u.yes_no == "yes" or (u.yes_no is None and u.intent == _SAME_REQUEST.get(task.kind) and not u.services)
        if agreed and not new_when:
            if self.prompt_cut:
                self.say("Just to be sure.")
                self.confirm_prompt()
                return True
            if u.transport:
                task.transport = u.transport
            self.execute()
            return True
        if task.kind == "cancel" and (u.yes_no == "no" or new_when):
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        if new_when:
            self.merge_when(u)
            self.search_and_offer()
            return True
        if u.yes_no == "no" and task.more:
            self.offer_more()  # the one we put forward doesn't suit: the openings behind it
            return True
        if u.yes_no == "no":
            task.chosen, task.offers = None, []
            self.ask("No problem. What day or time would work better?", Expect.WHEN, "slot_collection")
            return True
        if task.kind == "book" and u.services:
            return self.change_services(u)
        return False

    def execute(self) -> None:
        st, task = self.st, self.st.task
        st.phase = "execution"
        if task.kind == "cancel" and task.several:
            self.execute_several()
            return
        if task.kind == "book":
            args: dict[str, Any] = {"services": task.service_codes, "start": task.chosen["start"]}
            if task.vehicle_id:
                args["vehicle_id"] = task.vehicle_id
            if task.transport == "waiter" and may_wait(self.shop_info()) == "no":
                task.transport = None  # "the first one, I'll wait": not where the shop has no customers wait
            if task.transport:
                args["transport"] = task.transport
            if task.notes:
                args["notes"] = task.notes[:500]
            res = self.tool("book_appointment", **args)
            if res.ok:
                appt = res.result["appointment"]
                st.last_booked = appt
                if task.companions:
                    self.book_companions(appt)
                    return
                extra = with_transport(appt.get("transport"))  # as booked
                done = f"You're all set: {services_phrase(appt['services'])} on {appt['label']}{extra}."
                self.say(f"{done} We'll see you then.")
                self.anything_else()
                return
        elif task.kind in ("reschedule", "reminder"):
            res = self.tool(
                "reschedule_appointment", appointment_id=task.appointment["id"], new_start=task.chosen["start"]
            )
            if res.ok:
                appt = res.result["appointment"]
                self.say(f"Done. Your {services_phrase(appt['services'], article=False)} is now on {appt['label']}.")
                if task.companions:  # "move that one" to the first car's duplicate: the other cars still to book
                    self.book_other_cars_beside(appt)
                    return
                self.anything_else()
                return
        else:
            res = self.tool(
                "cancel_appointment",
                appointment_id=task.appointment["id"],
                reason="cancelled by the caller on the phone",
            )
            if res.ok:
                appt = res.result["appointment"]
                self.st.last_cancelled = appt
                self.say(
                    f"Done. Your {services_phrase(appt['services'], article=False)} on {appt['label']} is cancelled."
                )
                self.anything_else()
                return
        self.say(f"Sorry, {lower_first(res.error)}")
        if task.kind == "cancel":
            self.anything_else()
            return
        task.chosen, task.offers = None, []
        self.search_and_offer()
