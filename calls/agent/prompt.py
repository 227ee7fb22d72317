"""The system prompt of the language-model brain, built once per call from the database.

Only the caller's own account reaches it (and only when the call is bound to it): never another customer's name,
number or appointment. The caller's phone number itself is left out too; the tools know it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from calls.agent.context import CallContext
from calls.agent.phrases import spoken_price, vehicle_label, weekly_hours_sentence
from scheduling.wording import spoken_duration

RULES = (
    " ".join(
        """\
You are the phone receptionist of {shop}, a car dealership's service department, talking with a caller.
|Speak in short, plain sentences; one question at a time. No lists, no markdown, no emojis: all you write is read aloud.
|Use the tools for every fact about openings, bookings and accounts; never invent a slot, a price or an appointment.
|Before booking, moving or cancelling, read the details back (service, day and time, car) and wait for a yes.
|After a tool changed something, say what was done, using the label the tool returned.
|A caller must be found (lookup_customer) or registered before their appointments can be seen or changed; a caller
whose number is not on file proves who they are with their name, postal code and one more detail.
|If the caller asks for a person, or you cannot help, say one short sentence and call transfer_to_advisor.
|When the caller is done, say goodbye and call end_call.
|Times are the shop's local time ({tz}). Dates for tools are YYYY-MM-DD; starts are the ISO values the tools gave you.
""".split("\n")
    )
    .replace(" |", "\n- ")
    .strip()
)


# Whether customers may wait at the shop (ShopProfile.customers_can_wait), as the model is told it.
_WAITING = {
    "yes": "Customers can also wait at the shop while the car is worked on (transport waiter).",
    "no": "Customers cannot wait at the shop while the car is worked on: never book transport waiter.",
    "unknown": "Whether customers can wait at the shop is not known: if asked, say a service advisor will confirm, "
    "never yes or no.",
}


def build_system_prompt(ctx: CallContext) -> str:
    """Shop facts, the caller's context and the rules (database access: call from a worker thread)."""
    from scheduling.availability import shop_tz
    from scheduling.hours import closures_between, hours_by_weekday
    from scheduling.models import ServiceType
    from scheduling.shop_facts import shop_facts

    tz = shop_tz()
    now = ctx.clock().astimezone(tz)
    parts = [RULES.format(shop=settings.SHOP_NAME, tz=settings.SHOP_TIMEZONE)]
    parts.append(f"Now: {now:%A, %B} {now.day}, {now:%Y}, {now:%H:%M} ({settings.SHOP_TIMEZONE}).")
    parts.append(f"Opening hours: {weekly_hours_sentence(hours_by_weekday())}")
    closures = closures_between(now.date(), now.date() + timedelta(days=60))
    if closures:
        listed = "; ".join(f"{day:%A %B} {day.day}" + (f" ({why})" if why else "") for day, why in closures.items())
        parts.append(f"Closed on: {listed}.")
    services = [
        f"{st.name} ({st.code}): {spoken_duration(st.duration_minutes)}"
        + (f", {spoken_price(st.price)}" if st.price is not None else "")
        for st in ServiceType.objects.filter(active=True).order_by("name")
    ]
    if services:
        parts.append("Services: " + "; ".join(services) + ".")
    parts.append(
        f"Policies: bookings from {settings.BOOKING_LEAD_MINUTES} minutes ahead up to {settings.BOOKING_HORIZON_DAYS} "
        "days ahead; the caller can drop the car off, or ask for a loaner or the shuttle (get_shop_info says which "
        f"the shop has). {_WAITING.get(shop_facts().customers_can_wait, _WAITING['unknown'])}"
    )
    parts.append(_caller(ctx, now))
    return "\n".join(p for p in parts if p)


def _caller(ctx: CallContext, now) -> str:
    from crm.models import Customer
    from scheduling.selectors import upcoming_appointments

    customer = Customer.objects.filter(pk=ctx.customer_id).first() if ctx.customer_id and ctx.verified else None
    if customer is None:
        return (
            "Caller: not identified (the number is not on file, or not verified yet). Use lookup_customer before "
            "anything about appointments."
        )
    cars = [vehicle_label(v.year, v.make, v.model) for v in customer.vehicles.order_by("-year", "id")]
    lines = [f"Caller: {customer.first_name} {customer.last_name}, a customer of the shop (already verified)."]
    if cars:
        lines.append("Their cars: " + "; ".join(c for c in cars if c) + ".")
    appointments = list(upcoming_appointments(customer=customer, now=now))
    for a in appointments:
        start = a.start.astimezone(now.tzinfo)
        services = ", ".join(st.name for st in a.service_types.all())
        lines.append(
            f"Upcoming appointment id {a.pk}: {services}, {start:%A %B} {start.day} at {start:%H:%M} ({a.status})."
        )
    if ctx.direction == "outbound" and ctx.appointment_id:
        lines.append(_reminder_brief(ctx, customer.first_name, now))
    return " ".join(lines)


def _reminder_brief(ctx: CallContext, first_name: str, now) -> str:
    """The shop called this customer about one appointment: the model's brief (the greeting already read the
    appointment out, from the same structured appointment)."""
    from calls.agent.reminder_script import openai_instructions, reminder_appointment

    appointment = reminder_appointment(ctx)
    if appointment is None:
        return (
            f"This is a reminder call the shop made about appointment id {ctx.appointment_id}, which was "
            "cancelled, moved or is over since the call was placed; you told them it has already changed. Do "
            "not confirm or change it; help with anything else they need, then end the call politely."
        )
    brief = openai_instructions(appointment, first_name=first_name, shop=settings.SHOP_NAME, now=now)
    return (
        f"{brief} Only this customer's account can be reached on this call: if the person asks about someone "
        "else's account, say they need to call the shop themselves."
    )
