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
    """What a reminder call leaves on an answering machine."""
    start = timezone.localtime(appointment.start)
    when = f"{start:%A, %B} {start.day} at {start:%-I:%M %p}"
    return (
        f"Hello, this is {settings.SHOP_NAME} with a reminder of your service appointment on {when}. "
        "If you need to change it, please call us back. Goodbye."
    )
