"""Who is calling: caller ID, verification of an unknown number (name, ZIP, one more fact), and
registration of a new caller (name, car or VIN).
"""

from __future__ import annotations

import re
from typing import Any

from calls.agent import nlu
from calls.agent.flows.common import HOW_CAN_I_HELP, NO_CAR, SKIP, lower_first, says_known, trouble_said
from calls.agent.flows.state import Expect
from calls.agent.flows.vehicles import cars_mentioned
from calls.agent.introductions import answers_with_a_name, corrected_name, introduced_name
from calls.agent.spoken_vin import find_vin, looks_like_vin_attempt

# "I'm not sure of the year", "don't know what year": the car is named, its year is worth one more question
UNSURE_OF_YEAR = re.compile(
    r"\b(not sure|dont know|do not know|forget|forgot|no idea|cant remember|not certain)\b.{0,20}\byear\b"
)


_WEEKDAY_WORDS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A day said by its weekday alone: no week ("next", "this"), date ("the 12th") or month with it.
_DATED = re.compile(
    r"\b(next|this|coming|following|after|tomorrow|today|\d+th|\d+|january|february|march|april|may|june|july|"
    r"august|september|october|november|december|week)\b"
)


def bare_weekday(text: str) -> int | None:
    """0 (Monday) .. 6 when the line names one weekday and nothing to say which week ("it's on Saturday")."""
    norm = nlu.numerize(text)
    said = [i for i, w in enumerate(_WEEKDAY_WORDS) if re.search(rf"\b{w}s?\b", norm)]
    return said[0] if len(said) == 1 and not _DATED.search(norm) else None


class IdentityFlow:
    def load_customer(self) -> bool:
        res = self.tool("lookup_customer")
        if res.ok and res.result.get("found"):
            self.st.customer = res.result["customer"]
            return True
        return False

    def collect_identity(self, u: nlu.Understanding) -> str:
        """A caller without an account: their name and (to book) their car or VIN, said before we asked."""
        st, task = self.st, self.st.task
        taken = ""
        if says_known(nlu.normalize(u.text)):
            st.known_elsewhere = True
        if st.expect in (Expect.REQUEST, Expect.ANYTHING_ELSE, Expect.OFFER_BOOK):
            said = nlu.parse_vehicle(u.text, now=self.now)
            st.told_make = said.make if said is not None and said.make else st.told_make
        if st.expect not in (Expect.NAME, Expect.LAST_NAME):
            name = introduced_name(u.text)  # "Hi, I'm Robert Johnson", "my name's Robert"
            if (
                name
                and name != (st.first_name, st.last_name)
                and not (st.last_name and not name[1] and name[0] == st.first_name)
            ):
                st.first_name, st.last_name = name
                taken = "name"
        if task.kind == "book" and st.expect not in (Expect.VEHICLE, Expect.VIN_CONFIRM, Expect.VEHICLE_AFTER_VIN):
            vin = find_vin(u.text)
            vehicle = None if vin else nlu.parse_vehicle(u.text, now=self.now)
            if vehicle is None and not vin:  # "can I get my Accord in": a model after "my" is their car
                vehicle = next((c for c in cars_mentioned(u.text, self.now) if c.model), None)
            if vin and vin != st.new_vin:
                st.new_vin, taken = vin, "car"
            elif vehicle is not None and vehicle.model:
                found = {"make": vehicle.make, "model": vehicle.model, "year": vehicle.year}
                if found != st.new_vehicle:
                    st.new_vehicle, taken = found, "car"
        return taken

    def on_introduction_only(self, u: nlu.Understanding) -> bool:
        """ "Hi, this is Maria Lee, I'm calling from my work phone" and nothing else: kept (the name, and that
        they are a customer on another phone) for when we need to find their account, and greeted back."""
        st, ctx = self.st, self.ctx
        name = introduced_name(u.text)
        if name is None:
            return False
        if ctx.customer_id is not None:
            on_file = (st.customer or {}).get("first_name") or ctx.customer_name
            if (on_file or "").lower() != name[0].lower():
                return False  # someone else on a customer's phone: the flows that find an account decide
        else:
            st.first_name, st.last_name = name
            if says_known(nlu.normalize(u.text)):
                st.known_elsewhere = True
        self.ask(f"Hi {name[0]}. {HOW_CAN_I_HELP}", Expect.REQUEST, "intent")
        return True

    def on_details(self, u: nlu.Understanding) -> bool:
        """Their name put right ("no no, it's Katherine with a K") or an email address, whatever we asked: kept, on
        the account when there is one. True when that was all the line said (the question is asked again)."""
        st, ctx = self.st, self.ctx
        said: list[str] = []
        new_here = ctx.customer_id is None or ctx.verified_by == "registered"
        fixed = None
        if new_here and st.first_name and st.expect not in (Expect.NAME, Expect.LAST_NAME):
            fixed = corrected_name(u.text, st.first_name, st.last_name)
        if fixed is not None:
            if ctx.customer_id is not None:
                res = self.tool("update_customer_details", first_name=fixed[0], last_name=fixed[1])
                if not res.ok:
                    fixed = None
            if fixed is not None:
                st.first_name, st.last_name = fixed
                if st.customer is not None:
                    st.customer["first_name"], st.customer["last_name"] = fixed
                said.append(f"Sorry about that, {fixed[0]}.")
        email = nlu.parse_email(u.text)
        if email and ctx.customer_id is None:
            st.email = email
            said.append("Thanks, I'll add that email to your account.")
        elif email:
            res = self.tool("update_customer_details", email=email)
            said.append("Thanks, I've saved that email on your account." if res.ok else "")
        if not said:
            return False
        self.say(*said)
        if fixed is not None or self.nothing_asked(u):
            self.say(st.last_prompt or HOW_CAN_I_HELP)  # and the question we had asked, again
            return True
        return False  # "my email is ..., and I need an oil change": the rest is read as usual

    # --- identity ---------------------------------------------------------------------------------------
    def ensure_identity(self, purpose: str) -> bool:
        ctx, st = self.ctx, self.st
        if ctx.customer_id is not None and ctx.verified:
            if st.customer is None:
                self.load_customer()
            return True
        from crm.phones import try_normalize_phone

        if purpose == "register" and st.known_elsewhere:
            purpose = "verify"  # a customer of ours on another phone: find their account, never a second one
            if not (st.first_name and st.last_name):
                st.identity = purpose
                self.ask(
                    "Sure. Since you're calling from a number I don't have on file, let me find your account. "
                    "What's your first and last name?",
                    Expect.NAME,
                    "verification",
                )
                return False
        if purpose == "register" and not try_normalize_phone(ctx.caller_number or ""):
            st.identity = "verify"
            self.ask(
                "I can't see your phone number, so I can only book for existing customers. "
                "What's your first and last name?",
                Expect.NAME,
                "verification",
            )
            return False
        st.identity = purpose
        if st.first_name and st.last_name:  # they introduced themselves already
            if purpose == "register":
                self.say("I don't see this phone number in our system, so let me set you up.")
            self.after_name()
            return False
        if st.first_name:  # "my name's Robert": only the last name is missing
            if purpose == "register":
                self.say("I don't see this phone number in our system, so let me set you up.")
            lead = "Sure. To find your account: " if purpose == "verify" else ""
            self.ask(
                f"{lead}{self.thanks(st.first_name)}. And your last name?"
                if not lead
                else f"{lead}what's your last name, {st.first_name}?",
                Expect.LAST_NAME,
                "verification",
            )
            return False
        if purpose == "register":
            self.say("I don't see this phone number in our system, so let me set you up.")
            self.ask("What's your first and last name?", Expect.NAME, "verification")
        else:
            self.ask(
                "Sure. First I need to find your account. What's your first and last name?", "name", "verification"
            )
        return False

    def on_name(self, u: nlu.Understanding) -> bool:
        st = self.st
        norm = nlu.normalize(u.text)
        name = nlu.parse_name(u.text, bare_ok=True)
        if st.identity == "register" and says_known(norm):
            st.identity = "verify"
            if name is None or not name[1]:
                self.ask(
                    "Okay, let me find your account. What's your first and last name?", Expect.NAME, "verification"
                )
                return True
        if name is not None and not answers_with_a_name(u.text, name, about_the_car=trouble_said(u)):
            if trouble_said(u) and st.task is not None and st.task.kind == "book":
                # "uh it's kind of squealing when I start it up": kept for the technician, and the name asked again
                self.noted("Got it, I'll note that for the technician.")
                return True
            name = None
        if name is None:
            return self.car_for_a_name(u)
        st.first_name, st.last_name = name
        if not st.last_name:
            self.ask(f"{self.thanks(st.first_name)}. And your last name?", Expect.LAST_NAME, "verification")
            return True
        self.after_name()
        return True

    def car_for_a_name(self, u: nlu.Understanding) -> bool:
        """A car said when we asked for the name ("Camry", "my Silverado"): kept for the booking, never a name."""
        st = self.st
        car = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        if car is None or not (car.make or car.model):
            return False
        if st.identity == "register" and car.model and st.task is not None and st.task.kind == "book":
            st.new_vehicle = {"make": car.make, "model": car.model, "year": car.year}
        if st.identity == "verify" and car.make:
            st.told_make = car.make  # the fact we would ask for once we have the name and ZIP code
        self.noted(f"Okay, a {car.label}.")
        return True

    def on_last_name(self, u: nlu.Understanding) -> bool:
        st = self.st
        name = nlu.parse_name(u.text, bare_ok=True)
        if name is None:
            if st.identity == "register" and SKIP.search(nlu.normalize(u.text)):
                self.after_name()
                return True
            return False
        st.last_name = name[1] or name[0]
        self.after_name()
        return True

    def after_name(self) -> None:
        st = self.st
        if st.identity == "register":
            car = st.new_vehicle
            if car is not None and (car.get("year") or not car.get("model")):
                self.register(car)  # the car came with the name: nothing left to ask
                return
            self.say(f"{self.thanks(st.first_name)}.")
            if car is not None:  # "my Camry" said before: only its year is missing
                label = nlu.VehicleMention(make=car.get("make") or "", model=car["model"]).label
                self.ask(f"And what year is your {label}?", Expect.VEHICLE_YEAR, "verification")
                return
            if st.new_vin:
                self.read_back_vin(st.new_vin)
                return
            self.ask("What's the year, make and model of your car?", Expect.VEHICLE, "verification")
        else:
            self.ask(
                f"{self.thanks(st.first_name)}. And what's the ZIP code on your account?", "postal_code", "verification"
            )

    def on_postal_code(self, u: nlu.Understanding) -> bool:
        st = self.st
        code = nlu.parse_postal_code(u.text)
        if code is None:
            return False
        st.postal_code = code
        st.fact_skips = 0
        # Name and postal code alone never find an account; the tool says whether it is worth asking more.
        res = self.tool("lookup_customer", first_name=st.first_name, last_name=st.last_name, postal_code=code)
        if not res.ok:
            self.transfer("could not verify the caller", f"Sorry, {lower_first(res.error)}")
            return True
        if st.told_make and not st.verify_failures:
            # "get the Jeep in": the make they named unasked is the fact we would ask for (the tool checks it)
            return self.check_fact(st.told_make, None, volunteered=True)
        self.ask_fact()
        return True

    def ask_fact(self) -> None:
        st = self.st
        st.asked_day = self.wants_day_fact()
        if st.asked_day:
            self.ask("Got it. And what day is your appointment with us?", Expect.EXTRA_FACT, "verification")
        else:
            self.ask("Got it. And what make is the car on your account?", Expect.EXTRA_FACT, "verification")

    def wants_day_fact(self) -> bool:
        """Ask a caller who wants to cancel or move an appointment for its day: they know it. Others for a make."""
        task = self.st.task
        return task is not None and task.kind in ("cancel", "reschedule")

    def on_extra_fact(self, u: nlu.Understanding) -> bool:
        st = self.st
        norm = nlu.normalize(u.text)
        vehicle = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        make = vehicle.make if vehicle is not None else ""
        day = u.date.single_day if u.date is not None else None
        several = u.date.days if u.date is not None and day is None and len(u.date.days) > 1 else ()
        unsure = SKIP.search(norm) or u.yes_no == "no"
        if not make and u.date is not None and day is None and not several and not unsure:
            # "this week", "next month": a period is no answer (nothing counted); we ask for the day once
            st.fact_skips += 1
            if st.fact_skips >= 2:
                return self.cannot_verify()
            st.asked_day = True
            self.ask("Which day exactly is your appointment?", Expect.EXTRA_FACT, "verification")
            return True
        if not make and day is None and not several:
            if unsure or NO_CAR.search(norm):
                st.fact_skips += 1
                if st.verify_failures or st.fact_skips >= 2:
                    # neither fact, or none after a failed try: a person can check who they are
                    return self.cannot_verify()
                if st.asked_day:
                    self.ask("No problem. What make is the car on your account?", Expect.EXTRA_FACT, "verification")
                else:
                    self.ask("No problem. What day is your appointment with us?", Expect.EXTRA_FACT, "verification")
                st.asked_day = not st.asked_day
                return True
            return False
        weekday = bare_weekday(u.text) if day is not None else None
        if weekday is not None:
            # "it's on Saturday": their Saturday may be next week's or the one after; the weekday is what they know
            return self.check_fact(make, None, weekday=weekday)
        return self.check_fact(make, day, several_days=several)

    def cannot_verify(self) -> bool:
        self.transfer(
            "could not verify the caller",
            "I'm sorry, without that I can't find your account over the phone. "
            "Let me connect you with a service advisor.",
        )
        return True

    def proof_day_names_the_appointment(self, day) -> None:
        """ "What day is your appointment?" - "the Saturday one": to cancel or move, that day also says which
        appointment, unless they already described one (then the day they gave is where it goes)."""
        task = self.st.task
        if task is None or task.kind not in ("cancel", "reschedule") or task.appointment is not None:
            return
        apart = task.described is not None and task.described.target_apart
        if task.date is None and task.time is None and not apart:
            task.date = nlu.DatePref(day, day, label=f"{day:%A}, {day:%B} {day.day}")

    def proof_weekday_names_the_appointment(self, weekday: int) -> None:
        """ "It's on Saturday": to cancel or move, their appointment on a Saturday, whichever week it falls in (the
        Saturday of the request, "my Saturday appointment", was read as this week's)."""
        from datetime import timedelta

        task = self.st.task
        if task is None or task.kind not in ("cancel", "reschedule") or task.appointment is not None:
            return
        said = task.date.single_day if task.date is not None else None
        apart = task.described is not None and task.described.target_apart
        if task.time is not None or apart or (task.date is not None and (said is None or said.weekday() != weekday)):
            return
        first = self.now.date() + timedelta(days=(weekday - self.now.weekday()) % 7)
        days = tuple(first + timedelta(weeks=n) for n in range(10))
        task.date = nlu.DatePref(days[0], days[-1], days=days, label=f"on a {_WEEKDAY_WORDS[weekday].title()}")

    def check_fact(
        self, make: str, day, *, volunteered: bool = False, several_days: tuple = (), weekday: int | None = None
    ) -> bool:
        """Name, postal code and one more fact: the tool finds the account, or says nobody matches. A make the
        caller named before we asked (`volunteered`) that matches nobody is no failed answer: we ask as usual.
        Several days said at once ("Monday or Tuesday") go to the tool as they are: one wrong answer."""
        st = self.st
        args: dict[str, Any] = {"first_name": st.first_name, "last_name": st.last_name, "postal_code": st.postal_code}
        if make:
            args["vehicle_make"] = make
        if day is not None:
            args["appointment_date"] = day.isoformat()
        if several_days:
            args["appointment_dates"] = [d.isoformat() for d in several_days]
        if weekday is not None:
            args["appointment_weekday"] = _WEEKDAY_WORDS[weekday]
        res = self.tool("lookup_customer", **args)
        if not res.ok:
            self.transfer("could not verify the caller", f"Sorry, {lower_first(res.error)}")
            return True
        if res.result["found"]:
            st.customer = res.result["customer"]
            self.say(f"{self.thanks(st.customer['first_name'])}, I found your account.")
            if day is not None:
                self.proof_day_names_the_appointment(day)
            if weekday is not None:
                self.proof_weekday_names_the_appointment(weekday)
            self.advance()
            return True
        if volunteered:
            self.ask_fact()
            return True
        st.verify_failures += 1
        if st.verify_failures >= 2:
            self.transfer(
                "could not verify the caller",
                "I'm sorry, I still can't find an account with those details. "
                "Let me connect you with a service advisor.",
            )
            return True
        self.say("Sorry, I couldn't find an account with those details.")
        self.ask("Let's try once more. What's your first and last name?", Expect.NAME, "verification")
        return True

    def on_vehicle(self, u: nlu.Understanding) -> bool:
        vin = find_vin(u.text)
        if vin is not None:
            return self.read_back_vin(vin)
        vehicle = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        if vehicle is None and looks_like_vin_attempt(u.text):
            self.ask(
                "Sorry, I didn't get all 17 characters of the VIN. Could you read it again, or tell me the year, "
                "make and model?",
                Expect.VEHICLE,
                "verification",
            )
            return True
        if vehicle is None and not SKIP.search(nlu.normalize(u.text)):
            return False
        found = {"make": vehicle.make, "model": vehicle.model, "year": vehicle.year} if vehicle else None
        if found and found["model"] and not found["year"]:
            # "it's a Camry": the year is part of what the advisor needs for parts; asked once, never insisted on
            self.st.new_vehicle = found
            if UNSURE_OF_YEAR.search(nlu.normalize(u.text)):
                self.ask(
                    "No problem, it's fine if you don't know. Roughly what year is it?",
                    Expect.VEHICLE_YEAR,
                    "verification",
                )
            else:
                self.ask(f"And what year is your {vehicle.label}?", Expect.VEHICLE_YEAR, "verification")
            return True
        self.register(found)
        return True

    def on_vehicle_year(self, u: nlu.Understanding) -> bool:
        """The answer to "what year, roughly?": a year said ("uh I think 2015") goes on the car; anything else
        registers the car without one rather than asking again."""
        car = dict(self.st.new_vehicle or {})
        said = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        year = said.year if said is not None else nlu.model_year(u.text, now=self.now)
        if year:
            car["year"] = year
        self.register(car or None)
        return True

    def read_back_vin(self, vin: str) -> bool:
        """Decode the VIN a new caller read out and ask whether that is their car ("a 2003 Honda Accord?")."""
        st = self.st
        res = self.tool("decode_vin", vin=vin)
        if not res.ok:
            # the check digit's arithmetic is for the advisor's screen; on the phone the VIN is just not right
            self.ask(
                "Sorry, that VIN doesn't look right. Could you read it again, or tell me the year, make and model?",
                Expect.VEHICLE,
                "verification",
            )
            return True
        data = res.result
        if not data.get("found") or not data.get("make"):
            # A valid VIN we cannot decode offline: keep it, and ask what the car is.
            st.decoded_vehicle = {"vin": data["vin"], "make": "", "model": "", "year": None}
            self.ask(
                "Thanks. I couldn't look that VIN up. What's the year, make and model of the car?",
                Expect.VEHICLE_AFTER_VIN,
                "verification",
            )
            return True
        st.decoded_vehicle = {
            "vin": data["vin"],
            "make": data["make"],
            "model": data.get("model") or "",
            "year": data.get("year"),
        }
        name = " ".join(str(p) for p in (data.get("year"), data["make"], data.get("model")) if p)
        self.ask(f"That VIN is for a {name}. Is that your car?", Expect.VIN_CONFIRM, "verification")
        return True

    def on_vin_confirm(self, u: nlu.Understanding) -> bool:
        st = self.st
        vin = find_vin(u.text)
        if vin is not None:  # read it out again instead of answering
            return self.read_back_vin(vin)
        vehicle = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        if vehicle is not None and u.yes_no != "no" and self.same_car(vehicle, st.decoded_vehicle or {}):
            self.register(st.decoded_vehicle)  # "yep, it's an Outback"
            return True
        if vehicle is not None and (vehicle.year or vehicle.make or u.yes_no == "no"):
            # "no, it's a 2005 Civic": what they say wins, the misheard VIN goes
            st.decoded_vehicle = None
            self.register({"make": vehicle.make, "model": vehicle.model, "year": vehicle.year})
            return True
        if u.yes_no == "yes":
            self.register(st.decoded_vehicle)
            return True
        if u.yes_no == "no":
            st.decoded_vehicle = None
            self.ask("Sorry about that. What's the year, make and model of your car?", Expect.VEHICLE, "verification")
            return True
        return False

    @staticmethod
    def same_car(said: nlu.VehicleMention, decoded: dict) -> bool:
        """What the caller says of the car agrees with the VIN read back (make, model and year, where said)."""

        def key(text) -> str:
            return "".join(c for c in str(text or "").lower() if c.isalnum())

        said_of = {"make": said.make, "model": said.model, "year": said.year}
        told = [(a, decoded.get(field)) for field, a in said_of.items() if a]
        return bool(told) and all(key(a) == key(b) or (key(b) and key(b).startswith(key(a))) for a, b in told)

    def on_vehicle_after_vin(self, u: nlu.Understanding) -> bool:
        st = self.st
        vehicle = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        if vehicle is None and not SKIP.search(nlu.normalize(u.text)):
            return False
        found = dict(st.decoded_vehicle or {})
        if vehicle is not None:
            found.update(make=vehicle.make, model=vehicle.model, year=vehicle.year)
        self.register(found if found.get("make") or found.get("vin") else None)
        return True

    def register(self, vehicle: dict | None) -> None:
        """Create the new caller's account (with their car when we know it), then carry on with the booking."""
        st = self.st
        args: dict[str, Any] = {"first_name": st.first_name, "last_name": st.last_name}
        if st.email:
            args["email"] = st.email
        if vehicle:
            args.update(vehicle_make=vehicle.get("make") or "", vehicle_model=vehicle.get("model") or "")
            if vehicle.get("year"):
                args["vehicle_year"] = vehicle["year"]
            if vehicle.get("vin"):
                args["vin"] = vehicle["vin"]
        st.decoded_vehicle = st.new_vehicle = None
        st.new_vin = ""
        res = self.tool("register_customer", **args)
        if not res.ok:
            self.transfer(
                "could not register the caller",
                f"Sorry, {lower_first(res.error)} Let me connect you with a service advisor.",
            )
            return
        st.customer = res.result["customer"]
        if res.result.get("vehicle") and st.task is not None:
            st.task.vehicle_id = res.result["vehicle"]["id"]
            st.task.vehicle_label = res.result["vehicle"]["label"]
        self.say(f"{self.thanks(st.first_name)}, you're all set up.")
        self.advance()
