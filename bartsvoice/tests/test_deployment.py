"""The shipped deployment, run for real on 127.0.0.1: Debian's nginx with deploy/nginx's site (TLS with a
throw-away certificate) in front of two daphne processes started with the systemd unit's command line.

Through the proxy: signed Twilio webhooks validate (one process knows PUBLIC_BASE_URL, the other relies on the
forwarded host and scheme), the WebSocket upgrade carries whole calls in the Media Streams protocol, calls spread
over both processes, static files come from nginx, plain http is sent to https."""

import asyncio
import json
import os
import secrets
import ssl
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from bartsvoice.db import in_db_thread
from bartsvoice.tests.media_call import caller_speech, phone_side_of_a_stream
from bartsvoice.tests.proxy import daphne_from_unit, nginx_in_front
from bartsvoice.tests.servers import free_port, test_database_url
from calls.models import Call

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "proxy-test-auth-token"
METRICS_TOKEN = "proxy-test-metrics-token"


@pytest.fixture(scope="module")
def deployment(django_db_setup, tmp_path_factory):
    """nginx and two daphne processes, shared by the tests of this module (each starts in seconds, not instantly)."""
    if not settings.REDIS_URL:
        pytest.skip("the daphne processes share stream tokens through Redis: set REDIS_URL")
    tmp = tmp_path_factory.mktemp("deployment")
    port_a, port_b = free_port(), free_port()
    static = tmp / "static"
    static.mkdir()
    (static / "probe.txt").write_text("served by nginx")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bartsvoice.settings",
        "DATABASE_URL": test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),  # the same on every process, as DEPLOYMENT.md says
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "VAR_DIR": str(tmp / "var"),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": "+13125550100",
        "TRUST_X_FORWARDED_PROTO": "true",
        "SECURE_SSL_REDIRECT": "true",
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_FORMAT": "json",
        "VOICE_STT": "instant",
        "VOICE_TTS": "instant",
        "VOICE_BRAIN": "instant",
        "VOICE_WARMUP": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # two "hosts": each process shows its own figures
    with (
        nginx_in_front(tmp / "proxy", [port_a, port_b], static=static) as proxy,
        daphne_from_unit(port_a, {**env, "PUBLIC_BASE_URL": proxy.public}, tmp / "daphne-a.log") as a,
        daphne_from_unit(port_b, env, tmp / "daphne-b.log") as b,
    ):
        yield SimpleNamespace(
            public=proxy.public,
            http=proxy.http,
            backends=[a, b],
            ssl=proxy.ssl,
            access_log=proxy.workdir / "access.log",
        )


def fetch(url, *, context=None, data=None, headers=None) -> tuple[int, dict, bytes]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310 (127.0.0.1 only)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def signed_webhook(deployment, params: dict, *, signed_url: str | None = None) -> tuple[int, bytes]:
    url = f"{deployment.public}/twilio/voice/inbound/"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(signed_url or url, params)
    status, _, body = fetch(
        url, context=deployment.ssl, data=urlencode(params).encode(), headers={"X-Twilio-Signature": signature}
    )
    return status, body


def inbound_params(call_sid: str) -> dict:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+13125550142",
        "To": "+13125550100",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


async def phone_call(deployment, speech: bytes) -> str:
    """What Twilio does for one inbound call: the signed webhook, then the media stream it names."""
    call_sid = f"CA{uuid.uuid4().hex}"
    status, body = await asyncio.to_thread(signed_webhook, deployment, inbound_params(call_sid))
    assert status == 200, body
    stream = ET.fromstring(body).find("./Connect/Stream")  # noqa: S314 (our own server's TwiML)
    assert stream is not None, body
    stream_url, parameter = stream.get("url"), stream.find("./Parameter[@name='token']")
    assert stream_url == deployment.public.replace("https://", "wss://") + "/ws/media-stream/"
    assert stream_url is not None
    assert parameter is not None, body
    token = parameter.get("value")
    assert token, body
    await phone_side_of_a_stream(stream_url, call_sid=call_sid, token=token, speech=speech, ssl=deployment.ssl)
    return call_sid


def calls_served(base_url: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    status, _, body = fetch(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200, body
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "bartsvoice_calls_total"
    )


async def test_calls_through_nginx_over_two_daphne_processes(deployment):
    speech = caller_speech()
    earlier = [await asyncio.to_thread(calls_served, base) for base in deployment.backends]  # the module's processes
    call_sids = await asyncio.gather(*(phone_call(deployment, speech) for _ in range(4)))

    for call_sid in call_sids:
        call = await in_db_thread(Call.objects.get, call_sid=call_sid)
        turns = await in_db_thread(lambda c=call: list(c.turns.order_by("index").values_list("role", "text")))
        assert call.stream_sid.startswith("MZ")
        assert ("caller", "what are your hours") in turns
        assert any(role == "agent" and "You said" in text for role, text in turns), turns

    served = []
    for _ in range(50):  # each process records its calls' end once their sockets have closed
        served = [
            await asyncio.to_thread(calls_served, base) - before
            for base, before in zip(deployment.backends, earlier, strict=True)
        ]
        if sum(served) == 4:
            break
        await asyncio.sleep(0.2)
    assert sum(served) == 4, served
    assert all(count >= 1 for count in served), f"calls were not spread over both processes: {served}"


def test_webhook_signatures_follow_the_public_url(deployment):
    # Several requests, so both processes (PUBLIC_BASE_URL on one, forwarded host and scheme on the other) answer.
    for _ in range(4):
        status, body = signed_webhook(deployment, inbound_params(f"CA{uuid.uuid4().hex}"))
        assert status == 200, body
        # Signed for what daphne alone would see (plain http): refused, so the check above is a real one.
        params = inbound_params(f"CA{uuid.uuid4().hex}")
        status, _ = signed_webhook(
            deployment, params, signed_url=deployment.public.replace("https", "http") + "/twilio/voice/inbound/"
        )
        assert status == 403


def test_nginx_serves_static_redirects_http_and_forwards_the_scheme(deployment):
    status, headers, body = fetch(f"{deployment.public}/static/probe.txt", context=deployment.ssl)
    assert (status, body) == (200, b"served by nginx")
    assert "max-age=604800" in headers.get("Cache-Control", "")

    status, headers, _ = fetch(f"{deployment.http}/admin/login/")
    assert status == 301 and headers["Location"].startswith("https://127.0.0.1")

    # Through nginx daphne knows the request came over TLS; asked directly over http it redirects.
    status, _, _ = fetch(f"{deployment.public}/admin/login/", context=deployment.ssl)
    assert status == 200
    for backend in deployment.backends:
        status, headers, _ = fetch(f"{backend}/admin/login/")
        assert status == 301 and headers["Location"].startswith("https://")

    status, _, body = fetch(f"{deployment.public}/readyz", context=deployment.ssl)
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"
    # TLS is nginx's own: a client that does not trust the throw-away certificate does not get through.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch(f"{deployment.public}/healthz", context=ssl.create_default_context())


def test_the_access_log_leaves_query_strings_out(deployment):
    """A softphone search by phone number (or a call-log filter) must not put the number in nginx's log."""
    status, _, _ = fetch(f"{deployment.public}/calls/softphone/customers/?q=%2B13125550142", context=deployment.ssl)
    assert status == 401  # anonymous: the search itself is refused, but nginx logged the request either way
    logged = deployment.access_log.read_text(errors="replace")
    assert "/calls/softphone/customers/" in logged
    assert "5550142" not in logged and "q=" not in logged
