"""Reading spoken caller text: intents, yes/no, days, times, names, postal codes, vehicles, services."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from calls.agent import nlu
from calls.agent.phrases import spoken_time

# A Monday morning in the shop's zone; every relative day below is counted from it.
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nine thirty", "9 30"),
        ("at nine thirty tomorrow", "at 9 30 tomorrow"),
        ("twenty eighteen honda civic", "20 18 honda civic"),
        ("two thousand eighteen toyota rav four", "2018 toyota rav 4"),
        ("nineteen ninety nine", "19 99"),
        ("six oh six oh one", "6 0 6 0 1"),
        ("the twenty first of december", "the 21th of december"),
        ("december fifth", "december 5th"),
        ("it's the 3rd", "its the 3th"),
        ("the first one", "the 1th one"),
        ("that one", "that one"),
        ("first thing in the morning", "first thing in the morning"),
        ("twenty one", "21"),
        ("9:30 A.M.", "9:30 am"),
    ],
)
def test_numerize(text, expected):
    assert nlu.numerize(text) == expected


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd like to book an oil change", "book"),
        ("i want to make an appointment", "book"),
        ("can i bring my car in tomorrow", "book"),
        ("do you have any openings on friday afternoon for brakes", "book"),
        ("do you have time on friday", "book"),
        ("i want to schedule a service", "book"),
        ("I need to cancel my appointment", "cancel"),
        ("cancel it please", "cancel"),
        ("i wont be able to make it to my appointment", "cancel"),
        ("can I reschedule my appointment", "reschedule"),
        ("I need to move my appointment to friday", "reschedule"),
        ("i need to push my appointment back", "reschedule"),
        ("I can't make it tomorrow, can we move it", "reschedule"),
        ("I want to cancel and rebook", "reschedule"),
        ("can you put both of them on Friday at 10 am", "reschedule"),
        ("put both my appointments on Friday", "reschedule"),
        ("when is my appointment", "check"),
        ("do I have an appointment", "check"),
        ("what time is my appointment", "check"),
        ("can you confirm my appointment", "check"),
        ("what are your hours", "hours"),
        ("are you open on saturday", "hours"),
        ("what time do you close today", "hours"),
        ("how much is an oil change", "service_inquiry"),
        ("how long does a brake job take", "service_inquiry"),
        ("do you guys do alignments", "service_inquiry"),
        ("what services do you offer", "service_inquiry"),
        ("can I talk to a real person", "human"),
        ("let me speak to an advisor", "human"),
        ("representative", "human"),
        ("transfer me please", "human"),
        ("that's all, bye", "goodbye"),
        ("thanks bye", "goodbye"),
        ("no that's it thanks", "goodbye"),
        ("have a good day", "goodbye"),
        ("hello?", "other"),
        ("uh", "other"),
        ("someone", "other"),  # a stray word is not a request for a human
    ],
)
def test_intent(text, intent):
    assert nlu.detect_intent(text) == intent


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yeah", "yes"),
        ("yes please", "yes"),
        ("sure", "yes"),
        ("that works", "yes"),
        ("perfect", "yes"),
        ("sounds good", "yes"),
        ("go ahead", "yes"),
        ("uh huh", "yes"),
        ("okay", "yes"),
        ("yep that's right", "yes"),
        ("nope", "no"),
        ("no", "no"),
        ("no, Thursday", "no"),
        ("not really", "no"),
        ("that doesn't work", "no"),
        ("yeah no that won't work", "no"),
        ("i'm good thanks", "no"),
        ("no problem", None),
        ("I'm not sure", None),
        ("tuesday at nine", None),
    ],
)
def test_yes_no(text, answer):
    assert nlu.yes_no(text) == answer


def _d(month, day, year=2026):
    return date(year, month, day)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("tomorrow", _d(12, 1), _d(12, 1)),
        ("today", _d(11, 30), _d(11, 30)),
        ("day after tomorrow", _d(12, 2), _d(12, 2)),
        ("tuesday", _d(12, 1), _d(12, 1)),
        ("this friday", _d(12, 4), _d(12, 4)),
        ("monday morning", _d(12, 7), _d(12, 7)),  # said on a Monday: next week's
        ("this monday", _d(11, 30), _d(11, 30)),
        ("next tuesday", _d(12, 8), _d(12, 8)),
        ("tuesday next week", _d(12, 8), _d(12, 8)),
        ("the 3rd", _d(12, 3), _d(12, 3)),
        ("on the twenty first", _d(12, 21), _d(12, 21)),
        ("how about friday the 4th", _d(12, 4), _d(12, 4)),
        ("december fifth", _d(12, 5), _d(12, 5)),
        ("the fifth of december", _d(12, 5), _d(12, 5)),
        ("dec 5th at 2", _d(12, 5), _d(12, 5)),
        ("january second", _d(1, 2, 2027), _d(1, 2, 2027)),
        ("12/5", _d(12, 5), _d(12, 5)),
        ("in 3 days", _d(12, 3), _d(12, 3)),
        ("this week", _d(11, 30), _d(12, 6)),
        ("sometime next week", _d(12, 7), _d(12, 13)),
        ("end of the week", _d(12, 3), _d(12, 5)),
        ("early next week", _d(12, 7), _d(12, 9)),
        ("this weekend", _d(12, 5), _d(12, 6)),
        ("in two weeks", _d(12, 14), _d(12, 14)),  # a day, like "in 3 days": its times are offered
        ("next month", _d(12, 1), _d(12, 31)),
        ("no, thursday", _d(12, 3), _d(12, 3)),
        ("not tuesday, thursday", _d(12, 3), _d(12, 3)),
        ("tuesday no wait wednesday", _d(12, 2), _d(12, 2)),
        ("as soon as possible", _d(11, 30), _d(12, 14)),
        ("whenever you have something", _d(11, 30), _d(12, 14)),
    ],
)
def test_parse_date(text, start, end):
    parsed = nlu.parse_date(text, NOW)
    assert parsed is not None, text
    assert (parsed.start, parsed.end) == (start, end)


def test_parse_date_details():
    both = nlu.parse_date("tuesday or thursday", NOW)
    assert both.days == (_d(12, 1), _d(12, 3))
    assert both.dates() == [_d(12, 1), _d(12, 3)]
    assert nlu.parse_date("as soon as possible", NOW).soonest
    assert nlu.parse_date("tomorrow", NOW).label == "Tuesday, December 1"
    assert nlu.parse_date("tomorrow", NOW).single_day == _d(12, 1)
    for text in ("I need an oil change", "the first one", "the second one", "first thing in the morning", "yes"):
        assert nlu.parse_date(text, NOW) is None, text


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("nine thirty", time(9, 30)),
        ("at nine thirty tomorrow", time(9, 30)),
        ("9:30 a.m.", time(9, 30)),
        ("around 10", time(10)),
        ("about ten o'clock", time(10)),
        ("at 2", time(14)),
        ("2 pm", time(14)),
        ("two p m", time(14)),
        ("nine oh five", time(9, 5)),
        ("three fifteen", time(15, 15)),
        ("half past nine", time(9, 30)),
        ("quarter past ten", time(10, 15)),
        ("quarter to eleven", time(10, 45)),
        ("noon", time(12)),
        ("seven in the morning", time(7)),
        ("five in the afternoon", time(17)),
        ("monday morning at 8", time(8)),
        ("december fifth at 2", time(14)),
    ],
)
def test_parse_time_exact(text, exact):
    parsed = nlu.parse_time(text)
    assert parsed is not None and parsed.exact == exact, (text, parsed)


@pytest.mark.parametrize(
    ("text", "start", "end", "param"),
    [
        ("tomorrow afternoon", time(12), time(17), "12:00-17:00"),
        ("monday morning", None, time(12), "00:00-12:00"),
        ("after 2", time(14), None, "14:00-23:59"),
        ("before noon", None, time(12), "00:00-12:00"),
        ("between 9 and 11", time(9), time(11), "09:00-11:00"),
        ("late afternoon", time(15), None, "15:00-23:59"),
    ],
)
def test_parse_time_window(text, start, end, param):
    parsed = nlu.parse_time(text)
    assert parsed is not None and parsed.exact is None
    assert (parsed.start, parsed.end) == (start, end)
    assert parsed.to_param() == param


def test_parse_time_special_cases():
    first = nlu.parse_time("first thing in the morning")
    assert first.earliest and first.to_param() == "earliest"
    assert nlu.parse_time("ten") is None  # a bare number only counts when we asked for a time
    assert nlu.parse_time("ten", bare_ok=True).exact == time(10)
    assert nlu.parse_time("twenty eighteen honda civic") is None
    assert nlu.parse_time("in 2 weeks") is None
    assert nlu.parse_time("the 3rd") is None
    assert nlu.parse_time("the first one", bare_ok=True) is None


@pytest.mark.parametrize(
    ("text", "count", "index"),
    [
        ("the first one", 3, 0),
        ("first", 3, 0),
        ("the second one please", 3, 1),
        ("the middle one", 3, 1),
        ("third", 3, 2),
        ("the last one", 3, 2),
        ("the later one", 2, 1),
        ("option 2", 3, 1),
        ("the third one", 2, None),
        ("first thing in the morning", 3, None),
        ("tuesday", 3, None),
    ],
)
def test_ordinal_choice(text, count, index):
    assert nlu.parse_ordinal_choice(text, count) == index


@pytest.mark.parametrize(
    ("text", "bare_ok", "name"),
    [
        ("my name is John Smith", False, ("John", "Smith")),
        ("it's john", False, ("John", "")),
        ("this is maria garcia calling about my car", False, ("Maria", "Garcia")),
        ("uh yeah it's Bob", False, ("Bob", "")),
        ("im looking to book an oil change", False, None),
        ("john smith", False, None),
        ("john smith", True, ("John", "Smith")),
        ("sure, Mary Ann Jones", True, ("Mary Ann", "Jones")),
        ("john s m i t h", True, ("John", "Smith")),
        ("yes", True, None),
    ],
)
def test_parse_name(text, bare_ok, name):
    assert nlu.parse_name(text, bare_ok=bare_ok) == name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("six oh six oh one", "60601"),
        ("60601", "60601"),
        ("my zip is 6 0 6 0 1", "60601"),
        ("it's six zero six one four", "60614"),
        ("m5v 2t6", "M5V 2T6"),
        ("I don't remember", None),
        ("six oh six", None),
    ],
)
def test_parse_postal_code(text, code):
    assert nlu.parse_postal_code(text) == code


@pytest.mark.parametrize(
    ("text", "year", "make", "model"),
    [
        ("a 2018 Honda Civic", 2018, "Honda", "Civic"),
        ("twenty eighteen honda civic", 2018, "Honda", "Civic"),
        ("it's a twenty twenty toyota rav four", 2020, "Toyota", "RAV4"),
        ("two thousand fifteen toyota camry", 2015, "Toyota", "Camry"),
        ("nineteen ninety nine ford mustang", 1999, "Ford", "Mustang"),
        ("chevy silverado", None, "Chevrolet", "Silverado"),
        ("2015 ford f one fifty", 2015, "Ford", "F-150"),
        ("a 2019 civic", 2019, "Honda", "Civic"),
        ("2017 honda cr v", 2017, "Honda", "CR-V"),
        ("2012 mercedes c class", 2012, "Mercedes-Benz", "C-Class"),
        ("2020 tesla model three", 2020, "Tesla", "Model 3"),
        ("a toyota", None, "Toyota", ""),
    ],
)
def test_parse_vehicle(text, year, make, model):
    vehicle = nlu.parse_vehicle(text, bare_ok=True, now=NOW)
    assert vehicle == nlu.VehicleMention(year=year, make=make, model=model)


def test_parse_vehicle_needs_a_vehicle():
    assert nlu.parse_vehicle("I need an oil change", now=NOW) is None
    assert nlu.parse_vehicle("tuesday at nine", bare_ok=True, now=NOW) is None


def test_transport_repeat_and_appointment_reference():
    assert nlu.parse_transport("I'll wait for it") == "waiter"
    assert nlu.parse_transport("can I get a loaner") == "loaner"
    assert nlu.parse_transport("I'll drop it off in the morning") == "drop_off"
    assert nlu.parse_transport("tuesday") is None
    assert nlu.wants_repeat("sorry?")
    assert nlu.wants_repeat("can you repeat that please")
    assert not nlu.wants_repeat("sorry I meant thursday")
    assert nlu.parse_appointment_ref("cancel appointment number fifty seven") == 57
    assert nlu.parse_appointment_ref("appointment #1234") == 1234
    assert nlu.parse_appointment_ref("cancel my appointment") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("I need an oil change", ["oil-change"]),
        ("my brakes are squeaking", ["brakes"]),
        ("there's a grinding noise when I stop", ["brakes"]),
        ("the check engine light is on", ["diagnostics"]),
        ("it's making a weird noise", ["diagnostics"]),
        ("an oil change and a tire rotation", ["oil-change", "tire-rotation"]),
        ("can you rotate my tires", ["tire-rotation"]),
        ("can I also get my tires rotated", ["tire-rotation"]),
        ("I'd like a detailing", []),  # inactive service
        ("what are your hours", []),
    ],
)
def test_match_services(agent_shop, text, codes):
    assert [s.code for s in nlu.match_services(text)] == codes


@pytest.mark.django_db
def test_understand_collects_everything(agent_shop):
    u = nlu.understand("no, thursday at nine thirty, and I'll wait for the oil change", NOW)
    assert u.yes_no == "no"
    assert u.date.single_day == _d(12, 3)
    assert u.time.exact == time(9, 30)
    assert u.transport == "waiter"
    assert [s.code for s in u.services] == ["oil-change"]


def test_weekdays_fall_inside_the_week_under_discussion():
    next_week = nlu.parse_date("next week", NOW)
    moved = nlu.within(nlu.parse_date("tuesday or wednesday", NOW), next_week)
    assert moved.days == (_d(12, 8), _d(12, 9))
    # explicit days are kept as said
    assert nlu.within(nlu.parse_date("tomorrow", NOW), next_week).start == _d(12, 1)
    assert nlu.within(nlu.parse_date("december 3rd", NOW), next_week).start == _d(12, 3)
    assert nlu.within(nlu.parse_date("friday", NOW), None).start == _d(12, 4)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("what about thanksgiving", date(2027, 11, 25)),  # this year's (Nov 26) has passed
        ("are you open on christmas eve", _d(12, 24)),
        ("christmas", _d(12, 25)),
        ("how about new year's eve", _d(12, 31)),
        ("new year's day", date(2027, 1, 1)),
        ("black friday", date(2027, 11, 26)),  # not this Friday
        ("the day after thanksgiving", date(2027, 11, 26)),
        ("memorial day", date(2027, 5, 31)),
        ("labor day", date(2027, 9, 6)),
        ("martin luther king day", date(2027, 1, 18)),
        ("the fourth of july", date(2027, 7, 4)),
        ("veterans day", date(2027, 11, 11)),
    ],
)
def test_holidays_by_name(text, day):
    parsed = nlu.parse_date(text, NOW)
    assert parsed is not None and parsed.single_day == day, text


def test_the_shops_named_closures():
    assert nlu.named_day_phrases("Closed for staff training day") == ["staff training day", "staff training"]
    assert nlu.named_day_phrases("Holiday") == []  # too vague to pick a day by
    named = {"staff training": _d(12, 11), "thanksgiving": _d(11, 30)}
    assert nlu.parse_date("what about the staff training", NOW, named_days=named).single_day == _d(12, 11)
    # the shop's own name for a day wins over the calendar's
    assert nlu.parse_date("thanksgiving", NOW, named_days=named).single_day == _d(11, 30)
    assert nlu.parse_date("the staff training", NOW) is None


@pytest.mark.django_db
def test_understand_reads_closure_names(agent_shop):
    from scheduling.models import Closure

    Closure.objects.create(date=_d(12, 11), reason="Inventory count")
    Closure.objects.create(date=_d(11, 27), reason="Inventory count")  # past: not the one meant
    assert nlu.understand("are you open for the inventory count", NOW).date.single_day == _d(12, 11)


CARS = [
    {"year": 2019, "make": "Jeep", "model": "Grand Cherokee"},
    {"year": 2005, "make": "Ford", "model": "Focus"},
    {"year": 2003, "make": "Honda", "model": "Accord"},
    {"year": 2021, "make": "Chevrolet", "model": "Silverado 1500"},
]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("I need an oil change for the jeep", 0),
        ("it's my honda", 2),
        ("the grand cherokee", 0),
        ("the cherokee", 0),
        ("the oh three accord", 2),
        ("twenty oh three", 2),
        ("the 2019", 0),
        ("the oh five", 1),
        ("my chevy", 3),
        ("the silverado fifteen hundred", 3),
        ("the 2019 honda", None),  # contradicts itself: ask
        ("I need an oil change", None),
        ("tomorrow at nine", None),
        ("tuesday at nine oh five", None),  # a time, not the oh-five model year
        ("tuesday at 9:03", None),
        ("that'd be grand", None),
        ("my car", None),
    ],
)
def test_pick_vehicle(text, index):
    assert nlu.pick_vehicle(text, CARS) == index


def test_pick_vehicle_needs_a_single_best_match():
    two_hondas = [{"year": 2018, "make": "Honda", "model": "Civic"}, {"year": 2003, "make": "Honda", "model": "Accord"}]
    assert nlu.pick_vehicle("the honda", two_hondas) is None
    assert nlu.pick_vehicle("the 2018 honda", two_hondas) == 0
    assert nlu.pick_vehicle("the honda accord", two_hondas) == 1


def test_noon_is_said_as_noon():
    assert spoken_time(time(12)) == "noon" and spoken_time(time(0)) == "midnight"
    assert spoken_time(time(12, 30)) == "12:30 PM" and spoken_time(time(9, 5)) == "9:05 AM"
    assert nlu.parse_time("before noon").label == "before noon"
    assert nlu.parse_time("at 12").label == "noon"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("it's, uh, what's it called, a Ford, the Focus, 2014", None),  # searching for words, then a car
        ("uh let me think, Janet Reyes", ("Janet", "Reyes")),
        ("um, what's it called, hold on, it's Janet Reyes", ("Janet", "Reyes")),
    ],
)
def test_words_said_while_searching_are_never_a_name(text, name):
    assert nlu.parse_name(text, bare_ok=True) == name


def test_a_model_after_an_article_still_belongs_to_the_make():
    car = nlu.parse_vehicle("it's, uh, what's it called, a Ford, the Focus, 2014", bare_ok=True)
    assert (car.year, car.make, car.model) == (2014, "Ford", "Focus")


@pytest.mark.parametrize(
    ("text", "year"),
    [("uh I think 2015", 2015), ("twenty fifteen maybe", 2015), ("no idea, sorry", None), ("2015 or 2016", None)],
)
def test_a_model_year_said_on_its_own(text, year):
    assert nlu.model_year(text, now=datetime(2026, 11, 30, 22, 15)) == year


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Johan van den Heuvel", ("Johan", "van den Heuvel")),
        ("it's lucia de la vega", ("Lucia", "de la Vega")),
        ("Ann-Marie O'Connor-Hayes", ("Ann-Marie", "O'Connor-Hayes")),
        ("sure it's Dr. Ian McAllister", ("Ian", "McAllister")),
        ("this is Rosa D’Angelo", ("Rosa", "D'Angelo")),
        ("kevin mcallister", ("Kevin", "McAllister")),
    ],
)
def test_a_name_keeps_its_particles_hyphens_apostrophes_and_capitals(text, name):
    assert nlu.parse_name(text, bare_ok=True) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hi, I'm Ann-Marie O'Connor-Hayes and I need brakes", ("Ann-Marie", "O'Connor-Hayes")),
        ("good morning, this is Johan van den Heuvel calling", ("Johan", "van den Heuvel")),
    ],
)
def test_an_introduction_keeps_the_name_as_written(text, name):
    from calls.agent.introductions import introduced_name

    assert introduced_name(text) == name
