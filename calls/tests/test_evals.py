"""The scenario runner itself (calls/evals): a scenario that must fail does fail with a reason a person can act
on, YAML mistakes name their file and line, the JSON report, the audio path's plumbing, and the question kinds
the scripted caller keys its answers on."""

import json
import textwrap
from contextlib import nullcontext
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from calls.evals import questions
from calls.evals.caller import ScriptedCaller, Stuck
from calls.evals.hearing import CallEar, spoken_form, word_error_rate
from calls.evals.runner import run_scenario, run_suite
from calls.evals.scenario import load_file, load_scenarios
from calls.evals.yamlio import ScenarioError
from calls.management.commands import eval_scenarios

HEADER = "defaults:\n  now: 2026-05-11 09:10\nscenarios:\n"


def write(tmp_path, body: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(HEADER + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n")
    return path


def failure_codes(result) -> list[str]:
    return [f.code for f in result.failures]


# --- the suite's own files ------------------------------------------------------------------------------------


def test_suite_files_load_and_cover_what_the_issue_lists():
    scenarios = load_scenarios()
    assert len(scenarios) >= 80
    text = " ".join(line for sc in scenarios for lines in sc.talk.values() for line in lines).lower()
    for phrase in (
        "day after tomorrow",
        "of this month",
        "next week",
        "after lunch",
        "10:15",
        "quarter past",
        "<press 0>",
        "<silence>",
        "vin",
        "as early as",
    ):
        assert phrase in text, phrase
    callers = {sc.caller.label for sc in scenarios}
    assert {"new caller", "caller ID withheld"} <= callers
    assert any(
        sc.caller.customer and sc.caller.number != sc.given.customers[sc.caller.customer].phone for sc in scenarios
    )  # a customer on file calling from another number
    assert any(sc.expect.cancelled for sc in scenarios) and any(sc.expect.moved for sc in scenarios)
    assert any(sc.given.busy for sc in scenarios) and any(len(sc.given.closures) > 1 for sc in scenarios)


# --- YAML errors point to the file and line -------------------------------------------------------------------


def error_for(tmp_path, body: str) -> ScenarioError:
    path = write(tmp_path, body)
    with pytest.raises(ScenarioError) as caught:
        load_file(path)
    assert caught.value.path == str(path.resolve())
    return caught.value


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    err = error_for(
        tmp_path,
        """
        - id: broken
          caller: maria
          talk:
            request: "hi
            confirm: yes
    """,
    )
    assert err.line == 7 and "not valid YAML" in str(err) and str(err).startswith(f"{err.path}:7:")
    assert "while scanning a quoted scalar" in err.message


def test_yaml_indentation_error_names_its_line(tmp_path):
    err = error_for(
        tmp_path,
        """
        - id: broken
          caller: maria
           talk: {request: "hi"}
    """,
    )
    assert err.line == 6 and "not valid YAML" in err.message


def test_misspelt_key_is_pointed_at_with_a_suggestion(tmp_path):
    err = error_for(
        tmp_path,
        """
        - id: typo
          caller: maria
          talk: {request: "I need an oil change"}
          expcet:
            booked: {service: oil-change}
    """,
    )
    assert err.line == 7 and "unknown key `expcet`" in err.message and "did you mean `expect`" in err.message


def test_duplicate_key_is_an_error_not_a_silent_overwrite(tmp_path):
    err = error_for(
        tmp_path,
        """
        - id: twice
          caller: maria
          talk:
            request: "I need an oil change"
            request: "no wait, brakes"
    """,
    )
    assert err.line == 8 and "given twice (first on line 7)" in err.message


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        (
            """
        - id: bad-day
          caller: maria
          talk: {request: "hi"}
          expect:
            booked: {day: next thursday}
     """,
            8,
            "is not a date",
        ),
        (
            """
        - id: bad-service
          caller: maria
          talk: {request: "hi"}
          expect:
            booked: {service: oil-chnage}
     """,
            8,
            "did you mean `oil-change`",
        ),
        (
            """
        - id: bad-kind
          caller: maria
          talk:
            request: "hi"
            wen: "thursday"
     """,
            8,
            "unknown key `wen` in talk (did you mean `when`?)",
        ),
        (
            """
        - id: bad-caller
          caller: mario
          talk: {request: "hi"}
     """,
            5,
            "caller: `mario` is not new, withheld",
        ),
        (
            """
        - id: bad-appointment
          caller: maria
          given:
            appointments:
              a1: {customer: maria, car: jeep, services: oil-change, at: "+2 10:00"}
          talk: {request: "hi"}
     """,
            8,
            "maria has no car `jeep`",
        ),
        (
            """
        - id: bad-time
          caller: maria
          talk: {request: "hi"}
          expect:
            booked: {time: "9:30am"}
     """,
            8,
            "not a 24-hour time",
        ),
        (
            """
        - id: no-request
          caller: maria
          talk: {when: "thursday"}
     """,
            6,
            "talk needs a `request`",
        ),
        (
            """
        - id: bad-special
          caller: maria
          talk: {request: "<cough>"}
     """,
            6,
            "not one of <silence>, <hang up>, <press 0>",
        ),
    ],
)
def test_scenario_mistakes_name_their_line(tmp_path, body, line, words):
    err = error_for(tmp_path, body)
    assert err.line == line, str(err)
    assert words in err.message


def test_yaml_1_1_surprises_stay_text(tmp_path):
    path = write(
        tmp_path,
        """
        - id: plain-words
          caller: maria
          talk:
            request: I need an oil change
            confirm: yes
            offer: no
            when: 10:30
    """,
    )
    sc = load_file(path)[0]
    assert sc.talk["confirm"] == ["yes"] and sc.talk["offer"] == ["no"] and sc.talk["when"] == ["10:30"]


def test_command_reports_the_broken_file_and_line(tmp_path):
    path = write(
        tmp_path,
        """
        - id: typo
          caler: maria
    """,
    )
    with pytest.raises(CommandError, match=rf"{path.name}:5: unknown key `caler`.*did you mean `caller`"):
        call_command("eval_scenarios", str(path), stdout=StringIO())


def test_scenario_ids_are_unique_across_files(tmp_path):
    body = """
        - id: same
          caller: maria
          talk: {request: "hi"}
    """
    write(tmp_path, body, "a.yaml")
    write(tmp_path, body, "b.yaml")
    with pytest.raises(ScenarioError, match=r"b\.yaml:4: scenario id `same` is already used at .*a\.yaml:4"):
        load_scenarios([str(tmp_path)])


# --- the scripted caller and the agent's questions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "kind"),
    [
        ("Hi Maria, thanks for calling. How can I help you today?", "request"),
        ("Is there anything else I can help you with?", "anything_else"),
        ("Sure. First I need to find your account. What's your first and last name?", "name"),
        ("Thanks, Ana. And your last name?", "last_name"),
        ("Please say the five digits of your ZIP code.", "zip"),
        ("What's the year, make and model of your car? For example, a 2018 Honda Civic.", "car"),
        ("Is this for your 2019 Jeep Grand Cherokee or your 2011 Toyota Tacoma?", "car"),
        ("A 2003 Honda Accord?", "car_check"),
        ("That VIN is for a 2003 Honda Accord. Is that your car?", "car_check"),
        ("Got it. And what make is the car on your account?", "proof"),
        ("No problem. What day is your appointment with us?", "proof"),
        ("What service does your car need?", "service"),
        ("What day works best for you?", "when"),
        ("What time works for you on Thursday?", "time"),
        ("I have Tuesday, May 12 at 7:00 AM, 8:00 AM, or 8:30 AM. Which works best for you?", "offer"),
        ("The earliest I have is Tuesday, May 12 at 7:00 AM. Would that work?", "offer"),
        (
            "So that's an oil change on Thursday, May 14 at 10:00 AM for your 2018 Honda Civic. Shall I book it?",
            "confirm",
        ),
        ("I see your oil change on Thursday, May 14 at 10:00 AM. Do you want me to cancel it?", "confirm"),
        ("You have 2 upcoming appointments: ... Which one would you like to move?", "appointment"),
        (
            "No problem, let's take them one at a time. You have 2 upcoming appointments: ... Which one first?",
            "appointment",
        ),
        ("An oil change takes about 30 minutes and costs $59.95. Would you like to book it?", "offer_book"),
        (
            "You already have an oil change for the Civic on Tuesday, May 12 at 9:00 AM. Do you want another one, or "
            "should I move that one?",
            "duplicate",
        ),
        ("I don't see a 2019 Toyota Camry on your account. Shall I add it?", "car_check"),
        ("So that's a 2021 Toyota Tacoma. Shall I add it to your account?", "car_check"),
        ("I don't see a Toyota Tacoma on your account. What year is it? Then I'll add it for you.", "car"),
        ("Would you like to wait at the shop or drop it off?", "transport"),
        ("Are you still there?", "still_there"),
        ("Sorry, I didn't catch that. Could you say it again?", "again"),
        ("Hi Maria, this is the shop. Will that still work for you?", "yes_no"),
        ("Thanks for calling. Have a great day. Goodbye!", "unknown"),
        (
            "Hi Maria, this is Bart's calling about your oil change tomorrow at 9:00 AM. Can you still make it?",
            "reminder",
        ),
        ("It's at 8:30 AM - does that still work?", "reminder"),
        ("Sure, take your time.", "waiting"),
        ("Done, it's cancelled. Would you like to book another time instead?", "offer_book"),
        ("Just to be sure: you'd like to cancel your oil change appointment tomorrow at 10:00 AM?", "confirm"),
        ("Shall I add tire rotation to tomorrow's visit?", "confirm"),
    ],
)
def test_question_kinds(agent, kind):
    assert questions.classify(agent) == kind


def test_every_kind_a_scenario_may_answer_is_documented():
    assert set(questions.FALLBACK) <= set(questions.KINDS)
    assert {kind for kind, _, _ in questions._RULES} <= set(questions.KINDS)


def test_caller_answers_in_order_falls_back_and_gets_stuck_with_the_question():
    caller = ScriptedCaller({"request": ["hi"], "when": ["thursday", "friday then"], "yes_no": ["sure"]})
    assert caller.next_step("How can I help you today?").text == "hi"
    assert caller.next_step("What day works best for you?").text == "thursday"
    assert caller.next_step("Sorry, we're closed. What other day would work for you?").text == "friday then"
    assert caller.next_step("An oil change is $59.95. Would you like to book it?").text == "sure"  # via yes_no
    assert caller.next_step("Sorry, I didn't catch that. Could you say it again?").text == "sure"  # the last line
    with pytest.raises(Stuck) as again:
        caller.next_step("Which day works for you?")
    assert again.value.code == "asked-again:when" and "3rd time" in again.value.message
    with pytest.raises(Stuck) as unexpected:
        caller.next_step("And what's the ZIP code on your account?")
    assert unexpected.value.code == "unexpected-question:zip"
    assert "ZIP code on your account" in unexpected.value.message
    assert caller.next_step("Is there anything else I can help you with?").action == "hangup"


# --- a scenario that must fail does fail, with a useful reason -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_runner_passes_a_plain_booking_and_fails_it_for_the_wrong_day(tmp_path):
    path = write(
        tmp_path,
        """
        - id: passes
          caller: maria
          talk:
            request: "I need an oil change thursday morning"
            offer: "the first one"
            confirm: "yes"
            anything_else: "no thanks"
          expect:
            booked: {customer: maria, service: oil-change, day: 2026-05-14, part: morning, car: civic}
            hung_up: true
          say: ["Thursday, May 14"]
        - id: wrong-day
          caller: maria
          talk:
            request: "I need an oil change thursday morning"
            offer: "the first one"
            confirm: "yes"
          expect:
            booked: {customer: maria, service: oil-change, day: +4}
          never_say: ["Thursday, May 14"]
    """,
    )
    good, bad = load_file(path)
    result = run_scenario(good)
    assert result.passed, result.line()
    assert result.line() == "PASS  passes"
    result = run_scenario(bad)
    assert failure_codes(result) == ["wrong-booking:day", "forbidden-phrase"]
    line = result.line()
    assert line.startswith(f"FAIL  wrong-day ({bad.where}): booked oil-change on Thu 2026-05-14")
    assert "instead of Fri 2026-05-15" in line and "said “Thursday, May 14”" in line


@pytest.mark.django_db(transaction=True)
def test_runner_reports_the_question_the_caller_could_not_answer(tmp_path):
    path = write(
        tmp_path,
        """
        - id: no-answer-for-the-day
          caller: maria
          talk:
            request: "I need an oil change"
          expect:
            booked: {customer: maria, service: oil-change}
    """,
    )
    result = run_scenario(load_file(path)[0])
    assert failure_codes(result) == ["unexpected-question:when", "not-booked"]
    assert "asked for when (“What day works best for you?”), which this caller has no answer for" in result.line()
    assert "nothing booked; expected oil-change" in result.line()


@pytest.mark.django_db(transaction=True)
def test_runner_catches_writes_nobody_expected(tmp_path):
    path = write(
        tmp_path,
        """
        - id: cancels-the-wrong-one
          caller: maria
          given:
            appointments:
              mine: {customer: maria, car: civic, services: oil-change, at: "2026-05-14 10:00"}
              luis: {customer: luis, car: malibu, services: brake-inspection, at: "2026-05-14 09:00"}
          talk:
            request: "I need to cancel my appointment"
            confirm: "yes"
          expect:
            cancelled: luis
        - id: books-although-nothing-expected
          caller: maria
          talk:
            request: "I need an oil change thursday at ten"
            confirm: "yes"
          expect:
            nothing_written: true
    """,
    )
    first, second = load_file(path)
    result = run_scenario(first)
    assert failure_codes(result) == ["not-cancelled", "changed-wrongly"]
    assert "`luis` is still scheduled" in result.line()
    assert "`mine` changed, nobody asked for that: scheduled -> cancelled" in result.line()
    result = run_scenario(second)
    assert failure_codes(result) == ["unexpected-booking"]
    assert "booked oil-change on Thu 2026-05-14 10:00 for Maria Delgado's 2018 Honda Civic" in result.line()


@pytest.mark.django_db(transaction=True)
def test_runner_times_silence_and_presses_keys(tmp_path):
    path = write(
        tmp_path,
        """
        - id: silent
          caller: new
          talk:
            request: "<silence>"
            still_there: ["<silence>", "<silence>"]
          expect: {hung_up: true, outcome: abandoned}
        - id: zero
          caller: maria
          given: {advisor: unreachable}
          talk:
            request: "<press 0>"
          expect: {transferred: true}
    """,
    )
    silent, zero = load_file(path)
    result = run_scenario(silent)
    assert result.passed, result.line()
    assert [t for who, t in result.transcript if who == "caller"] == ["<silence>"] * 3
    result = run_scenario(zero)
    assert failure_codes(result) == ["not-transferred", "unexpected-callback"]  # nobody answered: a call-back


# --- the command's report and JSON ----------------------------------------------------------------------------


@pytest.fixture
def command_in_test_db(monkeypatch):
    """The command on the test database pytest made (instead of the suite's own one next to the configured DB)."""
    monkeypatch.setattr(eval_scenarios, "eval_database", nullcontext)


@pytest.mark.django_db(transaction=True)
def test_command_prints_a_line_per_scenario_then_the_pass_rate_and_writes_json(tmp_path, command_in_test_db):
    path = write(
        tmp_path,
        """
        - id: books
          caller: maria
          talk: {request: "I need an oil change thursday at ten", confirm: "yes"}
          expect:
            booked: {service: oil-change, day: 2026-05-14, time: "10:00"}
        - id: expects-friday
          caller: maria
          talk: {request: "I need an oil change thursday at ten", confirm: "yes"}
          expect:
            booked: {service: oil-change, day: 2026-05-15}
    """,
    )
    out = StringIO()
    report = tmp_path / "report.json"
    call_command("eval_scenarios", str(path), json_file=str(report), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "PASS  books"
    assert lines[1].startswith("FAIL  expects-friday (") and "instead of Fri 2026-05-15" in lines[1]
    assert lines[2:4] == ["failures by reason:", "    1  wrong-booking:day: expects-friday"]
    assert lines[-1].startswith("text pass rate: 1/2 = 50.0% (brain rules")
    data = json.loads(report.read_text())
    assert (data["mode"], data["passed"], data["total"], data["pass_rate"]) == ("text", 1, 2, 0.5)
    assert data["failure_groups"] == [{"code": "wrong-booking:day", "scenarios": 1, "ids": ["expects-friday"]}]
    failed = data["scenarios"][1]
    assert failed["id"] == "expects-friday" and failed["line"] == 9 and failed["passed"] is False
    assert failed["failures"][0]["code"] == "wrong-booking:day"
    assert failed["transcript"][0] == {"speaker": "agent", "text": "Hi Maria, thanks for calling Bart's Auto Service."}
    assert {"speaker": "caller", "text": "I need an oil change thursday at ten"} in failed["transcript"]


@pytest.mark.django_db(transaction=True)
def test_whole_suite_below_the_floor_fails_the_command(tmp_path, command_in_test_db, monkeypatch):
    path = write(
        tmp_path,
        """
        - id: expects-friday
          caller: maria
          talk: {request: "I need an oil change thursday at ten", confirm: "yes"}
          expect:
            booked: {service: oil-change, day: 2026-05-15}
    """,
    )
    monkeypatch.setattr(eval_scenarios, "load_scenarios", lambda paths: load_file(path))
    monkeypatch.setattr(eval_scenarios, "thresholds", lambda: {"text": 0.5})
    with pytest.raises(CommandError, match=r"pass rate 0\.0% is below the floor of 50\.0%"):
        call_command("eval_scenarios", stdout=StringIO())


# --- --audio ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("Monday at 10:15 am", "monday at ten fifteen a.m."),
        ("it's a 2016 Subaru, or 2003", "it's a twenty sixteen subaru or two thousand three"),
        ("the 29th of this month, around 1", "the twenty ninth of this month around one"),
        ("my ZIP is 60614", "my zip is six zero six one four"),
        ("VIN 1HGCM82633A004352", "vin one h g c m eight two six three three a zero zero four three five two"),
        ("9:05 or 9:00?", "nine oh five or nine o'clock"),
    ],
)
def test_lines_are_spoken_in_words(line, said):
    assert spoken_form(line) == said


def test_word_error_rate_counts_edits_over_words_said():
    assert word_error_rate(["book an oil change", "yes"], ["book an all change please", "yes"]) == pytest.approx(2 / 5)
    assert word_error_rate([], []) is None


def test_the_listening_hint_goes_to_the_recogniser_before_each_answer():
    class Stream:
        expected = []

        def expect(self, hint):
            self.expected.append(hint)

    class Brain:
        def listening_hint(self, ctx):
            return ("day_or_time", ctx)

    ear = CallEar(hearing=None)
    ear._stream = Stream()
    ear.expect(Brain(), "ctx")
    assert Stream.expected == [("day_or_time", "ctx")]
    ear.expect(object(), "ctx")  # a brain without hints: nothing to pass on
    assert len(Stream.expected) == 1


@pytest.mark.django_db(transaction=True)
def test_audio_mode_hears_each_line_through_espeak_and_sphinx(tmp_path):
    path = write(
        tmp_path,
        """
        - id: spoken
          caller: maria
          talk:
            request: "what are your hours"
            anything_else: "no thanks"
    """,
    )
    suite = run_suite(load_file(path), audio=True)
    result = suite.results[0]
    assert [said for said, _ in result.said] == ["what are your hours", "no thanks"]
    assert all(isinstance(heard, str) for _, heard in result.said)
    assert suite.wer is not None and 0.0 <= suite.wer
    assert "word error rate" in suite.summary() and suite.summary().startswith("audio pass rate: ")
