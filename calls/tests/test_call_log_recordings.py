"""Recordings: Twilio's signed recording callback stores where the recording is; managers play it through our
own view, which fetches it from Twilio (a local fake here) with the account's credentials and passes Range
requests through, so the browser never sees Twilio's address or credentials."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from calls.models import Call
from calls.recordings import media_path
from calls.selectors import percentile
from calls.tests import call_log_fixtures
from calls.tests.call_log_fixtures import make_call

people = call_log_fixtures.people
ACCOUNT = "AC" + "0" * 32
TOKEN = "rec-auth-token-1"
RECORDING_SID = "RE" + "a" * 32
RECORDING_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING_SID}"
AUDIO = bytes(range(256)) * 40  # 10,240 bytes standing in for an MP3


class _Media(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self):
        auth = self.headers.get("Authorization", "")
        type(self).seen.append({"path": self.path, "auth": auth, "range": self.headers.get("Range")})
        if auth != "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode():
            self.send_response(401)
            self.end_headers()
            return
        if self.path != f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING_SID}.mp3":
            self.send_response(404)
            self.end_headers()
            return
        wanted = self.headers.get("Range")
        if wanted:
            first, _, last = wanted.removeprefix("bytes=").partition("-")
            first, last = int(first), int(last) if last else len(AUDIO) - 1
            body = AUDIO[first : last + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(AUDIO)}")
        else:
            body = AUDIO
            self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio_media(settings):
    _Media.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PUBLIC_BASE_URL = ""
    yield _Media.seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorded(db):
    return make_call(1, recording_url=RECORDING_URL, recording_seconds=42)


@pytest.mark.django_db
def test_manager_plays_the_recording_through_our_server(client, people, recorded, fake_twilio_media):
    client.force_login(people["manager"])
    url = reverse("calls:recording", args=[recorded.pk])
    whole = client.get(url)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == AUDIO
    assert whole["Content-Type"] == "audio/mpeg" and whole["Accept-Ranges"] == "bytes"
    assert whole["Cache-Control"] == "private, no-store"
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    assert b"".join(part.streaming_content) == AUDIO[100:200]
    assert [s["range"] for s in fake_twilio_media] == [None, "bytes=100-199"]
    assert TOKEN not in str(whole.headers) and "twilio.com" not in str(whole.headers)


@pytest.mark.django_db
def test_advisors_and_strangers_cannot_play_recordings(client, people, recorded, fake_twilio_media):
    url = reverse("calls:recording", args=[recorded.pk])
    client.force_login(people["advisor"])
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302
    assert fake_twilio_media == []  # Twilio was never asked


@pytest.mark.django_db
def test_no_recording_or_twilio_trouble_is_explained(client, people, recorded, fake_twilio_media, settings):
    client.force_login(people["manager"])
    plain = make_call(2)
    assert client.get(reverse("calls:recording", args=[plain.pk])).status_code == 404
    Call.objects.filter(pk=recorded.pk).update(recording_url=RECORDING_URL.replace("a" * 32, "b" * 32))
    response = client.get(reverse("calls:recording", args=[recorded.pk]))
    assert response.status_code == 502 and b"no longer has this recording" in response.content
    settings.TWILIO_AUTH_TOKEN = ""
    response = client.get(reverse("calls:recording", args=[recorded.pk]))
    assert response.status_code == 502 and b"credentials are not configured" in response.content


@pytest.mark.django_db
def test_credentials_only_ever_go_to_twilio(client, people, fake_twilio_media):
    """A row holding another host's URL is refused before any request: the auth header would go with it."""
    evil = make_call(3, recording_url=f"https://evil.example/2010-04-01/Accounts/{ACCOUNT}/Recordings/{RECORDING_SID}")
    client.force_login(people["manager"])
    response = client.get(reverse("calls:recording", args=[evil.pk]))
    assert response.status_code == 502
    assert fake_twilio_media == []


@pytest.mark.parametrize(
    "url",
    ["http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1", "https://api.twilio.com.evil.example/x",
     "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls/CA1", ""],
)  # fmt: skip
def test_media_path_accepts_only_twilio_recording_urls(url):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        media_path(url)


# --------------------------------------------------------------------------------------------- the callback


def _post_signed(client, params):
    path = reverse("calls:twilio-recording")
    signature = RequestValidator(TOKEN).compute_signature(f"http://testserver{path}", params)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


@pytest.mark.django_db
def test_recording_callback_stores_the_recording(client, fake_twilio_media):
    call = make_call(1)
    params = {"CallSid": call.call_sid, "AccountSid": ACCOUNT, "RecordingSid": RECORDING_SID,
              "RecordingUrl": RECORDING_URL, "RecordingStatus": "completed", "RecordingDuration": "37",
              "RecordingChannels": "2"}  # fmt: skip
    assert _post_signed(client, params).status_code == 204
    assert _post_signed(client, params).status_code == 204  # Twilio retries: harmless
    call.refresh_from_db()
    assert (call.recording_url, call.recording_sid, call.recording_seconds) == (RECORDING_URL, RECORDING_SID, 37)


@pytest.mark.django_db
def test_recording_callback_must_be_signed_and_sane(client, fake_twilio_media):
    call = make_call(1)
    params = {"CallSid": call.call_sid, "RecordingUrl": RECORDING_URL, "RecordingStatus": "completed"}
    assert client.post(reverse("calls:twilio-recording"), params).status_code == 403
    bad = _post_signed(client, {**params, "RecordingUrl": "https://evil.example/rec.mp3"})
    assert bad.status_code == 200 and b"Not a Twilio recording URL" in bad.content
    unknown = _post_signed(client, {**params, "CallSid": "CA" + "9" * 32})
    assert unknown.status_code == 200 and b"There is no call" in unknown.content
    call.refresh_from_db()
    assert call.recording_url == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "oversized",
    [
        {"RecordingDuration": "9" * 40},  # past any integer column
        {"RecordingDuration": "-5"},
        {"RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE{'a' * 200}"},
        {"RecordingSid": "RE" + "a" * 100},
        {"CallSid": "CA" + "a" * 100},
    ],
)
def test_signed_but_oversized_recording_callback_writes_nothing(client, fake_twilio_media, oversized):
    """Signed is not sane: a value that cannot fit its column is a clear 400 (on PostgreSQL too), never a 500
    Twilio retries or half a recording."""
    call = make_call(1)
    params = {"CallSid": call.call_sid, "AccountSid": ACCOUNT, "RecordingSid": RECORDING_SID,
              "RecordingUrl": RECORDING_URL, "RecordingStatus": "completed", "RecordingDuration": "37",
              **oversized}  # fmt: skip
    response = _post_signed(client, params)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert next(iter(oversized)).encode() in response.content  # names the parameter
    call.refresh_from_db()
    assert (call.recording_url, call.recording_sid, call.recording_seconds) == ("", "", None)


def test_percentile_interpolates_like_postgresql():
    assert percentile([], 0.5) is None
    assert percentile([700, 1200, 1500], 0.95) == pytest.approx(1470)
    assert percentile([5], 0.95) == 5
