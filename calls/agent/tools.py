"""The agent's tools: one registry, a JSON schema per tool, authorisation inside each tool.

Both brains (the OpenAI one and the rule policy) act on the world only through `run_tool` / `arun_tool`.
A tool never trusts the brain: a caller sees and changes only the appointments of the customer the call is
bound to (ctx.customer_id, set by caller ID, by crm.identity's checks, or by registering during the call),
whatever appointment id the brain passes. Domain refusals come back as ToolResult(ok=False, error=<a sentence
fit to read to the caller>); tool-level failures never raise.
"""

from __future__ import annotations

import json
import logging
import re
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction

from calls.agent import nlu
from calls.agent.context import CallContext
from calls.agent.phrases import (
    after_hours_sentence,
    day_hours_sentence,
    empty_period_sentence,
    grid_phrase,
    intervals_text,
    service_phrase,
    services_phrase,
    slot_label,
    spoken_day,
    spoken_duration,
    spoken_price,
    spoken_time,
    vehicle_label,
    weekly_hours_sentence,
)
from calls.agent.schema import SchemaError, check_schema, validate
from scheduling.hours import DayHours, day_hours, hours_by_weekday, next_open_day
from scheduling.offers import DEFAULT_SEARCH_DAYS, TimePreference, find_offers
from scheduling.wording import WEEKDAYS

log = logging.getLogger(__name__)

NOT_YOURS = "I can't find that appointment on your account."
NEED_ACCOUNT = (
    "I need to find your account first: your name, postal code and one more detail, or register you as a new customer."
)


class ToolError(Exception):
    """A refusal a caller may hear as is ("I can't find that appointment on your account.")."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., dict]

    def openai_spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass
class ToolResult:
    ok: bool
    result: dict[str, Any] | None = None
    error: str = ""
    duration_ms: int = 0
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_content(self) -> str:
        """The tool message content for a language model."""
        if self.ok:
            return json.dumps(self.result, cls=DjangoJSONEncoder)
        return json.dumps({"error": self.error})


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(
        self, name: str, description: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()
    ) -> Callable:
        parameters = {
            "type": "object",
            "properties": properties or {},
            "required": list(required),
            "additionalProperties": False,
        }
        check_schema(parameters)

        def decorator(fn: Callable[..., dict]) -> Callable[..., dict]:
            if name in self._tools:
                raise ValueError(f"tool {name!r} registered twice")
            self._tools[name] = Tool(name=name, description=description, parameters=parameters, fn=fn)
            return fn

        return decorator

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def openai_tools(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [t.openai_spec() for n, t in self._tools.items() if names is None or n in names]


registry = ToolRegistry()


# --- running ----------------------------------------------------------------------------------------------


def _parse_arguments(arguments: dict | str | None) -> dict:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"The arguments are not valid JSON ({exc.msg}).") from None
    if not isinstance(arguments, dict):
        raise SchemaError("The arguments must be a JSON object.")
    return arguments


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages) or "That request was refused."


def run_tool(ctx: CallContext, name: str, arguments: dict | str | None = None) -> ToolResult:
    """Validate, run and record one tool call. Never raises for a tool-level failure."""
    started = _time.perf_counter()
    raw = arguments
    args: dict = {}
    result: dict | None = None
    error = ""
    tool = registry.get(name)
    try:
        args = _parse_arguments(arguments)
        if tool is None:
            raise ToolError(f"There is no tool called {name!r}.")
        validate(args, tool.parameters)
        result = tool.fn(ctx, **args)
        # The brain gets JSON either way; make sure it is (dates, Decimals) before anyone stores or sends it.
        result = json.loads(json.dumps(result, cls=DjangoJSONEncoder))
    except (ToolError, SchemaError) as exc:
        error = str(exc)
    except ValidationError as exc:  # BookingError included: its text is written for callers
        error = _message(exc)
    except Exception:  # a bug must not drop the call: the brain apologises and hands over
        log.exception("tool %s failed (call %s)", name, ctx.call_id)
        error = "Something went wrong on our side with that request."
    duration_ms = int((_time.perf_counter() - started) * 1000)
    outcome = ToolResult(
        ok=not error,
        result=result if not error else None,
        error=error,
        duration_ms=duration_ms,
        name=name,
        arguments=args,
    )
    _record(ctx, outcome, args if args or not isinstance(raw, str) else {"_raw": raw})
    return outcome


def _record(ctx: CallContext, outcome: ToolResult, arguments: dict) -> None:
    if ctx.call_id is None:
        return
    from calls.models import ToolCall

    try:
        ToolCall.objects.create(
            call_id=ctx.call_id,
            turn_index=ctx.turn_index,
            name=outcome.name[:60],
            arguments=arguments,
            result=outcome.result,
            ok=outcome.ok,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    except DatabaseError:
        log.exception("could not record tool call %s for call %s", outcome.name, ctx.call_id)


async def arun_tool(ctx: CallContext, name: str, arguments: dict | str | None = None) -> ToolResult:
    """run_tool from async code: in a worker thread, with its database connection tidied afterwards."""
    from bartsvoice.db import in_db_thread

    return await in_db_thread(run_tool, ctx, name, arguments)


# --- helpers shared by the tools ---------------------------------------------------------------------------


def _tz():
    from scheduling.availability import shop_tz

    return shop_tz()


def _local_now(ctx: CallContext) -> datetime:
    return ctx.clock().astimezone(_tz())


def _customer(ctx: CallContext):
    from crm.models import Customer

    if ctx.customer_id is None or not ctx.verified:
        raise ToolError(NEED_ACCOUNT)
    customer = Customer.objects.filter(pk=ctx.customer_id).first()
    if customer is None:
        raise ToolError(NEED_ACCOUNT)
    return customer


def _own_appointment(ctx: CallContext, appointment_id: int, *, change: bool = False):
    """The appointment if it belongs to the bound customer; the same refusal whether it exists or not.

    A change (cancel, move, confirm) also needs the call to come from the number on the account, or the caller
    to have proved one more fact than name and postal code."""
    from crm.identity import may_change_appointments
    from scheduling.models import Appointment

    customer = _customer(ctx)
    if change and not may_change_appointments(customer, calling_number=ctx.caller_number, proof=ctx.verified_by):
        raise ToolError(NEED_EXTRA_FACT)
    appointment = (
        Appointment.objects.filter(pk=appointment_id, customer_id=customer.pk)
        .select_related("vehicle")
        .prefetch_related("service_types")
        .first()
    )
    if appointment is None:
        raise ToolError(NOT_YOURS)
    return appointment


def _own_vehicle(ctx: CallContext, vehicle_id: int):
    """The vehicle if it belongs to the bound customer; the same refusal whether it exists or not."""
    from crm.models import Vehicle

    vehicle = Vehicle.objects.filter(pk=vehicle_id, customer_id=_customer(ctx).pk).first()
    if vehicle is None:
        raise ToolError("I can't find that vehicle on your account.")
    return vehicle


def _vehicle_dict(v) -> dict:
    return {
        "id": v.pk,
        "label": vehicle_label(v.year, v.make, v.model) or "your vehicle",
        "year": v.year,
        "make": v.make,
        "model": v.model,
    }


def _customer_dict(customer) -> dict:
    return {
        "id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "vehicles": [_vehicle_dict(v) for v in customer.vehicles.order_by("-year", "id")],
    }


def _appointment_dict(appointment) -> dict:
    """What a caller may hear about their appointment: when, what, and its own car; never other cars, the
    customer's contact details or the shop's notes."""
    start = appointment.start.astimezone(_tz())
    types = list(appointment.service_types.all())
    names = [st.name for st in types]
    return {
        "id": appointment.pk,
        "start": start.isoformat(),
        "end": appointment.end.astimezone(_tz()).isoformat(),
        "label": slot_label(start),
        "services": names,
        "service_codes": [st.code for st in types],
        "services_spoken": services_phrase(names),
        "vehicle": vehicle_label(appointment.vehicle.year, appointment.vehicle.make, appointment.vehicle.model)
        if appointment.vehicle_id
        else None,
        "vehicle_id": appointment.vehicle_id,  # the appointment's own car: rebooking it keeps the car
        "status": appointment.status,
        "transport": appointment.transport,
    }


def _short(start: datetime) -> str:
    local = start.astimezone(_tz())
    return f"{local:%a %b} {local.day} {spoken_time(local)}"


def _resolve_services(names: list[str]) -> list:
    """Codes, names or caller phrases -> active ServiceType rows; a clear refusal for anything unknown."""
    from scheduling.models import ServiceType
    from scheduling.selectors import find_service_types

    found: list = []
    for raw in names:
        text = (raw or "").strip()
        st = (
            ServiceType.objects.filter(active=True, code__iexact=text).first()
            or ServiceType.objects.filter(active=True, name__iexact=text).first()
        )
        if st is None:
            matches = find_service_types(text) or nlu.match_services(text)
            st = matches[0] if matches else None
        if st is None:
            raise ToolError(f"We don't have a service called “{text}”.")
        if st.pk not in {f.pk for f in found}:
            found.append(st)
    return found


def _parse_start(value: str) -> datetime:
    start = datetime.fromisoformat(value)
    if start.tzinfo is None:
        start = start.replace(tzinfo=_tz())  # a wall time at the shop
    return start


def _bind_call_customer(ctx: CallContext, customer, *, proof: str) -> None:
    ctx.customer_id = customer.pk
    ctx.customer_name = customer.first_name
    ctx.verified = True
    ctx.verified_by = proof
    if ctx.call_id is not None:
        from calls.services import bind_customer

        bind_customer(call_id=ctx.call_id, customer_id=customer.pk)


def _link_call_appointment(ctx: CallContext, appointment_id: int) -> None:
    """The call log shows which appointment a call was about (the first one it touched)."""
    if ctx.call_id is not None:
        from calls.models import Call

        Call.objects.filter(pk=ctx.call_id, appointment__isnull=True).update(appointment_id=appointment_id)


def _text_customer(ctx: CallContext, kind: str, appointment_id: int) -> None:
    """The details by text after a call booked, moved or cancelled an appointment (calls.texts decides whether)."""
    if ctx.call_id is not None:
        from calls.texts import confirmation_text

        confirmation_text(kind, appointment_id, call_id=ctx.call_id)


# --- identity ----------------------------------------------------------------------------------------------

LOCKED_OUT = "I can't verify your account over the phone right now; a service advisor can help with that."
SHOP_CALLED = (
    "On a call from the shop I can only help with the account we called about; for another account, "
    "please call the shop."
)
NEED_EXTRA_FACT = (
    "Before I change an appointment I need to check one more detail: the make of a car on your "
    "account, or the day of the appointment."
)


@registry.register(
    "lookup_customer",
    "Find the caller's customer account. Without arguments: the account matching the caller ID (or the one "
    "already bound to this call). From a number that is not on file, verify the caller with first_name, "
    "last_name and postal_code PLUS one fact only the customer knows: vehicle_make (the make of a car on the "
    "account) or appointment_date (the day of one of their upcoming appointments, YYYY-MM-DD). With name and "
    "postal code alone the answer is needs='extra_fact': ask the caller for one of those. Failed attempts are "
    "limited per caller and per name, and wrong facts for one name and postal code far more strictly. On success "
    "the call is bound to that customer, which is required before "
    "appointments can be listed, booked, moved or cancelled.",
    {
        "first_name": {"type": "string", "maxLength": 80},
        "last_name": {"type": "string", "maxLength": 80},
        "postal_code": {"type": "string", "maxLength": 12, "description": "The postal/ZIP code on the account."},
        "vehicle_make": {"type": "string", "maxLength": 60, "description": "Make of a car on the account."},
        "appointment_date": {
            "type": "string",
            "format": "date",
            "description": "The day of one of the caller's upcoming appointments.",
        },
        "appointment_dates": {
            "type": "array",
            "items": {"type": "string", "format": "date"},
            "maxItems": 14,
            "description": "Every day the caller named when asked for their appointment's day, if more than "
            "one: that counts as one wrong answer, whichever days they are.",
        },
        "appointment_weekday": {
            "type": "string",
            "enum": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
            "description": "The weekday of one of their upcoming appointments, when they named only the weekday "
            '("it\'s on Saturday"), not which week.',
        },
    },
)
def lookup_customer(
    ctx: CallContext,
    first_name: str = "",
    last_name: str = "",
    postal_code: str = "",
    vehicle_make: str = "",
    appointment_date: str | None = None,
    appointment_dates: list[str] | None = None,
    appointment_weekday: str = "",
) -> dict:
    from crm import identity
    from crm.models import Customer
    from crm.services import find_customer_by_phone

    if (
        not (first_name or last_name or postal_code or vehicle_make or appointment_date or appointment_dates)
        and not appointment_weekday
    ):
        if ctx.customer_id is not None and ctx.verified:
            customer = Customer.objects.filter(pk=ctx.customer_id).first()
            if customer is not None:
                return {"found": True, "how": "already_bound", "customer": _customer_dict(customer)}
        cached = find_customer_by_phone(ctx.caller_number) if ctx.caller_number else None
        customer = Customer.objects.filter(pk=cached.pk).first() if cached is not None else None
        if customer is None:
            return {
                "found": False,
                "how": "caller_id",
                "message": "This phone number is not on file. Ask for name, postal code and one more detail "
                "(a car make or the appointment day), or register.",
            }
        _bind_call_customer(ctx, customer, proof="caller_id")
        return {"found": True, "how": "caller_id", "customer": _customer_dict(customer)}

    if ctx.direction == "outbound":
        # The shop dialled this number about its own customer: whoever answers reaches that account only, however
        # well they know someone else's details.
        raise ToolError(SHOP_CALLED)
    if not (first_name.strip() and last_name.strip() and postal_code.strip()):
        raise ToolError("To find your account I need your first and last name and the postal code on file.")
    claim = identity.Claim(
        first_name=first_name,
        last_name=last_name,
        postal_code=postal_code,
        vehicle_make=vehicle_make,
        appointment_day=date.fromisoformat(appointment_date) if appointment_date else None,
        days_said=tuple(date.fromisoformat(d) for d in appointment_dates or ()),
        appointment_weekday=[d.lower() for d in WEEKDAYS].index(appointment_weekday) if appointment_weekday else None,
    )
    verdict = identity.verify_caller(claim, calling_number=ctx.caller_number, now=ctx.clock())
    if verdict.status in (identity.Status.LOCKED, identity.Status.UNAVAILABLE):
        ctx.note(
            "phone verification refused: too many failed attempts"
            if verdict.status == identity.Status.LOCKED
            else "phone verification unavailable"
        )
        raise ToolError(LOCKED_OUT)
    if verdict.status == identity.Status.NEED_MORE:
        return {
            "found": False,
            "how": "postal_code",
            "needs": "extra_fact",
            "message": "Ask for one more detail: the make of a car on the account, or the day of the "
            "caller's appointment.",
        }
    if not verdict.verified:
        if verdict.locked_now:
            ctx.note("phone verification locked after repeated failed attempts")
        return {"found": False, "how": "postal_code", "message": "No single account matches those details."}
    _bind_call_customer(ctx, verdict.customer, proof=verdict.proof)
    ctx.note(f"verified {verdict.customer.full_name} by postal code and {verdict.proof.replace('_', ' ')}")
    return {"found": True, "how": "postal_code", "customer": _customer_dict(verdict.customer)}


@registry.register(
    "register_customer",
    "Create a customer account for a new caller, with this call's caller ID as the phone number, and their "
    "vehicle when given. Use it when lookup_customer found nobody and the caller wants to book.",
    {
        "first_name": {"type": "string", "minLength": 1, "maxLength": 80},
        "last_name": {"type": "string", "maxLength": 80},
        "postal_code": {"type": "string", "maxLength": 12},
        "vehicle_year": {"type": "integer", "minimum": 1950, "maximum": 2100},
        "vehicle_make": {"type": "string", "maxLength": 60},
        "vehicle_model": {"type": "string", "maxLength": 60},
        "vin": {"type": "string", "maxLength": 30},
        "email": {"type": "string", "maxLength": 254},
    },
    required=("first_name",),
)
def register_customer(
    ctx: CallContext,
    first_name: str,
    last_name: str = "",
    postal_code: str = "",
    vehicle_year: int | None = None,
    vehicle_make: str = "",
    vehicle_model: str = "",
    vin: str = "",
    email: str = "",
) -> dict:
    from crm import services as crm_services
    from crm.phones import try_normalize_phone

    if ctx.customer_id is not None:
        raise ToolError("You already have an account with us, so there's no need to register again.")
    if not try_normalize_phone(ctx.caller_number or ""):
        raise ToolError("I can't set up an account without the phone number you're calling from.")
    with transaction.atomic():
        customer = crm_services.register_customer(
            first_name=first_name,
            last_name=last_name,
            phone=ctx.caller_number,
            postal_code=postal_code.strip(),
            email=email,
        )
        vehicle = None
        if vehicle_make or vehicle_model or vin:
            vehicle = crm_services.add_vehicle(
                customer=customer, year=vehicle_year, make=vehicle_make, model=vehicle_model, vin=vin
            )
    crm_services.invalidate_customer_phone(customer.phone)  # the cached "unknown number" is stale now
    _bind_call_customer(ctx, customer, proof="registered")
    ctx.note(f"registered new customer {customer.full_name}")
    return {"customer": _customer_dict(customer), "vehicle": _vehicle_dict(vehicle) if vehicle else None}


@registry.register(
    "update_customer_details",
    "The bound caller gives their email address, or puts right the name on an account made on this call "
    '("it\'s Katherine with a K"). Names on older accounts are changed by an advisor.',
    {
        "first_name": {"type": "string", "minLength": 1, "maxLength": 80},
        "last_name": {"type": "string", "maxLength": 80},
        "email": {"type": "string", "maxLength": 254},
    },
)
def update_customer_details(
    ctx: CallContext, first_name: str | None = None, last_name: str | None = None, email: str | None = None
) -> dict:
    from crm import services as crm_services

    customer = _customer(ctx)
    if (first_name is not None or last_name is not None) and ctx.verified_by != "registered":
        raise ToolError("A service advisor can change the name on your account.")
    customer = crm_services.update_contact_details(
        customer=customer, first_name=first_name, last_name=last_name, email=email
    )
    crm_services.invalidate_customer_phone(customer.phone)
    if first_name is not None:
        ctx.customer_name = customer.first_name
    ctx.note(f"customer details updated: {customer.full_name}{', ' + customer.email if email else ''}")
    return {"customer": _customer_dict(customer)}


# --- shop information --------------------------------------------------------------------------------------


def _day_hours_dict(info: DayHours) -> dict:
    return {
        "date": info.day.isoformat(),
        "label": spoken_day(info.day),
        "open": info.open,
        "intervals": [[f"{o:%H:%M}", f"{c:%H:%M}"] for o, c in info.intervals],
        "hours": intervals_text(info.intervals),  # "7:00 AM to 6:00 PM"
        "closure_reason": info.closure_reason or "",
        "sentence": day_hours_sentence(info),
    }


@registry.register(
    "get_business_hours",
    "The shop's weekly opening hours, and for a given date whether and when it is open (closures included).",
    {"date": {"type": "string", "format": "date", "description": "YYYY-MM-DD, optional."}},
)
def get_business_hours(ctx: CallContext, date: str | None = None) -> dict:
    hours = hours_by_weekday()
    result = {
        "weekly": [
            {"weekday": WEEKDAYS[d], "intervals": [[f"{o:%H:%M}", f"{c:%H:%M}"] for o, c in hours.get(d, [])]}
            for d in range(7)
        ],
        "summary": weekly_hours_sentence(hours),
    }
    if date:
        info = day_hours(datetime.fromisoformat(date).date(), hours)
        result["day"] = _day_hours_dict(info)
        now = _local_now(ctx)
        if info.day == now.date() and info.open and now.time() >= info.intervals[-1][1]:
            # today, asked after closing: what matters now is when the shop opens next
            result["day"]["closed_now"] = True
            result["day"]["sentence"] = after_hours_sentence(next_open_day(info.day, hours), info.day)
        if not info.open:
            again = next_open_day(info.day, hours)
            result["next_open"] = _day_hours_dict(again) if again else None
    ctx.set_outcome("info")
    return result


@registry.register(
    "get_shop_info",
    "Where the shop is (address, how to find the service entrance), its phone number (`phone_spoken`: read it out "
    "as given, in its groups), whether it offers loaner cars or a shuttle, whether customers can wait at the shop "
    "while the car is worked on (`customers_can_wait`: yes, no or unknown) and where (`waiting_area`), and what "
    "to bring (`what_to_bring`), as the shop entered them. Empty, false or unknown: the shop has not said; never "
    "guess: tell the caller a service advisor will confirm.",
)
def get_shop_info(ctx: CallContext) -> dict:
    from crm.phones import spoken_phone
    from scheduling.shop_facts import shop_facts, shop_phone

    facts = shop_facts()
    phone = shop_phone()
    ctx.set_outcome("info")
    return {
        "phone": phone,
        "phone_spoken": spoken_phone(phone) if phone else "",
        "address": facts.address,
        "directions": facts.directions,
        "loaner_cars": facts.loaner_cars,
        "loaner_terms": facts.loaner_terms,
        "shuttle": facts.shuttle,
        "shuttle_area": facts.shuttle_area,
        "customers_can_wait": facts.customers_can_wait,
        "waiting_area": facts.waiting_area,
        "what_to_bring": facts.what_to_bring,
    }


def service_sentence(st) -> str:
    phrase = service_phrase(st.name)
    sentence = f"{phrase[0].upper()}{phrase[1:]} takes about {spoken_duration(st.duration_minutes)}"
    price = spoken_price(st.price)
    quote = "; the price depends on the car, and a service advisor can give you a quote."
    sentence += f" and costs {price}." if price else quote
    return sentence


@registry.register(
    "get_services",
    "The services the shop offers, with code, duration and price. Pass `query` (caller's words, e.g. "
    "'my brakes squeak') or `codes` to get only those.",
    {
        "query": {"type": "string", "maxLength": 200},
        "codes": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
    },
)
def get_services(ctx: CallContext, query: str = "", codes: list[str] | None = None) -> dict:
    from scheduling.models import ServiceType

    if codes:
        by_code = {st.code: st for st in ServiceType.objects.filter(active=True, code__in=codes)}
        items = [by_code[c] for c in codes if c in by_code]
    elif query.strip():
        items = nlu.match_services(query)
    else:
        items = list(ServiceType.objects.filter(active=True))
    ctx.set_outcome("info")
    return {
        "services": [
            {
                "code": st.code,
                "name": st.name,
                "duration_minutes": st.duration_minutes,
                "price": str(st.price) if st.price is not None else None,
                "description": st.description,
                "sentence": service_sentence(st),
            }
            for st in items
        ]
    }


# --- availability ------------------------------------------------------------------------------------------


def _parse_time_preference(value: str | None) -> TimePreference:
    text = (value or "").strip().lower()
    if not text or text in ("any", "anytime", "any time", "none"):
        return TimePreference()
    if text in ("earliest", "latest", "soonest"):
        return TimePreference(mode=text)
    window_mode = re.fullmatch(r"(\d\d?:\d\d)\s*-\s*(\d\d?:\d\d)\s+(earliest|latest|soonest)", text)
    if window_mode:  # "07:00-12:00 earliest": the first opening within the window ("soonest": its first openings)
        start, end, mode = window_mode.groups()
        try:
            return TimePreference(start=dtime.fromisoformat(start), end=dtime.fromisoformat(end), mode=mode)
        except ValueError:
            pass
    try:
        if "-" in text:
            a, b = (part.strip() for part in text.split("-", 1))
            return TimePreference(start=dtime.fromisoformat(a), end=dtime.fromisoformat(b))
        return TimePreference(exact=dtime.fromisoformat(text))
    except ValueError:
        pass
    spoken = nlu.parse_time(text, bare_ok=True)
    if spoken is None:
        raise ToolError(f"I couldn't understand the time “{value}”.")
    if spoken.exact:
        return TimePreference(exact=spoken.exact)
    mode = "earliest" if spoken.earliest else ("latest" if spoken.latest else "")
    return TimePreference(start=spoken.start, end=spoken.end, mode=mode)


def _slot_dict(s: datetime) -> dict:
    return {
        "start": s.isoformat(),
        "label": slot_label(s),
        "date": s.date().isoformat(),
        "time": f"{s:%H:%M}",
        "day_label": spoken_day(s),
        "time_label": spoken_time(s),
    }


@registry.register(
    "get_available_slots",
    "Bookable start times for the given services. Give the period as date_from/date_to (YYYY-MM-DD; date_to "
    "defaults to date_from), as a list of dates, or as the caller's words in day_phrase ('next Tuesday', 'this "
    "week'); with none of them the next two weeks are searched. time_preference: 'HH:MM' (nearest times "
    "first), 'HH:MM-HH:MM' (a window), 'earliest', 'latest', 'soonest', a window and one of those ('07:00-12:00 "
    "earliest': the first opening in the morning; '07:00-12:00 soonest': its first openings), or the caller's words "
    "('after 2 pm'). "
    "Returns slots best match first, each with ISO start and a spoken label; matched_preference is false when "
    "nothing fits the preference and the slots are the nearest alternatives; off_grid is true when the exact "
    "time asked for is not a start time we use (grid says which are, e.g. 'on the hour and half hour'). "
    "Offer the caller 2 or 3.",
    {
        "services": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "maxItems": 5,
            "description": "Service codes or names.",
        },
        "date_from": {"type": "string", "format": "date"},
        "date_to": {"type": "string", "format": "date"},
        "dates": {"type": "array", "items": {"type": "string", "format": "date"}, "maxItems": 14},
        "day_phrase": {"type": "string", "maxLength": 100},
        "time_preference": {"type": "string", "maxLength": 60},
        "exclude_appointment_id": {
            "type": "integer",
            "minimum": 1,
            "description": "When rescheduling: the appointment being moved.",
        },
        "vehicle_id": {
            "type": "integer",
            "minimum": 1,
            "description": "The caller's car: times when it is already booked are left out.",
        },
        "exclude_weekdays": {
            "type": "array",
            "maxItems": 6,
            "description": "Weekdays the caller ruled out ('any day but Monday'): never offered.",
            "items": {"type": "string", "enum": [w.lower() for w in WEEKDAYS]},
        },
        "exclude_dates": {
            "type": "array",
            "items": {"type": "string", "format": "date"},
            "maxItems": 14,
            "description": "Dates the caller ruled out ('not the 7th').",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": 8},
        "alongside": {
            "type": "array",
            "maxItems": 4,
            "description": "Visits being booked in this same call and not booked yet (another of the caller's "
            "cars, or another of its appointments moved with it): each takes a bay at its start for its services' "
            "duration; one with the same vehicle_id as asked for also keeps that car busy then.",
            "items": {
                "type": "object",
                "properties": {
                    "start": {"type": "string", "format": "date-time"},
                    "services": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
                    "vehicle_id": {"type": "integer", "minimum": 1},
                },
                "required": ["start", "services"],
                "additionalProperties": False,
            },
        },
    },
    required=("services",),
)
def get_available_slots(
    ctx: CallContext,
    services: list[str],
    date_from: str | None = None,
    date_to: str | None = None,
    dates: list[str] | None = None,
    day_phrase: str | None = None,
    time_preference: str | None = None,
    exclude_appointment_id: int | None = None,
    vehicle_id: int | None = None,
    limit: int = 5,
    exclude_weekdays: list[str] | None = None,
    exclude_dates: list[str] | None = None,
    alongside: list[dict] | None = None,
) -> dict:
    from scheduling.availability import total_duration

    types = _resolve_services(services)
    held, car_held = [], []
    for visit in alongside or []:
        begins = _parse_start(visit["start"])
        held.append((begins, begins + total_duration(_resolve_services(visit["services"]))))
        if vehicle_id is not None and visit.get("vehicle_id") == vehicle_id:
            car_held.append(held[-1])  # the same car: it can't be in two bays at once
    now = _local_now(ctx)
    today = now.date()
    pref = _parse_time_preference(time_preference)
    wanted: set[date] | None = None
    if exclude_appointment_id is not None:
        _own_appointment(ctx, exclude_appointment_id)
    if vehicle_id is not None:
        _own_vehicle(ctx, vehicle_id)
    if day_phrase:
        parsed = nlu.parse_date(day_phrase, now, named_days=nlu.closure_days(today))
        if parsed is None:
            raise ToolError(f"I couldn't understand the day “{day_phrase}”.")
        start, end = parsed.start, parsed.end
        wanted = set(parsed.days) or None
        if parsed.soonest and not pref.given:
            pref = TimePreference(mode="soonest")
    elif dates:
        days = sorted(date.fromisoformat(d) for d in dates)
        start, end, wanted = days[0], days[-1], set(days)
    elif date_from:
        start = date.fromisoformat(date_from)
        end = date.fromisoformat(date_to) if date_to else start
    else:
        start, end = today, today + timedelta(days=DEFAULT_SEARCH_DAYS - 1)
        if not pref.given:
            pref = TimePreference(mode="soonest")
    try:
        offers = find_offers(
            service_types=types,
            start=start,
            end=end,
            now=ctx.clock(),
            pref=pref,
            limit=limit,
            wanted=wanted,
            exclude_appointment_id=exclude_appointment_id,
            vehicle_id=vehicle_id,
            avoid_weekdays=frozenset(_weekday_numbers(exclude_weekdays or [])),
            avoid_days=frozenset(date.fromisoformat(d) for d in exclude_dates or []),
            held=held,
            car_held=car_held,
        )
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    grid = grid_phrase(offers.grid) if offers.grid else ""
    return {
        "services": [st.name for st in types],
        "service_codes": [st.code for st in types],
        "duration_minutes": int(total_duration(types).total_seconds() // 60),
        "searched": {
            "from": offers.start.isoformat(),
            "to": offers.end.isoformat(),
            "time_preference": time_preference or "",
        },
        "matched_preference": offers.matched,
        "off_grid": bool(grid),  # the exact time asked for is never a start time; `grid` says which are
        "grid": grid,
        "beyond_period": offers.beyond_period,
        # why the period had nothing (null when it had openings): past, closed, today_full, full, none_in_period
        "empty": {
            "reason": offers.empty.reason,
            "date": offers.empty.day.isoformat() if offers.empty.day else None,
            "sentence": empty_period_sentence(offers.empty),
        }
        if offers.empty
        else None,
        # the window asked for is outside opening hours: when we close (open); the slots are the latest (earliest)
        "closes_at": f"{offers.closes_at:%H:%M}" if offers.closes_at else None,
        "opens_at": f"{offers.opens_at:%H:%M}" if offers.opens_at else None,
        "note": _offers_note(offers, grid),
        "slots": [_slot_dict(s) for s in offers.slots],
    }


def _weekday_numbers(names: list[str]) -> list[int]:
    lowered = [w.lower() for w in WEEKDAYS]
    return [lowered.index(n.lower()) for n in names if n.lower() in lowered]


def _offers_note(offers, grid: str) -> str:
    """One sentence on what the slots are, for a brain that phrases its own reply."""
    if offers.empty is not None:
        note = empty_period_sentence(offers.empty)
        return f"{note} These are the next openings after that." if offers.slots else note
    if grid:
        return f"We book {grid}; these are the nearest times."
    if offers.unavailable_exact:
        return f"{spoken_time(offers.unavailable_exact)} isn't available; these are the nearest times."
    if offers.closes_at:
        return f"We close at {spoken_time(offers.closes_at)}; these are the latest times."
    if offers.opens_at:
        return f"We open at {spoken_time(offers.opens_at)}; these are the earliest times."
    if offers.window_missed:
        return "Nothing fits that time of day; these are the nearest times."
    return ""


# --- appointments ------------------------------------------------------------------------------------------


@registry.register(
    "book_appointment",
    "Book an appointment for the bound customer (lookup_customer or register_customer first). `start` is the "
    "ISO start of a slot from get_available_slots. Read the details back and get the caller's yes first.",
    {
        "services": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 5},
        "start": {"type": "string", "format": "date-time"},
        "vehicle_id": {"type": "integer", "minimum": 1, "description": "One of the customer's vehicles."},
        "transport": {"type": "string", "enum": ["drop_off", "waiter", "loaner", "shuttle"]},
        "notes": {"type": "string", "maxLength": 500, "description": "What the caller said about the problem."},
    },
    required=("services", "start"),
)
def book_appointment(
    ctx: CallContext,
    services: list[str],
    start: str,
    vehicle_id: int | None = None,
    transport: str = "drop_off",
    notes: str = "",
) -> dict:
    from scheduling import services as booking
    from scheduling.models import Appointment

    customer = _customer(ctx)
    types = _resolve_services(services)
    if vehicle_id is not None:
        vehicle = _own_vehicle(ctx, vehicle_id)
    else:
        vehicles = list(customer.vehicles.all()[:2])
        vehicle = vehicles[0] if len(vehicles) == 1 else None
    appointment = booking.book_appointment(
        customer=customer,
        service_types=types,
        start=_parse_start(start),
        vehicle=vehicle,
        transport=transport,
        notes=notes,
        source=Appointment.Source.PHONE,
        chosen_by_customer=True,
        now=ctx.clock(),
    )
    ctx.set_outcome("booked")
    ctx.note(f"booked {', '.join(st.name.lower() for st in types)} {_short(appointment.start)}")
    _link_call_appointment(ctx, appointment.pk)
    _text_customer(ctx, "booked", appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "get_todays_visits",
    "The bound customer's appointments today (is my car ready?): each with its status (completed: the work is done) "
    "and whether it has started.",
)
def get_todays_visits(ctx: CallContext) -> dict:
    from scheduling.selectors import visits_on_day

    customer = _customer(ctx)
    now = _local_now(ctx)
    visits = []
    for a in visits_on_day(customer=customer, day=now.date(), tz=_tz()):
        visit = _appointment_dict(a)
        visit["started"] = a.start <= now
        visits.append(visit)
    ctx.set_outcome("info")
    return {"visits": visits}


@registry.register(
    "note_for_advisor",
    "Leave a service advisor a note to call the caller back about something these tools cannot answer (a quote, "
    "a recall, whether the car is ready): it shows in the staff's call-back list with this call.",
    {"note": {"type": "string", "minLength": 1, "maxLength": 200}},
    required=("note",),
)
def note_for_advisor(ctx: CallContext, note: str) -> dict:
    from calls.models import Call

    if ctx.call_id is not None:
        Call.objects.filter(pk=ctx.call_id).update(callback_requested=True)
    ctx.note(f"for an advisor: {note.strip()[:200]}")
    return {"callback_requested": True}


@registry.register(
    "get_upcoming_appointments",
    "The bound customer's upcoming appointments (scheduled or confirmed), soonest first.",
)
def get_upcoming_appointments(ctx: CallContext) -> dict:
    from scheduling.selectors import reminded_appointment, upcoming_appointments

    customer = _customer(ctx)
    now = ctx.clock()
    appointments = list(upcoming_appointments(customer=customer, now=now))
    if ctx.direction == "outbound" and all(a.pk != ctx.appointment_id for a in appointments):
        # A reminder call: the appointment it is about is listed while it is upcoming, even past the first ten (a
        # fleet's many bookings); calls.agent.reminder_script.reminded_appointment finds it in the list.
        reminded = reminded_appointment(appointment_id=ctx.appointment_id, customer=customer, now=now)
        if reminded is not None:
            appointments.append(reminded)
    ctx.set_outcome("info")
    return {"appointments": [_appointment_dict(a) for a in appointments]}


@registry.register(
    "cancel_appointment",
    "Cancel one of the bound customer's appointments (id from get_upcoming_appointments), after the caller "
    "confirmed which one.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "reason": {"type": "string", "maxLength": 200},
    },
    required=("appointment_id",),
)
def cancel_appointment(ctx: CallContext, appointment_id: int, reason: str = "") -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    appointment = booking.cancel_appointment(
        appointment=appointment, reason=reason or "cancelled by the caller on the phone", now=ctx.clock()
    )
    ctx.set_outcome("cancelled")
    ctx.note(f"cancelled {_short(appointment.start)} appointment")
    ctx.cancelled_in_call.append(appointment.pk)
    _link_call_appointment(ctx, appointment.pk)
    _text_customer(ctx, "cancelled", appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "restore_appointment",
    "Undo a cancellation made earlier in this same call (the caller changed their mind): the appointment is "
    "scheduled again at its own time. Only appointments this call cancelled can be restored.",
    {"appointment_id": {"type": "integer", "minimum": 1}},
    required=("appointment_id",),
)
def restore_appointment(ctx: CallContext, appointment_id: int) -> dict:
    from scheduling import services as booking

    if appointment_id not in ctx.cancelled_in_call:
        raise ToolError("I can only undo a cancellation made on this call.")
    appointment = _own_appointment(ctx, appointment_id, change=True)
    appointment = booking.restore_cancelled_appointment(appointment=appointment, now=ctx.clock())
    ctx.cancelled_in_call.remove(appointment.pk)
    if ctx.outcome == "cancelled" and not ctx.cancelled_in_call:
        ctx.outcome = "info"  # nothing stays cancelled: the call changed nothing after all
    ctx.note(f"cancellation of {_short(appointment.start)} appointment undone")
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "reschedule_appointment",
    "Move one of the bound customer's appointments to a new start (ISO, from get_available_slots with "
    "exclude_appointment_id), after the caller confirmed.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "new_start": {"type": "string", "format": "date-time"},
    },
    required=("appointment_id", "new_start"),
)
def reschedule_appointment(ctx: CallContext, appointment_id: int, new_start: str) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    old_start = appointment.start
    appointment = booking.reschedule_appointment(
        appointment=appointment, start=_parse_start(new_start), chosen_by_customer=True, now=ctx.clock()
    )
    ctx.set_outcome("rescheduled")
    ctx.note(f"moved appointment {_short(old_start)} -> {_short(appointment.start)}")
    _link_call_appointment(ctx, appointment.pk)
    _text_customer(ctx, "rescheduled", appointment.pk)
    result = _appointment_dict(appointment)
    result["previous_label"] = slot_label(old_start.astimezone(_tz()))
    return {"appointment": result}


@registry.register(
    "confirm_appointment",
    "Mark one of the bound customer's appointments as confirmed (the caller says they will come).",
    {"appointment_id": {"type": "integer", "minimum": 1}},
    required=("appointment_id",),
)
def confirm_appointment(ctx: CallContext, appointment_id: int) -> dict:
    from scheduling import services as booking
    from scheduling.models import Appointment

    appointment = _own_appointment(ctx, appointment_id, change=True)
    if appointment.status != Appointment.Status.CONFIRMED:
        appointment = booking.set_appointment_status(
            appointment=appointment, status=Appointment.Status.CONFIRMED, now=ctx.clock()
        )
    ctx.set_outcome("confirmed")
    ctx.note(f"confirmed {_short(appointment.start)} appointment")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "add_appointment_note",
    "Leave a note for the service advisors on one of the bound customer's appointments: what the customer said "
    'that changes nothing yet but matters ("can\'t make it, will call back to rebook"). Nothing else changes.',
    {"appointment_id": {"type": "integer", "minimum": 1}, "note": {"type": "string", "minLength": 3, "maxLength": 300}},
    required=("appointment_id", "note"),
)
def add_appointment_note(ctx: CallContext, appointment_id: int, note: str) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id)
    when = "Reminder call" if ctx.direction == "outbound" else "Phone call"
    appointment = booking.add_appointment_note(appointment=appointment, note=f"{when}: {note.strip()}")
    ctx.note(note.strip()[:120])
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment), "noted": True}


@registry.register(
    "set_appointment_transport",
    "How the bound customer gets by while the car is in, on one of their appointments, as they asked: 'loaner' "
    "reserves a loaner car (\"can I get a loaner?\"; refused when the shop has none), 'drop_off' when they give "
    "one back (\"I won't need the loaner\"), 'waiter' or 'shuttle'. A note for the advisors goes with it.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "transport": {"type": "string", "enum": ["loaner", "drop_off", "waiter", "shuttle"]},
    },
    required=("appointment_id", "transport"),
)
def set_appointment_transport(ctx: CallContext, appointment_id: int, transport: str) -> dict:
    from scheduling import services as booking
    from scheduling.models import Appointment

    appointment = _own_appointment(ctx, appointment_id, change=True)
    before = appointment.get_transport_display().lower()
    label = Appointment.Transport(transport).label.lower()
    note = f"{'Phone' if ctx.direction == 'inbound' else 'Reminder'} call: transport now {label} (was {before})."
    if transport == appointment.transport:
        return {"appointment": _appointment_dict(appointment), "changed": False}
    appointment = booking.change_transport(appointment=appointment, transport=transport, note=note)
    ctx.note(f"transport on {_short(appointment.start)} appointment now {label} (was {before})")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment), "changed": True}


@registry.register(
    "add_services_to_appointment",
    "Add services to one of the bound customer's appointments (\"and an oil change while it's there\"), after the "
    "caller asked; refused when the longer visit no longer fits the day.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "services": {"type": "array", "items": {"type": "string", "maxLength": 80}, "minItems": 1, "maxItems": 5},
    },
    required=("appointment_id", "services"),
)
def add_services_to_appointment(ctx: CallContext, appointment_id: int, services: list[str]) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    current = list(appointment.service_types.all())
    added = [st for st in _resolve_services(services) if st.pk not in {c.pk for c in current}]
    if added:
        appointment = booking.update_appointment(
            appointment=appointment, service_types=[*current, *added], now=ctx.clock()
        )
        ctx.note(f"added {', '.join(st.name.lower() for st in added)} to {_short(appointment.start)} appointment")
        _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment), "added": [st.name for st in added]}


@registry.register(
    "swap_appointment_services",
    "Replace services on one of the bound customer's appointments (\"a tire rotation instead of the brake "
    'inspection, same time"), after the caller confirmed the read-back; the time stays, refused when the new '
    "visit no longer fits the day.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "remove": {"type": "array", "items": {"type": "string", "maxLength": 80}, "minItems": 1, "maxItems": 5},
        "add": {"type": "array", "items": {"type": "string", "maxLength": 80}, "minItems": 1, "maxItems": 5},
    },
    required=("appointment_id", "remove", "add"),
)
def swap_appointment_services(ctx: CallContext, appointment_id: int, remove: list[str], add: list[str]) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    gone = {st.pk for st in _resolve_services(remove)}
    kept = [st for st in appointment.service_types.all() if st.pk not in gone]
    new = [st for st in _resolve_services(add) if st.pk not in {k.pk for k in kept}]
    if not kept and not new:
        raise ToolError("An appointment needs at least one service.")
    appointment = booking.update_appointment(appointment=appointment, service_types=[*kept, *new], now=ctx.clock())
    ctx.note(
        f"services on {_short(appointment.start)} appointment now "
        f"{', '.join(st.name.lower() for st in appointment.service_types.all())}"
    )
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


def _services_on(appointment, names: list[str]) -> list:
    """Of the appointment's own services, those named by code, name or the caller's words (a service the shop has
    since stopped offering included: it is on the appointment)."""
    current = list(appointment.service_types.all())
    found: list = []
    for raw in names:
        text = (raw or "").strip().lower()
        hits = [st for st in current if text in (st.code.lower(), st.name.lower())]
        if not hits:
            said = {st.pk for st in nlu.match_services(text)}
            hits = [st for st in current if st.pk in said]
        found += [st for st in hits if st not in found]
    return found


@registry.register(
    "remove_services_from_appointment",
    "Take services off one of the bound customer's appointments (\"skip the tire rotation and just do the oil "
    'change", "drop the alignment"), after reading back what remains and getting the caller\'s yes; the start '
    "stays and the visit ends sooner. Taking off every service is refused: ask the caller whether to cancel the "
    "appointment instead (cancel_appointment), never leave it empty.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "services": {"type": "array", "items": {"type": "string", "maxLength": 80}, "minItems": 1, "maxItems": 5},
    },
    required=("appointment_id", "services"),
)
def remove_services_from_appointment(ctx: CallContext, appointment_id: int, services: list[str]) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    gone = _services_on(appointment, services)
    if not gone:
        on_it = services_phrase([st.name for st in appointment.service_types.all()], article=False)
        raise ToolError(f"That isn't on this appointment; it's for {on_it}.")
    appointment = booking.remove_services(
        appointment=appointment, customer=_customer(ctx), service_types=gone, now=ctx.clock()
    )
    ctx.note(f"took {', '.join(st.name.lower() for st in gone)} off {_short(appointment.start)} appointment")
    _link_call_appointment(ctx, appointment.pk)
    result = _appointment_dict(appointment)
    return {"appointment": result, "removed": [st.name for st in gone], "remaining": result["services"]}


@registry.register(
    "change_appointment_vehicle",
    "Put another of the bound customer's cars on one of their appointments (\"it's the Camry that needs it, not "
    'the RAV4"), after the caller confirmed the read-back.',
    {"appointment_id": {"type": "integer", "minimum": 1}, "vehicle_id": {"type": "integer", "minimum": 1}},
    required=("appointment_id", "vehicle_id"),
)
def change_appointment_vehicle(ctx: CallContext, appointment_id: int, vehicle_id: int) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id, change=True)
    vehicle = _own_vehicle(ctx, vehicle_id)
    appointment = booking.update_appointment(appointment=appointment, vehicle=vehicle, now=ctx.clock())
    ctx.note(f"car on {_short(appointment.start)} appointment now {vehicle}")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "stop_calls",
    "The bound customer asks not to be called again (reminder calls included): put them on the do-not-call list.",
)
def stop_calls(ctx: CallContext) -> dict:
    from crm.services import set_do_not_call

    customer = _customer(ctx)
    set_do_not_call(customer, True)
    ctx.note("asked not to be called again: do-not-call set")
    return {"do_not_call": True}


@registry.register(
    "request_call_back",
    "The customer cannot talk now and asks to be called back: staff see the call in their call-back list.",
    {"when": {"type": "string", "maxLength": 80, "description": "When they asked for it, in their words."}},
)
def request_call_back(ctx: CallContext, when: str = "") -> dict:
    from calls.models import Call

    if ctx.call_id is not None:
        Call.objects.filter(pk=ctx.call_id).update(callback_requested=True)
    ctx.note(f"asked to be called back{' ' + when.strip()[:80] if when.strip() else ''}")
    return {"callback_requested": True}


@registry.register(
    "report_wrong_number",
    "On a call the shop placed (a reminder): the person who answered says this is not the customer's number "
    '("wrong number", "there\'s no Daniel here"). Flags the number on the customer for staff (no more reminder '
    "calls to it) and records the call as wrong person. Then apologise briefly and call end_call, without any "
    "detail of the appointment. Not for someone who is busy or driving (request_call_back), nor for a relative who "
    "takes a message.",
)
def report_wrong_number(ctx: CallContext) -> dict:
    from crm.services import flag_wrong_number

    if ctx.direction != "outbound":
        raise ToolError("Only a call the shop placed can report a wrong number.")
    customer = _customer(ctx)
    flagged = flag_wrong_number(customer, number=ctx.caller_number, now=ctx.clock(), context="reminder call")
    ctx.set_outcome("wrong_person")
    ctx.note("wrong number: the person who answered is not the customer; number flagged for staff")
    return {"flagged": flagged}


# --- vehicles and the call itself --------------------------------------------------------------------------


@registry.register(
    "decode_vin",
    "Check a 17-character VIN and say which vehicle it belongs to (year, make, model).",
    {"vin": {"type": "string", "minLength": 11, "maxLength": 30}},
    required=("vin",),
)
def decode_vin(ctx: CallContext, vin: str) -> dict:
    from crm.vin import decode_vin as decode

    return decode(vin)


@registry.register(
    "add_vehicle",
    "Add a car to the bound customer's own account (a verified caller only): the year, make and model the caller "
    "gave, or its VIN (decoded; what it decodes to fills in the rest). Read the car back and get the caller's yes "
    "first. Returns the vehicle, to book on with its id; `added` is false when that car was already on file.",
    {
        "vehicle_year": {"type": "integer", "minimum": 1950, "maximum": 2100},
        "vehicle_make": {"type": "string", "maxLength": 60},
        "vehicle_model": {"type": "string", "maxLength": 60},
        "vin": {"type": "string", "maxLength": 30},
    },
)
def add_vehicle(
    ctx: CallContext, vehicle_year: int | None = None, vehicle_make: str = "", vehicle_model: str = "", vin: str = ""
) -> dict:
    from crm import services as crm_services

    customer = _customer(ctx)
    if not (vin.strip() or (vehicle_make.strip() and vehicle_model.strip())):
        raise ToolError("I need the car's make and model, or its VIN, to add it.")
    vehicle, added = crm_services.add_caller_vehicle(
        customer=customer, year=vehicle_year, make=vehicle_make, model=vehicle_model, vin=vin
    )
    if added:
        ctx.note(f"added vehicle {_vehicle_dict(vehicle)['label']}")
    return {"vehicle": _vehicle_dict(vehicle), "added": added}


@registry.register(
    "transfer_to_advisor",
    "Hand the call to a human service advisor: when the caller asks for a person, or the request is beyond "
    "these tools. Say a short sentence first; the transfer happens after it is spoken.",
    {"reason": {"type": "string", "maxLength": 200}},
    required=("reason",),
)
def transfer_to_advisor(ctx: CallContext, reason: str) -> dict:
    return {"action": "transfer", "reason": reason.strip()[:200]}  # the session transfers once this is spoken


@registry.register(
    "end_call",
    "Hang up after the goodbye has been spoken: the caller is done.",
    {"reason": {"type": "string", "maxLength": 200}},
)
def end_call(ctx: CallContext, reason: str = "") -> dict:
    return {"action": "end_call", "reason": reason.strip()[:200]}  # the session hangs up once this is spoken
