"""The reminder call, as an independent tester's callers answered it (issue 9, second round): a yes that waits on
a question, a yes taken back, another appointment named beside the yes, loaners asked for and given back, "the
earliest Saturday morning", the price of something else and "add it", "I'll call you back", keeping the day after
all; and the callers who got lost (a cancel in other words, a death in the family, a spouse, "is this a scam?",
Spanish, "not a problem at all")."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conftest import agent_local
from calls.tests.conversation import ended, run_conversation
from scheduling.models import Appointment, ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def reload(appointment):
    await in_db_thread(appointment.refresh_from_db)
    return appointment


# --- a yes that waits on an answer is no yes yet --------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "before I say yes, what's it gonna cost?",  # the tester's
        "hmm before I confirm, how much is it going to be?",
        "depends, what's the price on that?",
        "yeah ok if it's under a hundred bucks. how much is it?",
        "I'll say yes if it's not too pricey, what does it cost?",
    ],
)
async def test_a_yes_that_waits_on_the_price_answers_it_then_asks_again(
    agent_ctx, agent_customer, agent_appointment, line
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "$49.99" in said[1] and said[1].endswith("Can you still make it?"), said
    assert (await reload(agent_appointment)).status == "scheduled"
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "ok yes", "no that's it"])
    said = agent_lines(transcript)
    assert "you're confirmed" in said[2] and "Goodbye" in said[3], said
    assert (await reload(agent_appointment)).status == "confirmed"


# --- a yes taken back: what follows the take-back is the answer ----------------------------------------------


@pytest.mark.parametrize(
    "line, weekday",
    [
        ("yes. wait, no, can we do friday instead?", 4),  # the tester's
        ("yeah sure. oh hold on, actually can it be thursday?", 3),
        ("ok sounds good. no wait, scratch that, friday would be better", 4),
    ],
)
async def test_a_yes_taken_back_in_the_same_breath_is_the_move_that_follows(
    agent_ctx, agent_customer, agent_appointment, agent_now, line, weekday
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    day = (agent_now + timedelta(days=weekday)).date()
    assert f"{day:%B} {day.day}" in said[1] and "confirmed" not in said[1], said
    assert (await reload(agent_appointment)).status == "scheduled"


async def test_a_yes_taken_back_to_no_asks_move_or_cancel(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["yep. wait, no, I can't"])
    said = agent_lines(transcript)
    assert "move it to another day, or cancel it" in said[1], said
    assert (await reload(agent_appointment)).status == "scheduled"


# --- the yes, and another appointment named beside it --------------------------------------------------------


def _tomorrow_and_thursday(customer, shop, now):
    """Maria's tire rotation tomorrow (Tuesday) at 10:00, the one called about, and another on Thursday at 2:00."""
    made = []
    for days, hour in ((1, 10), (3, 14)):
        start = now.replace(hour=hour) + timedelta(days=days)
        appt = Appointment.objects.create(
            customer=customer, vehicle=customer.vehicles.first(), start=start, end=start + timedelta(minutes=30)
        )
        appt.service_types.set([shop.rotation])
        made.append(appt)
    return made


@pytest.mark.parametrize(
    "line",
    [
        "yes tomorrow's fine. but cancel the tire rotation on thursday",  # the tester's
        "yep, tomorrow works. and please cancel thursday's tire rotation",
        "sure I'll be there tomorrow, but the one on thursday you can cancel",
    ],
)
async def test_yes_to_tomorrow_and_a_cancel_of_thursdays(agent_ctx, agent_customer, agent_shop, agent_now, line):
    tomorrow, thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(agent_ctx, agent_customer, tomorrow, [line, "yes", "no"])
    said = agent_lines(transcript)
    assert "you're confirmed" in said[1] and "Thursday" in said[1] and "cancel" in said[1], said
    assert (await reload(tomorrow)).status == "confirmed", said
    assert (await reload(thursday)).status == "cancelled", said


async def test_no_the_thursday_one_after_the_wrong_one_was_read_back(agent_ctx, agent_customer, agent_shop, agent_now):
    """ "Cancel the tire rotation" fits both: the one called about is read back; "no, the Thursday one" is the
    cancel of that one (not a move), and then the reminder's own question comes back."""
    tomorrow, thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        tomorrow,
        ["oh and cancel the tire rotation", "no, the thursday one", "yes", "yes", "no"],
    )
    said = agent_lines(transcript)
    assert "Thursday" in said[2] and "cancel" in said[2], said
    assert said[3].endswith("tomorrow at 10:00 AM: can you still make it?"), said
    assert (await reload(tomorrow)).status == "confirmed", said
    assert (await reload(thursday)).status == "cancelled", said
    assert not any("Which works best" in line for line in said), said


async def test_a_yes_with_a_cancel_of_the_tire_rotation_means_the_other_one(
    agent_ctx, agent_customer, agent_shop, agent_now
):
    tomorrow, thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, tomorrow, ["yep. and cancel my tire rotation", "yes", "no"]
    )
    said = agent_lines(transcript)
    assert (await reload(tomorrow)).status == "confirmed", said
    assert (await reload(thursday)).status == "cancelled", said


async def test_a_yes_and_a_cancel_of_a_day_with_nothing_on_it_keeps_the_yes(
    agent_ctx, agent_customer, agent_shop, agent_now
):
    """Nothing on Thursday: the yes stands, and the caller hears there is nothing there to cancel; tomorrow's is
    never read back for a cancel."""
    tomorrow, thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, tomorrow, ["yeah tomorrow's good. and cancel the tire rotation on friday", "no"]
    )
    said = agent_lines(transcript)
    assert "you're confirmed" in said[1] and "Friday" in said[1] and "don't see" in said[1], said
    assert (await reload(tomorrow)).status == "confirmed", said
    assert (await reload(thursday)).status == "scheduled", said


# --- a loaner asked for, or given back ------------------------------------------------------------------------


def _lends_cars():
    ShopProfile.objects.create(loaner_cars=True, loaner_terms="We have a few, so we reserve them ahead.")


@pytest.mark.parametrize(
    "line, confirmed",
    [
        ("can I get a loaner?", False),  # the tester's
        ("could you set me up with a courtesy car for the day", False),
        ("yes, and I'll need a loaner car please", True),
    ],
)
async def test_a_loaner_asked_for_is_reserved_on_the_visit(
    agent_ctx, agent_customer, agent_appointment, line, confirmed
):
    await in_db_thread(_lends_cars)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    appt = await reload(agent_appointment)
    assert appt.transport == "loaner" and "loaner" in appt.notes.lower(), said
    assert "reserved a loaner" in said[1], said
    assert (appt.status == "confirmed") is confirmed, said
    if not confirmed:
        assert said[1].endswith("Can you still make it?"), said


async def test_no_loaner_is_reserved_where_the_shop_has_none(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["can I get a loaner?"])
    assert (await reload(agent_appointment)).transport == "drop_off"
    assert "don't have loaner cars" in agent_lines(transcript)[1]


@pytest.mark.parametrize(
    "line, confirmed",
    [
        ("actually I won't need the loaner", False),  # the tester's
        ("yes I'll be there, but cancel the loaner, my wife will drive me", True),
        ("we don't need a loaner car anymore", False),
    ],
)
async def test_a_loaner_given_back_is_released_and_the_visit_stays(
    agent_ctx, agent_customer, agent_appointment, line, confirmed
):
    await in_db_thread(_lends_cars)
    agent_appointment.transport = "loaner"
    await in_db_thread(agent_appointment.save)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    appt = await reload(agent_appointment)
    assert appt.transport == "drop_off" and "loaner" in appt.notes.lower(), said
    assert appt.status == ("confirmed" if confirmed else "scheduled"), said
    assert "taken the loaner off" in said[1], said


async def test_a_loaner_asked_for_after_the_yes(agent_ctx, agent_customer, agent_appointment):
    await in_db_thread(_lends_cars)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes", "oh, can I borrow a loaner while it's in?", "no"]
    )
    appt = await reload(agent_appointment)
    assert appt.transport == "loaner" and appt.status == "confirmed", agent_lines(transcript)


# --- "Saturday morning, earliest you got": the first free time of that part of that day ----------------------


def _fill(customer, shop, start, hours, count=4):
    """`count` visits from `start` for `hours` (the fixture shop has 4 bays)."""
    for _ in range(count):
        appt = Appointment.objects.create(customer=customer, start=start, end=start + timedelta(hours=hours))
        appt.service_types.set([shop.brakes])


async def test_the_earliest_saturday_morning_after_another_time_was_read_back(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    """Noon read back, then "Saturday morning, earliest you got": Saturday at 8:00 when the shop opens, not noon."""
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["can we make it noon instead", "actually saturday morning, earliest you got"],
    )
    said = agent_lines(transcript)
    saturday = (agent_now + timedelta(days=5)).date()
    assert "noon" in said[1], said
    assert f"Saturday, {saturday:%B} {saturday.day} at 8:00 AM" in said[2] and "noon" not in said[2], said


@pytest.mark.parametrize(
    "line",
    [
        "saturday morning, earliest you got",  # the tester's
        "the earliest you have saturday morning",
        "could we do saturday, first available in the morning?",
    ],
)
async def test_the_earliest_of_saturday_morning_is_in_the_morning(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now, line
):
    """8:00 and 8:30 taken: the first free morning time (9:00), said as the one earliest, not a menu."""
    saturday = (agent_now + timedelta(days=5)).date()
    await in_db_thread(_fill, agent_customer, agent_shop, agent_local(saturday, 8), 1)
    await in_db_thread(_fill, agent_customer, agent_shop, agent_local(saturday, 8, 30), 0.5)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert f"The earliest I have is Saturday, {saturday:%B} {saturday.day} at 9:00 AM" in said[1], said


async def test_the_earliest_of_a_full_saturday_morning_says_so(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    """The morning full: said so, and the closest after it offered, never noon as "the earliest" of the morning."""
    saturday = (agent_now + timedelta(days=5)).date()
    await in_db_thread(_fill, agent_customer, agent_shop, agent_local(saturday, 8), 4)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["saturday morning, earliest you got"]
    )
    said = agent_lines(transcript)
    assert "don't have anything in the morning" in said[1] and "12:00" not in said[1], said


@pytest.mark.parametrize(
    "line, param",
    [
        ("saturday morning, earliest you got", "00:00-12:00 earliest"),
        ("the first available in the afternoon", "12:00-17:00 earliest"),
        ("in the morning, as early as possible", "00:00-12:00 earliest"),
        ("first thing saturday", "earliest"),  # the earliest of the day, as before
        ("saturday morning", "00:00-12:00"),
    ],
)
def test_the_earliest_of_a_part_of_the_day_keeps_its_window(agent_now, line, param):
    from calls.agent import nlu

    assert nlu.understand(line, agent_now).time.to_param() == param


# --- the price of another service, then "add them" -------------------------------------------------------------


def _wipers():
    from decimal import Decimal

    from scheduling.models import ServiceType

    ServiceType.objects.create(
        code="wipers",
        name="Wiper blades and cabin filter",
        duration_minutes=20,
        price=Decimal("39.99"),
        keywords="wiper blades, wipers, wiper, cabin filter",
    )


@pytest.mark.parametrize(
    "ask, add, code, price",
    [
        ("how much to add wiper blades?", "ok add them", "wipers", "$39.99"),  # the tester's
        ("what would new wipers run me", "sure, put those on too", "wipers", "$39.99"),
        ("and what do you charge for a tire rotation?", "alright add it", "tire-rotation", "$29.99"),
    ],
)
async def test_the_price_of_a_service_named_then_add_it(
    agent_ctx, agent_customer, agent_appointment, ask, add, code, price
):
    await in_db_thread(_wipers)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [ask, add, "yes", "no"])
    said = agent_lines(transcript)
    assert price in said[1] and "$49.99" not in said[1], said
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert codes == sorted(["oil-change", code]), said
    assert "added" in said[2] and said[2].endswith("Can you still make it?"), said
    assert appt.status == "confirmed", said


async def test_the_price_of_a_service_named_and_no_thanks(agent_ctx, agent_customer, agent_appointment):
    await in_db_thread(_wipers)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["how much for wipers?", "no, just the oil change", "yes", "no"]
    )
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert codes == ["oil-change"] and appt.status == "confirmed", agent_lines(transcript)


async def test_the_price_of_a_service_asked_after_the_yes_then_add_it(agent_ctx, agent_customer, agent_appointment):
    await in_db_thread(_wipers)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes", "how much would new wiper blades be?", "add them", "no"]
    )
    said = agent_lines(transcript)
    assert "$39.99" in said[2], said
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert codes == ["oil-change", "wipers"] and appt.status == "confirmed", said


# --- "can't make it, I'll call you back": kept, noted, recorded -----------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "can't make it, I'll call you back",  # the tester's
        "I won't be able to come tomorrow, I'll give you guys a call to set up another day",
        "not gonna make it unfortunately. let me call you back when I know my schedule",
    ],
)
async def test_cant_make_it_and_will_call_back_is_noted_not_cancelled(
    agent_ctx, agent_customer, agent_appointment, line
):
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    appt = await reload(agent_appointment)
    assert appt.status == "scheduled", said
    assert "will call" in appt.notes and "rebook" in appt.notes, (said, appt.notes)
    assert "call" in said[1] and "Goodbye" in said[1], said
    assert "rebook" in ctx.summary, ctx.summary
    from calls.models import Call
    from calls.reminder_calls import reminder_outcome
    from scheduling.models import ReminderAttempt

    def ledger():
        call = Call.objects.get(pk=ctx.call_id)
        call.summary = ctx.summary  # the session writes it at the hang-up
        reminder = ReminderAttempt(appointment=appt, appointment_start=appt.start)
        return reminder_outcome(call, reminder)

    _outcome, result = await in_db_thread(ledger)
    assert "rebook" in result, result


# --- a move started, then "never mind, I'll keep tomorrow" ------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        ["can we move it?", "never mind, I'll keep tomorrow"],  # the tester's
        ["could we do thursday instead", "actually forget it, I'll just come tomorrow like planned"],
        ["can I come at 2 instead", "no, you know what, keep the original time"],
        ["I'd like to reschedule", "oh never mind, tomorrow at 10 is fine"],
    ],
)
async def test_keeping_the_day_after_starting_a_move_confirms_it(
    agent_ctx, agent_customer, agent_shop, agent_now, lines
):
    tomorrow, _thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    start = tomorrow.start
    ctx, transcript = await remind(agent_ctx, agent_customer, tomorrow, lines)
    said = agent_lines(transcript)
    appt = await reload(tomorrow)
    assert appt.status == "confirmed" and appt.start == start, said
    assert "you're confirmed" in said[2] and ctx.outcome == "confirmed", said


async def test_never_mind_alone_after_starting_a_move_asks_about_the_visit(
    agent_ctx, agent_customer, agent_appointment
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["can we move it?", "never mind"])
    said = agent_lines(transcript)
    assert said[2].endswith("can you still make it?") or said[2].endswith("Can you still make it?"), said


@pytest.mark.parametrize(
    "lines",
    [
        ["could we do thursday instead", "same time on friday then"],
        ["can we do thursday instead", "the first one", "yes I'll be there"],
    ],
)
async def test_a_move_that_goes_on_is_not_taken_for_keeping_it(agent_ctx, agent_customer, agent_shop, agent_now, lines):
    tomorrow, _thursday = await in_db_thread(_tomorrow_and_thursday, agent_customer, agent_shop, agent_now)
    start = tomorrow.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, tomorrow, lines)
    said = agent_lines(transcript)
    appt = await reload(tomorrow)
    assert not any("you're confirmed" in line for line in said), said
    assert appt.start != start or said[-1].endswith("Which works best for you?") or "Is that right" in said[-1], said


# --- lost callers: a cancel in other words -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, reason",
    [
        ("scrap it, got it done elsewhere", "elsewhere"),  # the tester's
        ("nah, ditch the appointment, a buddy of mine fixed it", "buddy"),
        ("you can call it off, I had it taken care of somewhere else", "somewhere else"),
    ],
)
async def test_a_cancel_in_other_words_is_read_back_and_keeps_the_reason(
    agent_ctx, agent_customer, agent_appointment, line, reason
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "yes", "no"])
    said = agent_lines(transcript)
    assert "you'd like to cancel" in said[1], said
    appt = await reload(agent_appointment)
    assert appt.status == "cancelled" and reason in appt.cancel_reason, (said, appt.cancel_reason)


@pytest.mark.parametrize(
    "line",
    [
        "just cancel it for now, I'll call to rebook",  # the tester's
        "cancel it please, I'll call you guys when I know my schedule",
    ],
)
async def test_a_cancel_now_rebook_later_says_they_can_call_any_time(
    agent_ctx, agent_customer, agent_appointment, line
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "yes", "no"])
    said = agent_lines(transcript)
    assert (await reload(agent_appointment)).status == "cancelled", said
    assert "any time" in said[2] and "book another time" not in said[2], said


@pytest.mark.parametrize(
    "line",
    [
        "yes I'll be there, I had it looked at last month but the noise is back",
        "can we move it somewhere else in the week",
    ],
)
async def test_words_near_a_cancel_that_are_none(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    assert "cancel your" not in agent_lines(transcript)[1], agent_lines(transcript)


# --- the customer has died ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Maria passed away",  # the tester's, with this customer's name
        "I'm sorry, my wife died last month",
        "she's no longer with us, she passed in October",
    ],
)
async def test_the_customer_has_died(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "sorry for your loss" in said[1], said
    assert not any(word in said[1].lower() for word in ("book", "another time", "anything else", "loaner")), said
    assert ended(transcript), said
    assert (await reload(agent_appointment)).status == "cancelled"
    await in_db_thread(agent_customer.refresh_from_db)
    assert agent_customer.do_not_call


async def test_a_dead_battery_is_no_death(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes, the battery died again though"]
    )
    assert "sorry for your loss" not in agent_lines(transcript)[1]
    assert (await reload(agent_appointment)).status == "confirmed"


def test_passing_a_test_is_no_death():
    from calls.agent.flows.reminder_answers import passed_away

    assert passed_away("my husband passed away in May", "Maria") and passed_away("Maria died", "Maria")
    assert not passed_away("she passed the emissions test last year", "Maria")
    assert not passed_away("the car died on the highway", "Maria")


# --- a spouse answers for the customer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "he asked me to move it to friday",  # the tester's (Maria's husband, here)
        "this is her husband, she asked me to move it to friday",
        "she's not home right now but she wants to move it to friday",
    ],
)
async def test_a_spouse_moves_it_for_the_customer(agent_ctx, agent_customer, agent_appointment, agent_now, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    friday = (agent_now + timedelta(days=4)).date()
    assert f"Friday, {friday:%B} {friday.day}" in said[1] and not ended(transcript), said


@pytest.mark.parametrize(
    "line",
    [
        "yes he'll be there",  # the tester's
        "this is her husband. yeah she'll be there",
        "she's at work right now, but yes, she'll be there",
    ],
)
async def test_a_spouse_confirms_for_the_customer(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    assert (await reload(agent_appointment)).status == "confirmed", agent_lines(transcript)


async def test_someone_else_with_nothing_to_say_about_it_still_takes_a_message(
    agent_ctx, agent_customer, agent_appointment
):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["this is her husband, she's at work"]
    )
    assert ended(transcript) and (await reload(agent_appointment)).status == "scheduled"


# --- "is this a scam? what's your number?" ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "is this a scam? what's your number?",  # the tester's
        "how do I know this is legit? give me a number I can call",
        "sounds fishy to me. what number can I call you back on? I'll call you back",
    ],
)
async def test_a_caller_who_fears_a_scam_hears_the_shop_and_its_number(
    agent_ctx, agent_customer, agent_appointment, line
):
    await in_db_thread(lambda: ShopProfile.objects.create(phone="+13125550100"))
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "Bart's Auto Service" in said[1] and "3 1 2, 5 5 5, 0 1 0 0" in said[1], said
    assert not ended(transcript) and said[1].endswith("Can you still make it?"), said
    assert (await reload(agent_appointment)).status == "scheduled"


# --- "no hablo inglés" -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, spanish",
    [
        ("no hablo ingles", True),  # the tester's
        ("¿Español? No inglés.", True),
        ("sorry, me no speak english", False),
    ],
)
async def test_a_caller_without_english_is_offered_a_person(
    agent_ctx, agent_customer, agent_appointment, line, spanish
):
    from calls.agent.actions import Transfer
    from calls.tests.conversation import last_action

    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert isinstance(last_action(transcript), Transfer), said
    assert ("persona" in said[1]) is spanish and len(said[1]) < 140, said
    assert (await reload(agent_appointment)).status == "scheduled"


# --- yes in other words: "not a problem at all", "I'll try to make it" ----------------------------------------


@pytest.mark.parametrize(
    "line", ["not a problem at all", "no problem, see you then", "no worries, we'll be there", "that's no problem"]
)
async def test_no_problem_is_a_yes(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "you're confirmed" in said[1], said
    assert (await reload(agent_appointment)).status == "confirmed"


@pytest.mark.parametrize("line", ["I'll try to make it", "we'll do our best to be there", "I'm gonna try"])
async def test_ill_try_is_a_yes_noted_as_unsure(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "you're confirmed" in said[1] and "didn't catch" not in said[1], said
    appt = await reload(agent_appointment)
    assert appt.status == "confirmed" and "not sure" in appt.notes, (said, appt.notes)


async def test_no_the_problem_is_i_cant_is_no_yes(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["no, problem is I can't make it"])
    assert (await reload(agent_appointment)).status == "scheduled", agent_lines(transcript)
