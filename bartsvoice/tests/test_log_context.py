"""Every log line of a call names it (CallSid and StreamSid), in JSON for production and text for development,
and phone and card numbers never appear whole."""

import asyncio
import io
import json
import logging

import pytest

from bartsvoice.log_context import CallContextFilter, bind_call, call_logging, current_call
from bartsvoice.log_format import JsonFormatter, logging_config
from bartsvoice.log_privacy import MaskPhoneNumbers
from bartsvoice.tests.media_call import open_instant_call


@pytest.fixture
def capture():
    """A handler like the console one of LOGGING (same filters, same formatter), writing to a buffer."""
    handlers = []

    def make(fmt: str):
        entry = logging_config(fmt=fmt, level="INFO")["formatters"]["console"]
        formatter = (
            JsonFormatter()
            if entry.get("()") == "bartsvoice.log_format.JsonFormatter"
            else (logging.Formatter(entry["format"]))
        )
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        handler.setFormatter(formatter)
        handler.addFilter(CallContextFilter())
        handler.addFilter(MaskPhoneNumbers())
        logging.getLogger().addHandler(handler)
        handlers.append(handler)
        return buffer

    yield make
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


def test_the_console_handler_has_the_call_and_privacy_filters():
    console = logging_config(fmt="json", level="INFO")["handlers"]["console"]
    assert console["filters"] == ["call_context", "mask_phone_numbers"]


def test_json_lines_carry_the_call_and_mask_numbers(capture):
    buffer = capture("json")
    log = logging.getLogger("calls.somewhere")

    async def call():
        bind_call("CA" + "1" * 32, "MZ" + "2" * 32)

        async def child():  # a task the session spawns later: it inherits the call
            log.info("reply to %s", "+13125550142")

        await asyncio.ensure_future(child())
        try:
            raise RuntimeError("Twilio refused +13125550199, card 4111 1111 1111 1111")
        except RuntimeError:
            log.exception("dialling failed")

    asyncio.run(call())
    log.info("not in a call")
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["reply to ***0142", "dialling failed", "not in a call"]
    for line in lines[:2]:
        assert line["call_sid"] == "CA" + "1" * 32 and line["stream_sid"] == "MZ" + "2" * 32
        assert line["level"] in ("INFO", "ERROR") and line["logger"] == "calls.somewhere" and line["time"]
    assert "call_sid" not in lines[2] and "call_tag" not in lines[2]
    assert "***0199" in lines[1]["exc_info"] and "****1111" in lines[1]["exc_info"]
    text = buffer.getvalue()
    assert "5550142" not in text and "5550199" not in text and "4111 1111" not in text


def test_text_lines_show_the_call_in_brackets(capture):
    buffer = capture("text")
    with call_logging("CA42", "MZ7"):
        logging.getLogger("calls.x").warning("hello")
        assert current_call() == {"call_sid": "CA42", "stream_sid": "MZ7"}
    logging.getLogger("calls.x").warning("bye")
    first, second = buffer.getvalue().splitlines()
    assert first.endswith("WARNING calls.x [call_sid=CA42 stream_sid=MZ7]: hello")
    assert second.endswith("WARNING calls.x: bye")
    assert current_call() == {}


def test_log_format_is_checked():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        logging_config(fmt="yaml", level="INFO")


@pytest.mark.django_db(transaction=True)
async def test_a_media_stream_call_logs_under_its_call_sid(capture, settings):
    buffer = capture("json")
    comm, sid = await open_instant_call(settings, "MZlog")
    await asyncio.sleep(0.3)
    await comm.send_to(text_data=json.dumps({"event": "dtmf", "streamSid": "MZlog", "dtmf": {"digit": "5"}}))
    await comm.send_to(text_data="{not json")  # logged by the socket itself
    await asyncio.sleep(0.3)
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZlog", "stop": {"callSid": sid}}))
    await comm.disconnect()
    await asyncio.sleep(0.2)
    from calls.voice.providers import registry

    registry.stt_provider.cache_clear()
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    dtmf = [line for line in lines if "DTMF 5" in line["message"]]
    skipped = [line for line in lines if "skipped frame" in line["message"]]
    assert dtmf and skipped, lines
    for line in dtmf + skipped:
        assert line["call_sid"] == sid and line["stream_sid"] == "MZlog"
    assert "5550142" not in buffer.getvalue()
