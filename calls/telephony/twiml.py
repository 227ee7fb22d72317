"""TwiML documents, built with twilio.twiml so that text and URLs are escaped properly."""

from django.conf import settings
from django.utils import timezone
from twilio.twiml.voice_response import Connect, Stream, VoiceResponse

NO_ADVISOR_MESSAGE = "Sorry, no advisor could take the call right now. Please call again later. Goodbye."


def connect_stream(*, stream_url: str, token: str, parameters: dict[str, str] | None = None) -> str:
    """Hand the call to our media stream. Values travel as <Parameter>s (Twilio forbids a query string
    on the Stream URL) and come back in the `start` message's customParameters."""
    if "?" in stream_url:
        raise ValueError("Twilio rejects a <Stream> URL with a query string; pass values as parameters.")
    stream = Stream(url=stream_url)
    stream.parameter(name="token", value=token)
    for name, value in (parameters or {}).items():
        stream.parameter(name=name, value=value)
    connect = Connect()
    connect.append(stream)
    response = VoiceResponse()
    response.append(connect)
    return str(response)


def transfer(*, to_number: str, message: str = "", caller_id: str = "") -> str:
    """Say `message`, then dial `to_number`; if nobody answers, apologise instead of dropping silently."""
    response = VoiceResponse()
    if message:
        response.say(message)
    response.dial(to_number, caller_id=caller_id or None)
    response.say(NO_ADVISOR_MESSAGE)
    # Sent as the REST `Twiml` parameter (4,000 characters at most): no XML declaration needed.
    return response.to_xml(xml_declaration=False)


def say_and_hang_up(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)


def empty() -> str:
    return str(VoiceResponse())


def reminder_voicemail_message(appointment) -> str:
    """What a reminder call leaves on an answering machine: who, what, when, and the number to call back."""
    from calls.agent.phrases import services_phrase
    from crm.phones import spoken_phone
    from scheduling.shop_facts import shop_phone
    from scheduling.wording import slot_label

    when = slot_label(timezone.localtime(appointment.start))
    customer = appointment.customer
    hello = f"Hello {customer.first_name}, this is" if customer.first_name else "Hello, this is"
    what = services_phrase([s.name for s in appointment.service_types.all()], article=False) or "service"
    number = shop_phone()
    back = f"please call us at {spoken_phone(number)}" if number else "please call us back"
    return (
        f"{hello} {settings.SHOP_NAME} with a reminder of your {what} appointment on {when}. "
        f"If you need to change it, {back}. Thank you, goodbye."
    )
