"""Which of the caller's appointments they mean, when they have several: "the Thursday one" (whichever Thursday it
is on), "the one on the 14th", "the oil change", "both of them", "cancel everything"; and, in "move my oil change
to Friday at 10", which words describe the appointment and which say where it goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.host import FlowHost
from calls.agent.flows.state import Expect
from calls.agent.phrases import join_words, services_phrase
from calls.agent.tools import ToolResult
from scheduling.wording import spoken_day

# "both of them", "all of them", "all three", "cancel everything", "every one of them", "each of them".
_BOTH = re.compile(r"\bboth\b")
_ALL_OF_THEM = re.compile(
    r"\b(both|all (of )?(them|those|these|em|my \w+|the \w+|\d|two|three|four|five)|everything|"
    r"every (single )?(one|appointment)|each (one|of them)|all of it|"
    r"(my|the) (two|three|four|2|3|4) (appointments|ones))\b"
    r"|\b(cancel|move|reschedule)( them)? all\b|^(yes |yeah |yep |ok |okay |um |uh |just )*them all\b"
    # "move my appointments": all of them ("one of my appointments" is one)
    r"|(?<!\bof )\b(my|our) (appointments|appts|bookings)\b"
)
# "cancel everything except the tire rotation": what follows names the one(s) to leave alone.
_ALL_EXCEPT = re.compile(
    r"\b(except( for)?|excepting|excluding|other than|besides|apart from|aside from|save for|but( not| for)?)\b"
)
# Where the appointment's description ends and the new day or time begins, after a verb that moves it:
# "move my oil change | to Friday at 10", "reschedule the Thursday one | for next week", "make it | Friday".
_MOVE_VERB = re.compile(
    r"\b(move|moving|reschedule|rescheduling|change|changing|push|pushing|bump|bumping|switch|"
    r"switching|shift|shifting|put|make)\b"
)
_MAKE_IT = re.compile(
    r"\b(make|change|move|switch|push|bump|put) (it|that( one)?|this( one)?|them)( (to|for|until|till|into))?\b"
)
_TO_MARK = re.compile(r"\b(to|until|till|into)\b")
_TARGET_MARK = re.compile(r"\b(to|for|until|till|into|make it|instead)\b")
# Words that say where it goes wherever they stand, move verb or not: "can we do Thursday", "how about Friday",
# "I'd rather do Monday", "switch it to": what follows is the new day, never the appointment's.
_TARGET_OPENER = re.compile(
    r"\b((can|could|would|will|shall) (we|i|you|ya) "
    r"(do|go with|go for|try|make it|come in|get (it|me|us) in|bring it in)|"
    r"(how|what) about|(id|i would|i d) (rather|prefer)( (do|go|come in|come|have it|make it|bring it in))?|"
    r"lets (do|go|try|make it)|rather (do|go|have it|come in|make it))\b"
)
# "Thursday instead", "Thursday would be better": the words just before name where it goes.
_TARGET_BEFORE = re.compile(r"\b(instead|rather|(would|will|works?|is) (be )?(better|work better|be best))\b")
# "instead of today", "rather than the Monday one": what follows names the appointment, not the new day.
_INSTEAD_OF = re.compile(r"\b(instead of|rather than|in place of)\b")
# "from today to Thursday": "from" names the appointment's day ("from today" alone reads as "from today on").
_FROM_DAY = re.compile(r"\bfrom\b")
# Words that join a day to its time or qualify it ("next", "on the", "at"), kept with the day they belong to.
_WHEN_GLUE = frozenset(
    "next this coming on the at in a an of morning afternoon evening noon early late first thing around about".split()
)
_MINUTE_WORDS = frozenset("half quarter past to till after of".split())
# "the one on the 2nd" is a day of the month, "the 2nd one" a position (unless there are not that many).
_ON_THE_NTH = re.compile(r"\b(on|for) (the )?\d+(st|nd|rd|th)\b")
_NTH_ONE = re.compile(r"\bthe (\d+)(st|nd|rd|th) (one|appointment)\b")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(rf"\b({'|'.join(_WEEKDAYS)})s?\b")
_COUNT_WORDS = {2: "both", 3: "all three", 4: "all four"}


@dataclass
class Said:
    """A caller's words, read for what identifies an appointment (the shape of nlu.Understanding it needs)."""

    text: str
    date: nlu.DatePref | None
    time: nlu.TimePref | None
    services: list
    target_apart: bool = False  # the request said apart where the appointment goes ("... to Friday")


# "the one I just made", "the appointment we just booked", "the new one": the one booked in this call.
_JUST_MADE = re.compile(
    r"\b(one|appointment|appt|booking|visit) (that )?(i|we|you) (just )?(made|booked|set up|scheduled|did|got)\b|"
    r"\bjust (made|booked|set up|scheduled)\b|\bthe (new|brand new|newest) (one|appointment|booking)\b"
)


def says_just_made(text: str) -> bool:
    return bool(_JUST_MADE.search(nlu.normalize(text)))


# "the three of them": all of them when that is how many there are
_THE_N_OF_THEM = re.compile(r"\bthe (two|three|four|five|2|3|4|5) of (them|those|these|em)\b")
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "2": 2, "3": 3, "4": 4, "5": 5}


def says_all(text: str, count: int = 0) -> bool:
    """The caller means every appointment listed ("both of them", "cancel everything"; "the three of them" when
    `count`, the number listed, is three)."""
    s = nlu.normalize(text)
    if _ALL_OF_THEM.search(s):
        return True
    n = _THE_N_OF_THEM.search(s)
    return n is not None and _COUNTS[n.group(1)] == count


def excepted_words(text: str) -> str:
    """The words naming what to leave alone in "cancel everything except the tire rotation" ("" when none)."""
    s = nlu.normalize(text)
    everything = _ALL_OF_THEM.search(s)
    mark = _ALL_EXCEPT.search(s, everything.end()) if everything is not None else None
    return s[mark.end() :].strip() if mark is not None else ""


def split_move(text: str, *, verb_needed: bool = True, now: datetime | None = None) -> tuple[str, str] | None:
    """("move my oil change", "friday at 10") from "move my oil change to Friday at 10": the description of the
    appointment and the words that say when it should be instead. None when no such split is said. A day said
    as the target ("to Thursday", "Thursday instead", "can we do Thursday") is never part of the description;
    "instead of today" / "from today" is. `now` lets "Thursday instead" be told apart from the words before it."""
    s = nlu.normalize(text)
    old = ""
    instead_of = _INSTEAD_OF.search(s)
    if instead_of is not None:  # "can we do Thursday instead of today": "today" is the appointment's day
        s, old = s[: instead_of.start()].strip(), s[instead_of.end() :].strip()
    parts = _split_target(s, verb_needed=verb_needed, now=now)
    if parts is None:
        return (old, s) if old and s else None
    described = _FROM_DAY.sub(" ", " ".join(p for p in (parts[0], old) if p))
    return " ".join(described.split()), parts[1]


def _split_target(s: str, *, verb_needed: bool, now: datetime | None) -> tuple[str, str] | None:
    opener = _TARGET_OPENER.search(s)
    rest = s[opener.end() :].strip() if opener is not None else ""
    # ("how about moving the one today to Thursday": the move verb after it splits, not the opener)
    if rest and not _MOVE_VERB.search(rest) and _has_when(rest, now):
        return s[: opener.start()].strip(), s[opener.end() :].strip()  # type: ignore[union-attr]
    make_it = _MAKE_IT.search(s)  # "the one on the 21st, can we make it Friday the 22nd"
    if make_it is not None and s[make_it.end() :].strip():
        return s[: make_it.start()].strip(), s[make_it.end() :].strip()
    verb = _MOVE_VERB.search(s)
    if verb is None and not verb_needed:  # answering "which one?": "the second one, to Friday"
        mark = _TO_MARK.search(s)
        if mark and s[mark.end() :].strip():
            return s[: mark.start()].strip(), s[mark.end() :].strip()
    if verb is not None:
        for mark in _TARGET_MARK.finditer(s, verb.end()):
            rest = s[mark.end() :].strip()
            if rest:
                return s[: mark.start()].strip(), rest
    before = _TARGET_BEFORE.search(s)
    if before is not None and now is not None:  # "I need to move my appointment, Thursday would be better"
        return _target_before(s[: before.start()].split(), s[before.end() :].strip(), now)
    return None


def _target_before(words: list[str], after: str, now: datetime) -> tuple[str, str] | None:
    """The day (and time) said just before "instead": the fewest last words that say a when, then the words
    before them that belong to it ("next", "at"), or that add what it lacks (a day to a time), never a second
    day ("today Thursday instead": Thursday is where it goes, today the appointment)."""
    for n in range(1, min(len(words), 8) + 1):
        said = nlu.understand(" ".join(words[-n:]), now, expect_time=True)
        if said.has_when:
            break
    else:
        return None
    for k in (1, 2):  # "half past | two", "quarter to | ten": the minutes said before the hour are its own
        lead = words[-n - k : -n]
        if said.time is not None and len(lead) == k and set(lead) <= _MINUTE_WORDS:
            finer = nlu.understand(" ".join(words[-n - k :]), now, expect_time=True)
            if finer.time is not None and finer.time != said.time and finer.date == said.date:
                n, said = n + k, finer
                break
    while n < len(words):
        word = words[-n - 1]
        longer = nlu.understand(" ".join(words[-n - 1 :]), now, expect_time=True)
        adds_day = said.date is None and longer.date is not None
        adds_time = said.time is None and longer.time is not None and longer.date == said.date
        if not (word in _WHEN_GLUE or adds_day or adds_time):
            break
        n, said = n + 1, longer
    return " ".join(words[:-n] + after.split()), " ".join(words[-n:])


def _has_when(text: str, now: datetime | None) -> bool:
    return now is None or nlu.understand(text, now, expect_time=True).has_when


def names_a_target(text: str) -> bool:
    """The caller said a day as where it goes ("Thursday instead", "can we do Thursday"), whether or not the
    words could be told apart: such a day never picks the appointment."""
    s = nlu.normalize(text)
    return bool(_TARGET_OPENER.search(s) or _TARGET_BEFORE.search(s) or _INSTEAD_OF.search(s))


def pick_appointments(
    appts: list[dict], said: Said | nlu.Understanding, *, all_words: bool = True, ordinals: bool = True
) -> list[int]:
    """The appointments the caller's words fit, best reading first: every one for "both of them" (unless not
    `all_words`); else by position ("the second one"), day (the exact day, or any day on that weekday, or that day of
    the month), time of day and service. Empty when nothing in the words tells them apart."""
    if not appts:
        return []
    if all_words and says_all(said.text, len(appts)):
        return list(range(len(appts)))
    numbers = nlu.numerize(said.text)
    nth_one = _NTH_ONE.search(numbers)
    if not _ON_THE_NTH.search(numbers) and not (nth_one and int(nth_one.group(1)) > len(appts)):
        idx = nlu.parse_ordinal_choice(said.text, len(appts)) if ordinals else None
        if idx is not None:
            return [idx]
    candidates = list(range(len(appts)))
    narrowed = False
    weekday = _WEEKDAY.search(nlu.normalize(said.text)) if said.date is None else None
    if said.date is not None:
        candidates = _on_day(appts, candidates, said.date)
        narrowed = True
    elif weekday is not None:
        # "the Monday appointment": a weekday naming which one (the day reader leaves "Monday appointment" alone)
        wanted = _WEEKDAYS.index(weekday.group(1))
        candidates = [i for i in candidates if _start(appts[i]).weekday() == wanted]
        narrowed = True
    if said.time is not None:
        candidates = [i for i in candidates if said.time.contains(_start(appts[i]).time())]
        narrowed = True
    if said.services:
        codes = {s.code for s in said.services}
        words = {w for s in said.services for w in nlu.normalize(s.name).split() if len(w) >= 4}
        by_code = [i for i in candidates if codes & set(appts[i]["service_codes"])]
        alike = [
            i for i in candidates if words & {w for name in appts[i]["services"] for w in nlu.normalize(name).split()}
        ]
        if by_code or alike:
            candidates, narrowed = by_code or alike, True
    else:
        # "the inspection": a word of their appointments' service names that names no one service of ours
        words = set(nlu.normalize(said.text).split()) - _NOT_SERVICE_WORDS
        alike = [i for i in candidates if words & _name_words(appts[i])]
        if alike:
            candidates, narrowed = alike, True
    car = _car_named(said.text, appts)  # "the one for my Civic"
    if car is not None:
        on_car = [i for i in candidates if appts[i].get("vehicle_id") == car]
        if on_car:
            candidates, narrowed = on_car, True
    return candidates if narrowed and (len(candidates) < len(appts) or len(appts) == 1) else []


# Words of service names that are also the words of a request ("change", "check") or say nothing of which.
_NOT_SERVICE_WORDS = frozenset(
    "change changes changed check checks checked service services appointment appointments replacement test light "
    "and the for".split()
)


def _name_words(appt: dict) -> set[str]:
    return {w for name in appt["services"] for w in nlu.normalize(name).split() if len(w) >= 5}


def _car_named(text: str, appts: list[dict]) -> int | None:
    """The vehicle id of the one car of the appointments' cars the words name, when they are on several cars."""
    cars: dict[int, dict] = {}
    for a in appts:
        if a.get("vehicle_id") and a.get("vehicle"):
            year, _, rest = a["vehicle"].partition(" ")
            car = (
                {"year": int(year), "make": "", "model": rest}
                if year.isdigit()
                else {"make": "", "model": a["vehicle"]}
            )
            cars.setdefault(a["vehicle_id"], car)
    if len(cars) < 2:
        return None
    ids = list(cars)
    picked = nlu.pick_vehicle(text, [cars[i] for i in ids])
    return ids[picked] if picked is not None else None


def _start(appt: dict) -> datetime:
    return datetime.fromisoformat(appt["start"])


def _on_day(appts: list[dict], candidates: list[int], date: nlu.DatePref) -> list[int]:
    days = {d.isoformat() for d in date.dates()}
    exact = [i for i in candidates if appts[i]["start"][:10] in days]
    single = date.single_day
    if exact or single is None:
        return exact
    if date.weekdays_only:  # "the Thursday one": the one on a Thursday, not only on the nearest Thursday
        return [i for i in candidates if _start(appts[i]).weekday() == single.weekday()]
    # "the one on the 14th" read as another month's 14th: the day of the month is what they said
    return [i for i in candidates if _start(appts[i]).day == single.day]


def several_phrase(appts: list[dict]) -> str:
    """ "your oil change on Tuesday, May 12 at 9:00 AM and your tire rotation on ..."."""
    return join_words([f"your {services_phrase(a['services'], article=False)} on {a['label']}" for a in appts])


def them_all(count: int) -> str:
    return f"{_COUNT_WORDS.get(count, f'all {count}')} of them"


class AppointmentChoiceFlow(FlowHost):
    """The policy's part that finds the appointment (or appointments) meant."""

    def read_account_request(self, task, u: nlu.Understanding) -> None:
        """A cancel or move request, read for which appointment it is about: "cancel all of them" chooses all;
        in "move my Thursday one to Friday at 10" Thursday describes it and Friday at 10 is where it goes."""
        if task.kind not in ("cancel", "reschedule"):
            return
        task.wants_all = says_all(u.text)
        task.wants_two = bool(_BOTH.search(nlu.normalize(u.text)))
        parts = split_move(u.text, now=self.now) if task.kind == "reschedule" else None
        target = nlu.understand(parts[1], self.now, expect_time=True) if parts else None
        if (parts is None or target is None or not target.has_when) and task.kind == "reschedule":
            if u.has_when and names_a_target(u.text):
                # "Thursday instead", the words around it not told apart: the day is where it goes, never which
                # appointment (with several and nothing else said, the caller is asked which one)
                task.described = Said("", None, None, list(u.services), target_apart=True)
                return
        if parts is None or target is None or not target.has_when:
            # one description: the day said is the appointment's (the policy's own reading decides what is left)
            task.described = Said(u.text, u.date, u.time, list(u.services), target_apart=False)
            return
        described = nlu.understand(parts[0], self.now)
        task.described = Said(parts[0], described.date, described.time, list(u.services), target_apart=True)
        task.date, task.time = target.date, target.time

    def choose_described(self, appts: list[dict]) -> bool:
        """Take the appointment(s) the request itself named, before asking which one. True when it asked which."""
        task = self.current_task()
        said = task.described
        if task.wants_all and len(appts) > 1 and said is not None and excepted_words(said.text):
            return self.choose_all_but(appts, excepted_words(said.text))
        if task.wants_all and len(appts) > 1:
            # "cancel both the battery one and the inspection": those two; "cancel everything": all of them
            named = pick_appointments(appts, said, all_words=False) if said is not None else []
            if task.wants_two and len(named) != 2 and len(appts) > 2:
                # "both my Saturday and my Wednesday ones" with two Wednesdays: which two, never all three
                listed = [appts[i] for i in named] if len(named) > 2 else appts
                self.ask(
                    f"{self.appointments_list(listed)} Which two would you like to move?"
                    if task.kind == "reschedule"
                    else f"{self.appointments_list(listed)} Which two would you like to cancel?",
                    Expect.APPOINTMENT_CHOICE,
                    "slot_collection",
                )
                return True
            task.several = [appts[i] for i in named] if len(named) >= 2 else list(appts)
            return False
        if said is None:
            return False
        # (positions are no description before the list was heard: "one of the Saturday ones" is no "first one")
        found = pick_appointments(appts, said, ordinals=False)
        if len(found) != 1:
            return False
        task.appointment = appts[found[0]]
        if not said.target_apart:
            task.date = task.time = None  # they described the appointment, not the new time
        elif task.date is None and task.time is not None:
            # "move my Thursday one to 3": 3 on that same Thursday
            start = _start(task.appointment)
            task.date = nlu.DatePref(start.date(), start.date(), label=f"on {spoken_day(start)}")
        return False

    def choose_all_but(self, appts: list[dict], excepted: str) -> bool:
        """ "Cancel everything except the tire rotation": every appointment but the one(s) named, never those. The
        day or time in the exception describes what stays, never what goes; when it fits none of them the caller
        is asked which one (True: asked)."""
        from calls.agent.flows.state import Expect

        task = self.current_task()
        if not task.described.target_apart:
            task.date = task.time = None
        heard = nlu.understand(excepted, self.now)
        kept = pick_appointments(appts, Said(excepted, heard.date, heard.time, list(heard.services)), all_words=False)
        rest = [a for i, a in enumerate(appts) if i not in kept]
        if not kept or not rest:
            verb = "cancel" if task.kind == "cancel" else "move"
            self.ask(
                f"{self.appointments_list(appts)} Which one would you like to {verb}?",
                Expect.APPOINTMENT_CHOICE,
                "slot_collection",
            )
            return True
        if len(rest) == 1:
            task.appointment = rest[0]
        else:
            task.several = rest
        return False

    def confirm_several(self) -> None:
        """One read-back naming every appointment to be cancelled."""
        from calls.agent.flows.state import Expect

        several = self.current_task().several or []
        self.ask(
            f"I see {several_phrase(several)}. Do you want me to cancel {them_all(len(several))}?",
            Expect.CONFIRM,
            "confirmation",
        )

    def execute_several(self) -> None:
        task = self.current_task()
        done: list[ToolResult] = []
        failed: list[ToolResult] = []
        for appt in task.several or []:
            res = self.tool(
                "cancel_appointment", appointment_id=appt["id"], reason="cancelled by the caller on the phone"
            )
            (done if res.ok else failed).append(res)
        if done:
            items = [(r.result or {})["appointment"] for r in done]
            self.say(f"Done. I've cancelled {several_phrase(items)}.")
        if failed:
            self.say(f"Sorry, {failed[0].error[:1].lower()}{failed[0].error[1:]}")
        self.anything_else()

    def choose_among(self, u: nlu.Understanding) -> bool | None:
        """The caller's answer to "which one?". True: handled; False: not an answer; None: one appointment chosen
        (task.appointment set), to be carried on with by the caller."""
        task = self.current_task()
        appts = task.appointments or []
        parts = split_move(u.text, verb_needed=False, now=self.now) if task.kind == "reschedule" else None
        said: Said | nlu.Understanding = u
        moved_to = False
        if parts is not None:
            # "the Wednesday one, move it to Friday": the first part picks it, the rest is where it goes
            target = nlu.understand(parts[1], self.now, expect_time=True)
            if target.has_when:
                first = nlu.understand(parts[0], self.now)
                said = Said(parts[0], first.date, first.time, list(first.services))
                task.date, task.time = target.date or task.date, target.time or task.time
                moved_to = True
        booked = self.st.last_booked
        if booked and says_just_made(u.text) and any(a["id"] == booked["id"] for a in appts):
            task.appointment = next(a for a in appts if a["id"] == booked["id"])
            return None  # "the one I just made": booked in this call
        found = pick_appointments(appts, said)
        among_listed = [i for i in found if appts[i]["id"] in task.listed]
        if len(found) > 1 and len(among_listed) == 1:
            found = among_listed  # "the Monday one" of the ones read out
        if not found and moved_to:
            self.noted("Got it.")  # where it goes is kept; which one is still the question
            return True
        if len(found) > 1 and (says_all(u.text, len(appts)) or (task.wants_two and len(found) == 2)):
            task.several = [appts[i] for i in found]
            if task.kind == "cancel":
                self.confirm_several()
                return True
            if self.plan_group_move():  # "both of them, a week later"
                return True
            task.several = None
            self.ask(
                f"Sure, let's move them one at a time. {self.appointments_list(appts)} Which one first?",
                self.st.expect,
                "slot_collection",
            )
            return True
        if len(found) != 1:
            return False
        task.appointment = appts[found[0]]
        return None
