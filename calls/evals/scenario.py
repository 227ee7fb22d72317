"""Scenario files: who calls, the state they need, what they say, and what must be true when they hang up.

A file holds `defaults` (merged into each scenario) and a list of `scenarios`. Dates are ISO (`2026-05-14`) or
days from the scenario's "now" (`+3`); times are 24-hour `HH:MM` in the shop's time zone. The customers of
calls/evals/cast.yaml exist in every scenario. See calls/evals/README.md for the format.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from calls.evals import questions
from calls.evals.yamlio import Node, NodeList, ScenarioError, load

EVALS_DIR = Path(__file__).resolve().parent
SCENARIO_DIR = EVALS_DIR / "scenarios"
CAST_FILE = EVALS_DIR / "cast.yaml"
NEW_CALLER_NUMBER = "+13125550188"  # on nobody's file

SPECIAL_LINES = {"<silence>": "silence", "<hang up>": "hangup"}
_PRESS = re.compile(r"^<press ([0-9*#]+)>$")
PARTS_OF_DAY = {
    # name: (from, to) -- to is exclusive; None = the day's opening / closing
    "first_thing": (None, None),  # the day's opening time exactly
    "morning": (None, time(12)),
    "late_morning": (time(10), time(12)),
    "lunch": (time(11, 30), time(13, 30)),
    "after_lunch": (time(12, 30), None),
    "afternoon": (time(12), time(17)),
    "late_afternoon": (time(15), None),
    "evening": (time(16), None),
}
STATUSES = ("scheduled", "confirmed", "cancelled", "completed", "no_show")
TRANSPORTS = ("waiter", "drop_off", "loaner", "shuttle")
OUTCOMES = (
    "booked",
    "rescheduled",
    "cancelled",
    "confirmed",
    "info",
    "transferred",
    "wrong_person",
    "abandoned",
    "failed",
)


# --- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Car:
    key: str
    year: int | None = None
    make: str = ""
    model: str = ""
    vin: str = ""
    plate: str = ""


@dataclass(frozen=True)
class Person:
    key: str
    first_name: str
    last_name: str
    phone: str
    zip: str = ""
    cars: tuple[Car, ...] = ()


@dataclass(frozen=True)
class GivenAppointment:
    key: str
    customer: str
    car: str | None
    services: tuple[str, ...]
    start: datetime
    status: str = "scheduled"
    line: int = 0


@dataclass(frozen=True)
class Busy:
    """Every bay taken on `day` (between `start` and `end` when given, else all day)."""

    day: date
    start: time | None = None
    end: time | None = None


@dataclass
class Given:
    customers: dict[str, Person] = field(default_factory=dict)
    appointments: dict[str, GivenAppointment] = field(default_factory=dict)
    closures: list[tuple[date, str]] = field(default_factory=list)
    busy: list[Busy] = field(default_factory=list)
    bays: int | None = None
    advisor: bool = True  # a transfer reaches an advisor; False: nobody answers, a call-back is promised


@dataclass(frozen=True)
class Caller:
    number: str  # "" = caller ID withheld
    customer: str | None = None  # who is really calling, when they are on file
    label: str = ""


@dataclass(frozen=True)
class BookedExpect:
    customer: str  # a cast key, or "caller" (whoever called, e.g. a new customer)
    services: tuple[str, ...] = ()
    days: tuple[date, ...] = ()
    times: tuple[time, ...] = ()
    part: str | None = None
    car: str | None = None  # a car key of the customer, or words the car's label must contain ("Outback")
    transport: str | None = None


@dataclass(frozen=True)
class MovedExpect:
    appointment: str
    days: tuple[date, ...] = ()
    times: tuple[time, ...] = ()
    part: str | None = None


@dataclass(frozen=True)
class RegisteredExpect:
    name: str = ""
    car: str = ""  # words the new customer's car must match ("2016 Subaru Outback")
    vin: str = ""


@dataclass
class Expect:
    booked: list[BookedExpect] = field(default_factory=list)
    moved: list[MovedExpect] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # given appointments the customer confirmed (same time)
    registered: RegisteredExpect | None = None
    transferred: bool | None = None
    callback: bool | None = None
    hung_up: bool | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Phrase:
    text: str
    regex: re.Pattern | None = None

    def found_in(self, said: str) -> bool:
        if self.regex is not None:
            return bool(self.regex.search(said))
        return _squash(self.text) in _squash(said)


def _squash(text: str) -> str:
    return " ".join(re.sub(r"[^\w:$']+", " ", text.lower().replace("’", "'")).split())


@dataclass
class Scenario:
    id: str
    path: Path
    line: int
    now: datetime
    caller: Caller
    given: Given
    talk: dict[str, list[str]]
    expect: Expect
    say: list[Phrase] = field(default_factory=list)
    never_say: list[Phrase] = field(default_factory=list)
    note: str = ""
    tags: list[str] = field(default_factory=list)
    reminder: str = ""  # an appointment key: the shop places its reminder call and the caller answers it

    @property
    def where(self) -> str:
        try:
            shown = self.path.relative_to(Path.cwd())
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}"

    @property
    def has_silence(self) -> bool:
        return any(line == "<silence>" for lines in self.talk.values() for line in lines)


# --- reading -----------------------------------------------------------------------------------------------


class _Reader:
    """Reads one file's nodes into the model, raising ScenarioError with the line of the offending key."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, line: int, message: str):
        raise ScenarioError(self.path, line, message)

    def mapping(self, value, line: int, what: str, allowed: tuple[str, ...]) -> Node:
        if not isinstance(value, Node):
            self.fail(getattr(value, "line", line), f"{what} must be a mapping of {', '.join(allowed)}")
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else f"; expected one of {', '.join(allowed)}"
                self.fail(value.line_of(key), f"unknown key `{key}` in {what}{hint}")
        return value

    def string(self, value, line: int, what: str) -> str:
        if isinstance(value, bool) or value is None or isinstance(value, (Node, NodeList)):
            self.fail(line, f"{what} must be text, got {_shown(value)}")
        return str(value).strip()

    def strings(self, value, line: int, what: str) -> list[str]:
        if isinstance(value, NodeList):
            return [self.string(v, value.item_lines[i], what) for i, v in enumerate(value)]
        return [self.string(value, line, what)]

    def day(self, value, line: int, now: datetime, what: str) -> date:
        text = self.string(value, line, what)
        if re.fullmatch(r"[+-]?\d{1,3}", text):
            return now.date() + timedelta(days=int(text))
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(line, f"{what}: `{text}` is not a date (write 2026-05-14, or +3 for three days after now)")

    def days(self, value, line: int, now: datetime, what: str) -> tuple[date, ...]:
        if isinstance(value, NodeList):
            return tuple(self.day(v, value.item_lines[i], now, what) for i, v in enumerate(value))
        return (self.day(value, line, now, what),)

    def clock(self, value, line: int, what: str) -> time:
        text = self.string(value, line, what)
        if not re.fullmatch(r"\d{1,2}:\d\d", text):
            self.fail(line, f"{what}: `{text}` is not a 24-hour time like 09:30 or 14:00")
        try:
            return time.fromisoformat(text.zfill(5))
        except ValueError:
            self.fail(line, f"{what}: `{text}` is not a time of day")

    def clocks(self, value, line: int, what: str) -> tuple[time, ...]:
        if isinstance(value, NodeList):
            return tuple(self.clock(v, value.item_lines[i], what) for i, v in enumerate(value))
        return (self.clock(value, line, what),)

    def moment(self, value, line: int, now: datetime, what: str) -> datetime:
        text = self.string(value, line, what)
        day, _, at = text.partition(" ")
        if not at:
            self.fail(line, f"{what}: `{text}` needs a day and a time, like `2026-05-14 10:00` or `+2 10:00`")
        return datetime.combine(self.day(day, line, now, what), self.clock(at.strip(), line, what), tzinfo=now.tzinfo)

    def services(self, value, line: int, what: str) -> tuple[str, ...]:
        codes = tuple(self.strings(value, line, what))
        known = shop_service_codes()
        for code in codes:
            if code not in known:
                close = difflib.get_close_matches(code, known, n=1)
                hint = f" (did you mean `{close[0]}`?)" if close else f"; the shop has {', '.join(sorted(known))}"
                self.fail(line, f"{what}: the shop has no service `{code}`{hint}")
        return codes

    def choice(self, value, line: int, what: str, allowed) -> str:
        text = self.string(value, line, what)
        if text not in allowed:
            self.fail(line, f"{what}: `{text}` is not one of {', '.join(allowed)}")
        return text

    def flag(self, value, line: int, what: str) -> bool:
        if not isinstance(value, bool):
            self.fail(line, f"{what} must be true or false, got {_shown(value)}")
        return value

    # --- sections -------------------------------------------------------------------------------------------
    def people(self, value, line: int) -> dict[str, Person]:
        people = {}
        if value is None:
            return people
        if not isinstance(value, Node):
            self.fail(getattr(value, "line", line), "customers must be a mapping of customer keys")
        for key, spec in value.items():
            at = value.line_of(key)
            spec = self.mapping(spec, at, f"customer `{key}`", ("name", "phone", "zip", "cars"))
            name = self.string(spec.get("name"), spec.line_of("name"), f"customer `{key}`: name")
            first, _, last = name.partition(" ")
            if "phone" not in spec:
                self.fail(at, f"customer `{key}` needs a phone")
            cars = []
            car_specs = spec.get("cars") or Node()
            if not isinstance(car_specs, Node):
                self.fail(spec.line_of("cars"), f"customer `{key}`: cars must be a mapping of car keys")
            for car_key, car in car_specs.items():
                car_line = car_specs.line_of(car_key)
                car = self.mapping(car, car_line, f"car `{car_key}`", ("year", "make", "model", "vin", "plate"))
                year = car.get("year")
                if year is not None and not isinstance(year, int):
                    self.fail(car.line_of("year"), f"car `{car_key}`: year must be a number")
                cars.append(
                    Car(
                        key=str(car_key),
                        year=year,
                        make=str(car.get("make", "")),
                        model=str(car.get("model", "")),
                        vin=str(car.get("vin", "")),
                        plate=str(car.get("plate", "")),
                    )
                )
            people[key] = Person(
                key=key,
                first_name=first,
                last_name=last.strip(),
                phone=self.string(spec["phone"], spec.line_of("phone"), "phone"),
                zip=str(spec.get("zip", "")),
                cars=tuple(cars),
            )
        return people

    def given(self, value, line: int, now: datetime, base: Given) -> Given:
        given = Given(
            customers=dict(base.customers),
            appointments=dict(base.appointments),
            closures=list(base.closures),
            busy=list(base.busy),
            bays=base.bays,
            advisor=base.advisor,
        )
        if value is None:
            return given
        spec = self.mapping(value, line, "given", ("customers", "appointments", "closures", "full", "bays", "advisor"))
        given.customers.update(self.people(spec.get("customers"), spec.line_of("customers")))
        appts = spec.get("appointments") or Node()
        if not isinstance(appts, Node):
            self.fail(spec.line_of("appointments"), "appointments must be a mapping of appointment keys")
        for key, item in appts.items():
            at = appts.line_of(key)
            item = self.mapping(item, at, f"appointment `{key}`", ("customer", "car", "services", "at", "status"))
            for needed in ("customer", "services", "at"):
                if needed not in item:
                    self.fail(at, f"appointment `{key}` needs `{needed}`")
            status = self.choice(item.get("status", "scheduled"), item.line_of("status"), "status", STATUSES)
            given.appointments[key] = GivenAppointment(
                key=key,
                customer=self.string(item["customer"], item.line_of("customer"), "customer"),
                car=str(item["car"]) if item.get("car") is not None else None,
                services=self.services(item["services"], item.line_of("services"), "services"),
                start=self.moment(item["at"], item.line_of("at"), now, f"appointment `{key}`: at"),
                status=status,
                line=at,
            )
        closures = spec.get("closures") or NodeList()
        if not isinstance(closures, NodeList):
            self.fail(spec.line_of("closures"), "closures must be a list of {day, reason}")
        for i, item in enumerate(closures):
            item = self.mapping(item, closures.item_lines[i], "closure", ("day", "reason"))
            given.closures.append(
                (self.day(item.get("day"), item.line_of("day"), now, "closure day"), str(item.get("reason", "")))
            )
        full = spec.get("full") or NodeList()
        if not isinstance(full, NodeList):
            full = NodeList([full])
            full.item_lines = [spec.line_of("full")]
        for i, item in enumerate(full):
            item_line = full.item_lines[i]
            if isinstance(item, Node):
                item = self.mapping(item, item_line, "full", ("day", "from", "to"))
                given.busy.append(
                    Busy(
                        day=self.day(item.get("day"), item.line_of("day"), now, "full: day"),
                        start=self.clock(item["from"], item.line_of("from"), "full: from") if "from" in item else None,
                        end=self.clock(item["to"], item.line_of("to"), "full: to") if "to" in item else None,
                    )
                )
            else:
                given.busy.append(Busy(day=self.day(item, item_line, now, "full")))
        if "bays" in spec:
            bays = spec["bays"]
            if not isinstance(bays, int) or isinstance(bays, bool) or bays < 1:
                self.fail(spec.line_of("bays"), "bays must be a whole number of at least 1")
            given.bays = bays
        if "advisor" in spec:
            given.advisor = (
                self.choice(spec["advisor"], spec.line_of("advisor"), "advisor", ("reachable", "unreachable"))
                == "reachable"
            )
        return given

    def caller(self, value, line: int, people: dict[str, Person]) -> Caller:
        if isinstance(value, Node):
            spec = self.mapping(value, line, "caller", ("customer", "number"))
            key = self.string(spec.get("customer"), spec.line_of("customer"), "caller: customer")
            if key not in people:
                self.fail(spec.line_of("customer"), f"caller: no customer `{key}` (known: {', '.join(people)})")
            number = self.string(spec.get("number", ""), spec.line_of("number"), "caller: number")
            return Caller(number=number, customer=key, label=f"{key} from {number or 'a withheld number'}")
        text = self.string(value, line, "caller")
        if text == "new":
            return Caller(number=NEW_CALLER_NUMBER, label="new caller")
        if text == "withheld":
            return Caller(number="", label="caller ID withheld")
        if text in people:
            return Caller(number=people[text].phone, customer=text, label=text)
        if re.fullmatch(r"\+?[\d\s().-]{7,}", text):
            return Caller(number=text, label=text)
        self.fail(line, f"caller: `{text}` is not new, withheld, a phone number or a customer ({', '.join(people)})")

    def talk(self, value, line: int) -> dict[str, list[str]]:
        spec = self.mapping(value, line, "talk", tuple(questions.KINDS))
        talk = {}
        for kind, lines in spec.items():
            at = spec.line_of(kind)
            texts = self.strings(lines, at, f"talk: {kind}")
            for i, text in enumerate(texts):
                if text.startswith("<") and text not in SPECIAL_LINES and not _PRESS.match(text):
                    where = lines.item_lines[i] if isinstance(lines, NodeList) else at
                    self.fail(where, f"talk: {kind}: `{text}` is not one of <silence>, <hang up>, <press 0>")
                if not text:
                    self.fail(at, f"talk: {kind}: an empty line (write <silence> for a caller who says nothing)")
            talk[kind] = texts
        if "request" not in talk and "reminder" not in talk:
            self.fail(line, "talk needs a `request` (or a `reminder` answer): what the caller says after the greeting")
        return talk

    def booked(self, value, line: int, now: datetime) -> BookedExpect:
        spec = self.mapping(value, line, "booked", ("customer", "service", "day", "time", "part", "car", "transport"))
        return BookedExpect(
            customer=self.string(spec.get("customer", "caller"), spec.line_of("customer"), "booked: customer"),
            services=self.services(spec["service"], spec.line_of("service"), "booked: service")
            if "service" in spec
            else (),
            days=self.days(spec["day"], spec.line_of("day"), now, "booked: day") if "day" in spec else (),
            times=self.clocks(spec["time"], spec.line_of("time"), "booked: time") if "time" in spec else (),
            part=self.choice(spec["part"], spec.line_of("part"), "part", PARTS_OF_DAY) if "part" in spec else None,
            car=self.string(spec["car"], spec.line_of("car"), "car") if "car" in spec else None,
            transport=self.choice(spec["transport"], spec.line_of("transport"), "transport", TRANSPORTS)
            if "transport" in spec
            else None,
        )

    def expect(self, value, line: int, now: datetime, given: Given) -> Expect:
        spec = self.mapping(
            value,
            line,
            "expect",
            (
                "booked",
                "moved",
                "cancelled",
                "confirmed",
                "registered",
                "transferred",
                "callback",
                "hung_up",
                "outcome",
                "nothing_written",
            ),
        )
        expect = Expect()
        booked = spec.get("booked")
        if booked is not None:
            items = booked if isinstance(booked, NodeList) else [booked]
            expect.booked = [self.booked(b, getattr(b, "line", spec.line_of("booked")), now) for b in items]
        moved = spec.get("moved")
        if moved is not None:
            items = moved if isinstance(moved, NodeList) else [moved]
            for m in items:
                m = self.mapping(
                    m, getattr(m, "line", spec.line_of("moved")), "moved", ("appointment", "day", "time", "part")
                )
                key = self.string(m.get("appointment"), m.line_of("appointment"), "moved: appointment")
                if key not in given.appointments:
                    self.fail(m.line_of("appointment"), f"moved: no appointment `{key}` in given")
                expect.moved.append(
                    MovedExpect(
                        appointment=key,
                        days=self.days(m["day"], m.line_of("day"), now, "moved: day") if "day" in m else (),
                        times=self.clocks(m["time"], m.line_of("time"), "moved: time") if "time" in m else (),
                        part=self.choice(m["part"], m.line_of("part"), "part", PARTS_OF_DAY) if "part" in m else None,
                    )
                )
        if "cancelled" in spec:
            expect.cancelled = self.strings(spec["cancelled"], spec.line_of("cancelled"), "cancelled")
            for key in expect.cancelled:
                if key not in given.appointments:
                    self.fail(spec.line_of("cancelled"), f"cancelled: no appointment `{key}` in given")
        if "confirmed" in spec:
            expect.confirmed = self.strings(spec["confirmed"], spec.line_of("confirmed"), "confirmed")
            for key in expect.confirmed:
                if key not in given.appointments:
                    self.fail(spec.line_of("confirmed"), f"confirmed: no appointment `{key}` in given")
        if "registered" in spec:
            r = self.mapping(spec["registered"], spec.line_of("registered"), "registered", ("name", "car", "vin"))
            expect.registered = RegisteredExpect(
                name=str(r.get("name", "")), car=str(r.get("car", "")), vin=str(r.get("vin", ""))
            )
        for flag in ("transferred", "callback", "hung_up"):
            if flag in spec:
                setattr(expect, flag, self.flag(spec[flag], spec.line_of(flag), flag))
        if "outcome" in spec:
            expect.outcome = self.choice(spec["outcome"], spec.line_of("outcome"), "outcome", OUTCOMES)
        if "nothing_written" in spec:
            nothing = self.flag(spec["nothing_written"], spec.line_of("nothing_written"), "nothing_written")
            if nothing and (expect.booked or expect.moved or expect.cancelled or expect.registered):
                self.fail(spec.line_of("nothing_written"), "nothing_written contradicts booked/moved/cancelled")
        return expect

    def phrases(self, value, line: int, what: str) -> list[Phrase]:
        out = []
        for text in self.strings(value, line, what):
            if len(text) > 2 and text.startswith("/") and text.endswith("/"):
                try:
                    out.append(Phrase(text=text, regex=re.compile(text[1:-1], re.IGNORECASE)))
                except re.error as exc:
                    self.fail(line, f"{what}: bad pattern {text}: {exc}")
            else:
                out.append(Phrase(text=text))
        return out

    def now(self, value, line: int) -> datetime:
        from scheduling.availability import shop_tz

        text = self.string(value, line, "now")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail(line, f"now: `{text}` is not a date and time like 2026-05-11 09:10")
        if parsed.tzinfo is not None:
            self.fail(line, "now: write the shop's local time, without a time zone")
        return parsed.replace(tzinfo=shop_tz())

    def check_references(self, sc: Scenario) -> None:
        people = sc.given.customers
        for appt in sc.given.appointments.values():
            person = people.get(appt.customer)
            if person is None:
                self.fail(appt.line, f"appointment `{appt.key}`: no customer `{appt.customer}`")
            if appt.car is not None and appt.car not in {c.key for c in person.cars}:
                self.fail(appt.line, f"appointment `{appt.key}`: {appt.customer} has no car `{appt.car}`")
        for b in sc.expect.booked:
            if b.customer != "caller" and b.customer not in people:
                self.fail(sc.line, f"booked: no customer `{b.customer}`")


def shop_service_codes() -> list[str]:
    """The codes of the shop the suite runs against (the demo shop: calls/evals/world.py)."""
    from scheduling.management.commands.seed_demo import SERVICE_TYPES

    return [row[0] for row in SERVICE_TYPES]


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing"
    if isinstance(value, (Node, dict)):
        return "a mapping"
    if isinstance(value, (NodeList, list)):
        return "a list"
    return f"`{value}`"


SCENARIO_KEYS = ("id", "note", "tags", "now", "caller", "given", "talk", "expect", "say", "never_say", "reminder")


def load_cast(path: Path = CAST_FILE) -> dict[str, Person]:
    data = load(path)
    reader = _Reader(path)
    spec = reader.mapping(data, 1, "cast file", ("customers",))
    return reader.people(spec.get("customers"), spec.line_of("customers"))


def load_file(path: Path, cast: dict[str, Person] | None = None) -> list[Scenario]:
    path = Path(path).resolve()
    data = load(path)
    reader = _Reader(path)
    if data is None:
        reader.fail(1, "the file is empty")
    top = reader.mapping(data, 1, "a scenario file", ("defaults", "scenarios"))
    defaults = reader.mapping(
        top.get("defaults") or Node(), top.line_of("defaults"), "defaults", ("now", "given", "caller")
    )
    scenarios = top.get("scenarios")
    if not isinstance(scenarios, NodeList) or not scenarios:
        reader.fail(top.line_of("scenarios"), "`scenarios` must be a list with at least one scenario")
    base = Given(customers=dict(cast if cast is not None else load_cast()))
    out = []
    for i, item in enumerate(scenarios):
        at = scenarios.item_lines[i]
        spec = reader.mapping(item, at, "a scenario", SCENARIO_KEYS)
        sid = reader.string(spec.get("id"), spec.line_of("id"), "id") if "id" in spec else ""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", sid):
            reader.fail(spec.line_of("id"), "each scenario needs an `id` of lower-case words and dashes")
        now_value = spec.get("now", defaults.get("now"))
        if now_value is None:
            reader.fail(at, f"scenario `{sid}` has no `now` (set it here or in defaults)")
        now = reader.now(now_value, spec.line_of("now") if "now" in spec else defaults.line_of("now"))
        given = reader.given(defaults.get("given"), defaults.line_of("given"), now, base)
        given = reader.given(spec.get("given"), spec.line_of("given"), now, given)
        if "talk" not in spec:
            reader.fail(at, f"scenario `{sid}` has no `talk`")
        reminder = reader.string(spec["reminder"], spec.line_of("reminder"), "reminder") if "reminder" in spec else ""
        if reminder and reminder not in given.appointments:
            reader.fail(spec.line_of("reminder"), f"reminder: no appointment `{reminder}` in `given`")
        caller_value = spec.get("caller", defaults.get("caller"))
        if caller_value is None and reminder:
            caller_value = given.appointments[reminder].customer  # the shop dials the appointment's customer
        if caller_value is None:
            reader.fail(at, f"scenario `{sid}` has no `caller`")
        sc = Scenario(
            id=sid,
            path=path,
            line=at,
            now=now,
            caller=reader.caller(
                caller_value,
                spec.line_of("caller") if "caller" in spec else defaults.line_of("caller"),
                given.customers,
            ),
            given=given,
            talk=reader.talk(spec["talk"], spec.line_of("talk")),
            expect=reader.expect(spec.get("expect") or Node(), spec.line_of("expect"), now, given),
            say=reader.phrases(spec["say"], spec.line_of("say"), "say") if "say" in spec else [],
            never_say=reader.phrases(spec["never_say"], spec.line_of("never_say"), "never_say")
            if "never_say" in spec
            else [],
            note=str(spec.get("note", "")),
            tags=reader.strings(spec["tags"], spec.line_of("tags"), "tags") if "tags" in spec else [],
            reminder=reminder,
        )
        reader.check_references(sc)
        out.append(sc)
    return out


def scenario_files(paths: list[str] | None = None) -> list[Path]:
    """The files to run: the suite's own (scenarios/*.yaml) or the files and folders given."""
    if not paths:
        return sorted(SCENARIO_DIR.glob("*.yaml"))
    files = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")))
        elif p.exists():
            files.append(p)
        else:
            raise ScenarioError(p, None, "no such file or folder")
    return files


def load_scenarios(paths: list[str] | None = None) -> list[Scenario]:
    """Every scenario of the given files; ScenarioError for the first problem found (ids must be unique)."""
    cast = load_cast()
    scenarios, seen = [], {}
    for path in scenario_files(paths):
        for sc in load_file(path, cast):
            if sc.id in seen:
                raise ScenarioError(sc.path, sc.line, f"scenario id `{sc.id}` is already used at {seen[sc.id]}")
            seen[sc.id] = sc.where
            scenarios.append(sc)
    return scenarios
