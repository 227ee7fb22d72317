"""The understanding layer: Duckling's reading of days, times and numbers, with the shop's own words on top."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from calls.agent import understanding
from calls.agent.understanding import engine, services
from calls.agent.understanding.when import read_when

# A Tuesday morning in the shop's zone, early in a month (so "the 7th of this month" is still ahead).
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


def _d(month, day, year=2026):
    return date(year, month, day)


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        # the caller defects of issue 6
        ("10:15 am", time(10, 15)),
        ("10:15 in the morning", time(10, 15)),
        ("two o'clock in the afternoon", time(14)),
        ("quarter past 9 in the morning", time(9, 15)),
        # Duckling's known misses
        ("morning 10", time(10)),
        ("evening at 4", time(16)),
        ("07:15", time(7, 15)),
        ("at 7:15", time(7, 15)),
        ("14:30", time(14, 30)),
        # shop hours for an hour without am/pm
        ("at 3", time(15)),
        ("tomorrow around 3ish", time(15)),
        ("eleven fifteen", time(11, 15)),
        ("at 8", time(8)),
        ("at 12", time(12)),
    ],
)
def test_clock_times(text, exact):
    when = read_when(text, NOW).time
    assert when is not None and when.exact == exact, (text, when)


@pytest.mark.parametrize(
    ("text", "day", "exact"),
    [
        ("the 7th of this month", _d(3, 7), None),  # not today
        ("7th of this month at 5 o'clock in the evening", _d(3, 7), time(17)),
        ("a week from friday", _d(3, 13), None),
        ("two weeks from monday", _d(3, 23), None),
        ("a week from tomorrow", _d(3, 11), None),
        ("the twelfth", _d(3, 12), None),
        ("the 3rd of next month", _d(4, 3), None),
        ("this coming wednesday at half past ten", _d(3, 4), time(10, 30)),
        ("thursday at nine fifteen", _d(3, 5), time(9, 15)),
        ("wednesday the 18th", _d(3, 18), None),
        ("the day after tomorrow", _d(3, 5), None),
        ("4/2 at 10", _d(4, 2), time(10)),
        ("this tuesday", _d(3, 3), None),  # said on a Tuesday: today
        ("tuesday", _d(3, 10), None),  # said on a Tuesday: next week's
    ],
)
def test_days(text, day, exact):
    when = read_when(text, NOW)
    assert when.date is not None and when.date.single_day == day, (text, when.date)
    assert (when.time.exact if when.time else None) == exact, (text, when.time)


@pytest.mark.parametrize(
    ("text", "start", "end", "earliest", "latest", "param"),
    [
        ("after lunch", time(12, 30), None, False, False, "12:30-23:59"),
        ("thursday after lunch", time(12, 30), None, False, False, "12:30-23:59"),
        ("first thing in the morning", None, time(10), True, False, "earliest"),
        ("first thing monday", None, time(10), True, False, "earliest"),
        ("end of the day friday", time(15), None, False, True, "latest"),  # the last openings, not any after 3
        ("any time after 2 on thursday", time(14), None, False, False, "14:00-23:59"),
        ("between 1 and 3", time(13), time(15), False, False, "13:00-15:00"),
        ("tomorrow before 11", None, time(11), False, False, "00:00-11:00"),
        ("tomorrow between 10 and noon", time(10), time(12), False, False, "10:00-12:00"),
        ("between 11 and 1", time(11), time(13), False, False, "11:00-13:00"),
        ("the morning of the 17th", None, time(12), False, False, "00:00-12:00"),
        ("tomorrow afternoon", time(12), time(17), False, False, "12:00-17:00"),
    ],
)
def test_parts_of_day_and_windows(text, start, end, earliest, latest, param):
    when = read_when(text, NOW).time
    assert when is not None and when.exact is None, (text, when)
    assert (when.start, when.end, when.earliest, when.latest) == (start, end, earliest, latest)
    assert when.to_param() == param


def test_ranges_of_days():
    assert read_when("early next week", NOW).date.dates() == [_d(3, 9), _d(3, 10), _d(3, 11)]
    assert (read_when("later this week", NOW).date.start, read_when("later this week", NOW).date.end) == (
        _d(3, 5),
        _d(3, 7),
    )
    both = read_when("wednesday or thursday afternoon", NOW)
    assert both.date.days == (_d(3, 4), _d(3, 5)) and both.time.to_param() == "12:00-17:00"
    assert read_when("as soon as you can", NOW).date.soonest


def test_what_is_not_a_day_or_time():
    for text in (
        "the first one",
        "the second option",
        "2018 honda civic",
        "I need an oil change",
        "yes",
        "in twenty minutes",
        "my zip is 60601",
    ):
        when = read_when(text, NOW)
        assert (when.date, when.time) == (None, None), text
    assert read_when("ten", NOW).time is None
    assert read_when("ten", NOW, bare_ok=True).time.exact == time(10)
    assert read_when("the first one", NOW, bare_ok=True).time is None


def test_approximate_times_say_so():
    assert read_when("around 3", NOW).time.approximate
    assert not read_when("at 3", NOW).time.approximate


def test_numbers_come_from_duckling():
    assert understanding.numerize("appointment fifty seven") == "appointment 57"
    assert understanding.numerize("the twenty first") == "the 21th"
    assert understanding.numerize("six oh six oh one") == "6 0 6 0 1"
    assert understanding.numerize("2017 honda cr v") == "2017 honda cr v"  # "cr" is no crore here
    assert understanding.parse_appointment_ref("cancel appointment number one hundred and two") == 102


def test_phone_numbers():
    assert understanding.parse_phone("my number is three one two five five five zero one four two") == "+13125550142"
    assert understanding.parse_phone("call me at (312) 555-0142") == "+13125550142"
    assert understanding.parse_phone("appointment 57") is None


def test_spanish_parsing_returns_values():
    when = read_when("el jueves a las diez y media", NOW, lang="ES")
    assert when.date.single_day == _d(3, 5) and when.time.exact == time(10, 30)
    assert read_when("mañana por la tarde", NOW, lang="ES").time.to_param() == "12:00-17:00"
    assert read_when("mañana por la tarde", NOW, lang="ES").date.single_day == _d(3, 4)
    numbers = engine.parse("veintiuno", lang="ES", dims=("number",))
    assert [e.value["value"] for e in numbers] == [21]


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unsupported language"):
        engine.parse("tomorrow", now=NOW, lang="XX")


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yeah I have a weird", None),  # heard as a yes, but something else was said
        ("yes but I need to check with my wife", None),
        ("yes I'll be there", "yes"),
        ("yes please go ahead", "yes"),
        ("sure, that works for me", "yes"),
        ("right now", None),
        ("no, thursday", "no"),
    ],
)
def test_a_yes_must_be_clearly_a_yes(text, answer):
    assert understanding.yes_no(text) == answer


def test_a_yes_with_what_else_was_understood_stays_a_yes():
    assert understanding.yes_no("yes at 10:30 and I'll wait for it", understood=["at 10:30", "ill wait"]) == "yes"


def test_choices_among_offers():
    assert understanding.parse_ordinal_choice("the first one", 3) == 0
    assert understanding.parse_ordinal_choice("the earliest", 3) == 0
    assert understanding.parse_ordinal_choice("I'll take the last one", 3) == 2
    assert understanding.parse_ordinal_choice("that one", 1) == 0
    assert understanding.parse_ordinal_choice("that one", 3) is None  # which one?


def test_service_words_do_not_make_an_intent():
    phrases = ["oil change"]
    text = "can I bring my car in for an oil change the day after tomorrow"
    assert understanding.detect_intent(text, service_phrases=phrases) == "book"
    assert understanding.detect_intent("I need to change my appointment", service_phrases=[]) == "reschedule"


def test_fuzzy_words():
    assert services.similar("rotations", "rotation")
    assert services.similar("alignmnet", "alignment")
    assert services.similar("diagnostics", "diagnostic")
    assert not services.similar("time", "tire")
    assert not services.similar("break", "brake")  # short words are said as they are


@pytest.mark.django_db
def test_the_shops_own_services_match_fuzzily(agent_shop):
    from scheduling.models import ServiceType

    codes = lambda text: [s.code for s in understanding.match_services(text)]  # noqa: E731
    assert codes("I need a tire rotaton") == ["tire-rotation"]
    assert codes("my check engine lite is on") == ["diagnostics"]
    assert codes("can I change my appointment") == []  # "change" alone is no oil change
    assert codes("what time works") == []
    # A shop's new service is heard from the next line on, without code changes.
    assert codes("my windshield wipers are streaking") == []
    wipers = ServiceType.objects.create(
        code="wipers", name="Wiper blade replacement", duration_minutes=15, keywords="wipers, wiper blades"
    )
    assert codes("my windshield wipers are streaking") == ["wipers"]
    wipers.active = False
    wipers.save()
    assert codes("my windshield wipers are streaking") == []


@pytest.mark.django_db
def test_the_shops_words_are_read_once_until_they_change(agent_shop, django_assert_num_queries):
    from scheduling.models import Closure

    understanding.understand("an oil change", NOW)
    with django_assert_num_queries(0):
        understanding.understand("an oil change on the inventory day", NOW)
    Closure.objects.create(date=_d(3, 20), reason="Inventory day")  # another process would see the new stamp
    assert understanding.understand("an oil change on the inventory day", NOW).date.single_day == _d(3, 20)


@pytest.mark.django_db
def test_understand_books_an_oil_change_the_day_after_tomorrow(agent_shop):
    u = understanding.understand("can I bring my car in for an oil change the day after tomorrow", NOW)
    assert u.intent == "book"
    assert [s.code for s in u.services] == ["oil-change"]
    assert u.date.single_day == _d(3, 5)


@pytest.mark.django_db
def test_understand_yes_with_a_time(agent_shop):
    u = understanding.understand("yes, nine thirty is fine and I'll wait for it", NOW, expect_time=True)
    assert u.yes_no == "yes" and u.time.exact == time(9, 30) and u.transport == "waiter"
    assert understanding.understand("yeah I have a weird", NOW).yes_no is None


def test_duckling_is_set_up_once_per_process():
    first = engine._DUCKLING.handles("America/Chicago", "EN", ("time",))
    assert engine._DUCKLING.handles("America/Chicago", "EN", ("time",)) == first


def test_zoneinfo_comes_from_the_tzdata_wheel_without_a_system_copy(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "_SYSTEM_ZONEINFO", tmp_path)
    folder = engine.zoneinfo_dir("America/Chicago")
    assert (folder / "America" / "Chicago").is_file() and "tzdata" in str(folder)
    with pytest.raises(engine.DucklingUnavailable):
        engine.zoneinfo_dir("Nowhere/Special")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("not before 10", time(10), None),
        ("no earlier than 9 on friday", time(9), None),
        ("no later than 3", None, time(15)),
    ],
)
def test_negated_limits(text, start, end):
    when = read_when(text, NOW).time
    assert (when.start, when.end) == (start, end)


def test_corrections_and_days_relative_to_another():
    assert read_when("tomorrow, no sorry, the day after", NOW).date.single_day == _d(3, 5)
    assert read_when("at 9, no, make it 10", NOW).time.exact == time(10)
    assert read_when("the day after", NOW).date is None  # after which day? not today
    week = read_when("the week after next", NOW).date
    assert (week.start, week.end) == (_d(3, 16), _d(3, 22))
    after = read_when("sometime after the 15th", NOW).date
    assert after.start == _d(3, 16) and after.end > after.start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("anytime", True),
        ("uh, any time that day is fine", True),
        ("whenever works for me", True),
        ("any time next week", False),
        ("anytime Saturday", False),
    ],
)
def test_anytime_alone_takes_the_times_offered(text, expected):
    from calls.agent.understanding.choices import any_time_of_the_offers

    assert any_time_of_the_offers(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("after work, like 5?", (5, 0)),
        ("afternoon, say three thirty", (3, 30)),
        ("after work", None),
        ("around 5, or maybe 6", None),
    ],
)
def test_the_hour_named_beside_a_window(text, expected):
    from calls.agent.understanding.choices import named_hour

    assert named_hour(text) == expected


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("February 28", _d(2, 28)),  # the day just gone: it has passed, never next year's
        ("move it to February 20th", _d(2, 20)),
        ("February 28 2027", _d(2, 28, 2027)),  # a year said is that year
        ("March 10", _d(3, 10)),
        ("January 15", _d(1, 15, 2027)),  # more than a month ago: next year's, beyond the horizon as before
    ],
)
def test_a_month_day_just_gone_is_that_day_not_next_years(text, day):
    assert read_when(text, NOW).date.start == day
