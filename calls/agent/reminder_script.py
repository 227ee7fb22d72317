"""What a reminder call says, for every brain: the opening line and, for a language model, its brief.

Built from the structured appointment (calls.agent.tools' appointment dict), never from another sentence. The
rule policy's reminder flow (calls.agent.flows.reminders) and the OpenAI brain open the call the same way.
"""

from __future__ import annotations

from datetime import datetime

from calls.agent.phrases import services_phrase, spoken_day, spoken_time


def when_phrase(start_iso: str, now: datetime) -> str:
    """ "tomorrow at 9:00 AM", "today at 2:30 PM", "on Thursday, December 3 at 8:00 AM" (shop time)."""
    start = datetime.fromisoformat(start_iso)
    days = (start.date() - now.astimezone(start.tzinfo).date()).days
    at = spoken_time(start)
    if days == 0:
        return f"today at {at}"
    if days == 1:
        return f"tomorrow at {at}"
    return f"on {spoken_day(start)} at {at}"


def what_phrase(appointment: dict) -> str:
    """ "oil change appointment", "brake service and tire rotation appointment"."""
    return f"{services_phrase(appointment['services'], article=False) or 'service'} appointment"


def opening_line(appointment: dict, *, first_name: str, shop: str, now: datetime) -> list[str]:
    """Hi Maria, this is Bart's Auto Service calling about your oil change appointment tomorrow at 9:00 AM for
    your 2018 Honda Civic. -- then the question (two pieces: the question is what a barge-in may cut)."""
    hello = f"Hi {first_name}, this is {shop}" if first_name else f"Hello, this is {shop}"
    car = f" for your {appointment['vehicle']}" if appointment.get("vehicle") else ""
    return [
        f"{hello} calling about your {what_phrase(appointment)} {when_phrase(appointment['start'], now)}{car}.",
        CAN_YOU_MAKE_IT,
    ]


CAN_YOU_MAKE_IT = "Can you still make it?"


def reminded_appointment(ctx, appointments: list[dict]) -> dict | None:
    """The appointment this call placed by the shop is about, among the customer's upcoming ones as
    get_upcoming_appointments lists them (it always lists it while it is upcoming: scheduling.selectors.
    reminded_appointment). None when this is no reminder call, or the appointment was cancelled, moved to the past
    or has started since. The one answer for both brains: the rule flows and the language model's brief."""
    if ctx.direction != "outbound" or not ctx.appointment_id:
        return None
    return next((a for a in appointments if a["id"] == ctx.appointment_id), None)


def reminder_appointment(ctx) -> dict | None:
    """reminded_appointment, listing the customer's appointments first (None when it is not a reminder call).
    Runs the tool, so it is logged like any other."""
    from calls.agent.tools import run_tool

    if ctx.direction != "outbound" or not ctx.appointment_id or ctx.customer_id is None:
        return None
    res = run_tool(ctx, "get_upcoming_appointments", {})
    return reminded_appointment(ctx, res.result.get("appointments", []) if res.ok else [])


def openai_instructions(appointment: dict, *, first_name: str, shop: str, now: datetime) -> str:
    """The system prompt paragraph of an outbound reminder call for a language model brain."""
    opening = " ".join(opening_line(appointment, first_name=first_name, shop=shop, now=now))
    return (
        f"This is an outbound reminder call: {shop} is calling {first_name or 'the customer'} about appointment "
        f"id {appointment['id']} ({what_phrase(appointment)} {when_phrase(appointment['start'], now)}). "
        f'The customer is already identified by the number we dialled. You opened with: "{opening}" '
        "If they can make it, call confirm_appointment. If they want another time, find openings with "
        "get_available_slots (exclude_appointment_id set to this appointment), read the choice back, then call "
        "reschedule_appointment. If they want to cancel, read it back, then call cancel_appointment with their "
        "reason in their own words. If they ask who is calling, say you are the shop's automated assistant calling "
        "about their appointment, and offer a person if they want one. A yes with a request is both: confirm, then "
        "handle the request (get_shop_info about loaners; a loaner they ask for, or give back, with "
        "set_appointment_transport). Add a service only when they ask for it, after reading "
        "it back (add_services_to_appointment); another service in place of one, or another of their cars, is read "
        'back too (swap_appointment_services, change_appointment_vehicle). To take a service off ("skip the tire '
        'rotation, just the oil change"), read back what remains, then call remove_services_from_appointment and '
        "confirm the visit; if it is the only service, ask whether to cancel the appointment instead, never leave it "
        "empty. Another of their cars the same day (\"can you do my wife's Civic too while it's there?\"): find an "
        "opening that day with get_available_slots (vehicle_id of that car, time_preference when this visit ends), "
        "read it back, then book_appointment with that vehicle_id; this appointment stays as it is. A car that is "
        "not on their account is never added: call request_call_back and say a service advisor will call them to "
        "set it up. A service mentioned in passing, refused "
        "or about another visit is never added. Their other appointments are theirs to cancel, move or ask about: "
        "act on the one they name, ask which when several fit, and never change this one instead. "
        '"Hold on" means wait. If they can\'t make it and will call back to rebook, leave the appointment as it is '
        "and note it for the advisors (add_appointment_note); cancel only when they say so. If they ask not to be "
        "called again, call stop_calls (and still confirm or cancel "
        "if they said so). If they can't talk and ask to be called back, call request_call_back and end the call. "
        'If it is a wrong number ("you have the wrong number", "there\'s no one by that name here"), call '
        "report_wrong_number, apologise briefly and end the call without repeating the appointment's details; "
        "someone who is busy or driving is not a wrong number: offer to call back later (request_call_back). "
        "If they ask for a person, transfer_to_advisor. Keep every "
        "reply to one or two short sentences; end the call politely once they are done."
    )
