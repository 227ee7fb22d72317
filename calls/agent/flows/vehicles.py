"""A car the caller books for that is not on their account ("it's for my wife's 2019 Camry", "I just bought a 2021
Tacoma", a VIN): read it back, add it to their own account through the add_vehicle tool, then book on it.
"""

from __future__ import annotations

import re
from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.common import SKIP, lower_first
from calls.agent.flows.host import FlowHost
from calls.agent.flows.state import Expect
from calls.agent.phrases import vehicle_label
from calls.agent.spoken_vin import find_vin

# A model said on its own is a car only after a word that makes it one ("my wife's Camry", "the Tacoma", "a new
# Rogue"): "express oil change" names no Chevrolet Express.
_CAR_CUE = re.compile(
    r"\b(my|the|a|an|our|his|her|their|this|that|new|used|other|second|(wife|husband|son|daughter|mom|dad|mother|"
    r"father|girlfriend|boyfriend|partner|kid|sister|brother|friend|fiance|fiancee|spouse|grandson|granddaughter|"
    r"niece|nephew|neighbor|roommate)s)\s+"
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b|\b(19|20) (\d\d)\b")
# "a different car", "a car that's not on my account", "a new car": the car is not one on file, whatever it is.
ANOTHER_CAR = re.compile(
    r"\b((a |my )?(different|another|other|new|second) (car|vehicle|truck|suv|van)|"
    r"(car|vehicle|truck) (that is |thats )?not (on|in) (my|the) (account|file|system)|neither( of them| one)?|"
    r"none of (them|those))\b"
)
NEW_CAR_EXPECTS = (Expect.NEW_CAR, Expect.ADD_CAR)
# Agreement to the read-back of a car in words no yes/no reader knows: "that's the one", "that's my son's".
_THATS_IT = re.compile(
    r"^(yes |yeah |yep )?(thats (the one|it|him|her|the car|the truck|right|correct|my \w+)|"
    r"(sounds|looks) (right|good)|correct|exactly|you got it)\b"
)


def said_year(text: str, now: datetime) -> int | None:
    for m in _YEAR.finditer(nlu.numerize(text)):
        value = int(m.group(1)) if m.group(1) else int(m.group(2)) * 100 + int(m.group(3))
        if 1950 <= value <= now.year + 1:
            return value
    return None


def cars_mentioned(text: str, now: datetime, *, bare_ok: bool = False) -> list[nlu.VehicleMention]:
    """The cars a line names: a make ("a Honda", "2019 Toyota Camry"), a year and model ("2021 Tacoma"), or a model
    after a word that makes it a car ("my wife's Camry", "not the Silverado, the Civic"); `bare_ok`: a model
    alone ("Camry")."""
    # Each car named after its own "my"/"the" first: in "my Highlander and my wife's new 2023 RAV4" the year is the
    # RAV4's, which a reading of the whole line would give the Highlander.
    found: list[nlu.VehicleMention | None] = []
    norm = nlu.normalize(text)
    for cue in _CAR_CUE.finditer(norm):
        words = norm[cue.end() :].split()[:4]
        year_first = bool(words) and said_year(words[0], now) is not None  # "my 2019 Camry": the model comes next
        head = words[1:2] if year_first else words[:1]
        words = words if year_first else words[:3]
        car = _known_model(nlu.parse_vehicle(" ".join(words), bare_ok=True, now=now)) if head else None
        after = words[words.index(head[0]) + 1 :][:1] if head else []
        if (
            car is not None
            and car.model
            and _key(car.model).startswith(_key(head[0]))
            and not set(after) & _SERVICE_AFTER
        ):
            found.append(car)
    found.append(_known_model(nlu.parse_vehicle(text, now=now, bare_ok=bare_ok)))
    return [car for car in found if car is not None]


# "the express oil change", "the premium service": a model name before a service word is the service's name.
_SERVICE_AFTER = {
    "oil",
    "service",
    "change",
    "inspection",
    "package",
    "lube",
    "wash",
    "detail",
    "special",
    "deal",
    "option",
    "plan",
    "job",
    "check",
    "tune",
}
# Words that are some maker's model name and everybody's word for a car ("my truck" is no Mitsubishi Truck).
_GENERIC = {
    "truck",
    "car",
    "van",
    "suv",
    "wagon",
    "coupe",
    "sedan",
    "pickup",
    "minivan",
    "hatchback",
    "convertible",
    "one",
    "other",
    "new",
    "old",
    "first",
    "second",
}


_MODEL_NUMBER = re.compile(r"\d")  # "Ram 1500", "F-250", "RX 350": numbered models the vPIC names leave out


def _known_model(car: nlu.VehicleMention | None) -> nlu.VehicleMention | None:
    """Only a model the make really has ("Jeep Thursday" is a Jeep): a word after the make is no model otherwise."""
    if car is None or not car.model:
        return car
    key = _key(car.model)
    if key in _GENERIC or (car.make and key not in nlu.models_for_make(car.make) and not _MODEL_NUMBER.search(key)):
        return nlu.VehicleMention(year=car.year, make=car.make) if car.make else None
    return car


def _key(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


# A yes that leads the line ("yeah go ahead, the VIN is ..."): what follows adds to it, it takes nothing back.
_YES_FIRST = re.compile(r"^(?:(?:um|uh|oh|well) )*(?:yes|yeah|yep|yup|sure|ok|okay|please do|go ahead|do it)\b")


def is_on_file(car: nlu.VehicleMention, vehicles: list[dict]) -> bool:
    """The car said is one of these: the same model (and year, when both are known), or the same make when no model
    was said."""
    for v in vehicles:
        if car.model:
            said, on_file = _key(car.model), _key(v.get("model"))
            same_model = bool(on_file) and (
                said == on_file or said.startswith(on_file) or on_file.startswith(said) or said in on_file
            )
            if same_model and not (car.year and v.get("year") and car.year != v["year"]):
                return True
        elif car.make and _key(car.make) == _key(v.get("make")):
            return True
    return False


def car_not_on_file(text: str, vehicles: list[dict], now: datetime, *, bare_ok: bool = False) -> dict | None:
    """{year, make, model} (or {vin}) of a car the line names that is not on the caller's account, else None."""
    vin = find_vin(text)
    if vin is not None:
        return None if any(v.get("vin") == vin for v in vehicles) else {"vin": vin}
    for car in cars_mentioned(text, now, bare_ok=bare_ok):
        if (car.make or car.model) and not is_on_file(car, vehicles):
            return {"year": car.year, "make": car.make, "model": car.model}
    return None


def car_key(car: dict | None) -> str:
    """What tells two cars said apart: the VIN, else make and model (a year added later is the same car)."""
    car = car or {}
    return car.get("vin") or f"{_key(car.get('make'))}|{_key(car.get('model'))}"


def car_phrase(car: dict) -> str:
    return vehicle_label(car.get("year"), car.get("make") or "", car.get("model") or "") or "that car"


class NewVehicleFlow(FlowHost):
    """Known callers' cars that are not on file yet."""

    def caller_vehicles(self) -> list[dict]:
        return list((self.st.customer or {}).get("vehicles", []))

    def may_add_car(self) -> bool:
        task = self.current_task()
        return (
            task is not None
            and task.kind == "book"
            and self.ctx.customer_id is not None
            and self.ctx.verified
            and self.st.customer is not None
        )

    def spot_new_car(self, u: nlu.Understanding) -> bool:
        """A line in the middle of a booking names a car not on file ("no, it's for my wife's Camry"): ask about it
        now. True when that is what this turn does."""
        if not self.may_add_car() or self.st.expect in NEW_CAR_EXPECTS:
            return False
        # a model alone is a car where we asked which car (or which booking): "Camry", "the wife's"
        short = len(nlu.normalize(u.text).split()) <= 3 and self.st.expect in (
            Expect.VEHICLE_CHOICE,
            Expect.DUPLICATE,
            Expect.CONFIRM,
        )
        car = car_not_on_file(u.text, self.caller_vehicles(), self.now, bare_ok=short)
        task = self.current_task()
        if (
            car is None
            and ANOTHER_CAR.search(nlu.normalize(u.text))
            and self.st.expect in (Expect.VEHICLE_CHOICE, Expect.CONFIRM)
        ):
            car = {}  # "neither, it's a different car": what is it?
        if car is None or car_key(car) in task.cars_refused or (car and car_key(car) == car_key(task.new_car)):
            return False
        task.new_car = car
        task.vehicle_id, task.vehicle_label = None, ""
        if u.services and not task.service_codes:  # "an oil change, for my wife's Camry" when asked what it needs
            self.set_services(task, [s.code for s in u.services], [s.name for s in u.services])
        if u.has_when and self.st.expect in (Expect.VEHICLE_CHOICE, Expect.SERVICE, Expect.WHEN):
            self.take_when(u)
        self.ask_about_new_car()
        return True

    def new_car_pending(self) -> bool:
        """Before the booking picks a car: one named in the request that is not on file is asked about first."""
        task = self.current_task()
        if not self.may_add_car() or task.vehicle_id is not None:
            return False
        if task.new_car is None:
            for hint in reversed(task.vehicle_hints):
                car = car_not_on_file(hint, self.caller_vehicles(), self.now)
                if car is not None and car_key(car) not in task.cars_refused:
                    task.new_car = car
                    break
        if task.new_car is None:
            return False
        self.ask_about_new_car()
        return True

    def ask_about_new_car(self) -> None:
        task = self.current_task()
        car = task.new_car or {}
        if car.get("vin") and not car.get("decoded"):
            self.decode_new_car_vin(car["vin"])
            return
        if not car.get("model"):
            make = car.get("make")
            question = (
                f"I don't see a {make} on your account. What year and model is it?"
                if make
                else "Sure. What's the year, make and model of that car? Or you can read me its VIN."
            )
            self.ask(question, Expect.NEW_CAR, "slot_collection")
            return
        if not car.get("year") and not car.get("year_asked"):
            car["year_asked"] = True
            self.ask(
                f"I don't see a {car_phrase(car)} on your account. What year is it? Then I'll add it for you.",
                Expect.NEW_CAR,
                "slot_collection",
            )
            return
        if car.get("year_asked"):
            question = f"So that's a {car_phrase(car)}. Shall I add it to your account?"
        else:
            question = f"I don't see a {car_phrase(car)} on your account. Shall I add it?"
        self.ask(question, Expect.ADD_CAR, "confirmation")

    def decode_new_car_vin(self, vin: str, *, agreed: dict | None = None) -> None:
        """Look the VIN up and read its car back; `agreed`: the car the caller just said yes to adding, added at
        once when the VIN is that car ("yeah go ahead, the VIN is ...")."""
        task = self.current_task()
        res = self.tool("decode_vin", vin=vin)
        data = res.result or {}
        if not res.ok or not data.get("found") or not data.get("make"):
            task.new_car = {"vin": data.get("vin") or vin, "decoded": True}
            why = "that VIN doesn't look right." if not res.ok else "I couldn't look that VIN up."
            self.ask(
                f"Sorry, {why} Could you read it again, or tell me the year, make and model of the car?",
                Expect.NEW_CAR,
                "slot_collection",
            )
            return
        task.new_car = {
            "vin": data["vin"],
            "year": data.get("year"),
            "make": data["make"],
            "model": data.get("model") or "",
            "decoded": True,
        }
        decoded = nlu.VehicleMention(year=data.get("year"), make=data["make"], model=data.get("model") or "")
        if agreed is not None and agreed.get("model") and is_on_file(decoded, [agreed]):
            self.add_new_car(task.new_car)
            return
        self.ask(
            f"That VIN is for a {car_phrase(task.new_car)}. Shall I add it to your account?",
            Expect.ADD_CAR,
            "confirmation",
        )

    def on_new_car(self, u: nlu.Understanding) -> bool:
        """The details of the car: year, make and model, a year alone, or its VIN."""
        task = self.current_task()
        car = dict(task.new_car or {})
        vin = find_vin(u.text)
        if vin is not None:
            self.decode_new_car_vin(vin)
            return True
        said = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        year = said_year(u.text, self.now)
        if said is not None:
            car.update({k: v for k, v in (("year", said.year), ("make", said.make), ("model", said.model)) if v})
        elif year is not None:
            car["year"] = year
        elif SKIP.search(nlu.normalize(u.text)) and car.get("model"):
            car["year_asked"] = True  # "not sure": the car without its year
        elif u.yes_no == "no" or SKIP.search(nlu.normalize(u.text)):
            return self.refuse_new_car("Okay, no problem.")
        else:
            return False
        car["year_asked"] = True  # they have told us what it is: read it back as theirs ("So that's a ...")
        task.new_car = car
        self.ask_about_new_car()
        return True

    def on_add_car(self, u: nlu.Understanding) -> bool:
        """The read-back of the car: yes adds it; a correction is read back again; no books on a car on file."""
        task = self.current_task()
        car = dict(task.new_car or {})
        vin = find_vin(u.text)
        if vin is not None and vin != car.get("vin"):
            # ("yes, the VIN is ...": the car read back, with its VIN, when the VIN is that car)
            self.decode_new_car_vin(vin, agreed=car if _YES_FIRST.match(nlu.normalize(u.text)) else None)
            return True
        said = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        year = said_year(u.text, self.now)
        if (said is not None and not is_on_file(said, [car])) or (said is None and year and year != car.get("year")):
            # "no, a 2018": what they say wins, read back again
            if said is not None:
                car.update({k: v for k, v in (("year", said.year), ("make", said.make), ("model", said.model)) if v})
            else:
                car["year"] = year
            car.pop("vin", None)
            car.pop("decoded", None)
            car["year_asked"] = True
            task.new_car = car
            self.ask_about_new_car()
            return True
        if u.yes_no == "yes" or (said is not None and u.yes_no != "no") or _THATS_IT.search(nlu.normalize(u.text)):
            self.add_new_car(car)
            return True
        if u.yes_no == "no":
            return self.refuse_new_car("Okay, I won't add it.")
        return False

    def add_new_car(self, car: dict) -> None:
        st, task = self.st, self.current_task()
        args = {"vehicle_make": car.get("make") or "", "vehicle_model": car.get("model") or ""}
        if car.get("year"):
            args["vehicle_year"] = car["year"]
        if car.get("vin"):
            args["vin"] = car["vin"]
        res = self.tool("add_vehicle", **args)
        task.new_car = None
        if not res.ok:
            task.cars_refused.append(car_key(car))
            self.say(f"Sorry, {lower_first(res.error)}")
            self.advance()
            return
        result = res.result or {}
        vehicle = result["vehicle"]
        if st.customer is not None and all(v["id"] != vehicle["id"] for v in st.customer.get("vehicles", [])):
            st.customer.setdefault("vehicles", []).append(vehicle)
        task.vehicle_id, task.vehicle_label = vehicle["id"], vehicle["label"]
        if result.get("added"):
            self.say(f"Done, I've added the {vehicle['label']} to your account.")
        self.advance()

    def refuse_new_car(self, ack: str) -> bool:
        task = self.current_task()
        if task.new_car is not None:
            task.cars_refused.append(car_key(task.new_car))
        task.new_car = None
        self.say(ack)
        self.advance()
        return True
