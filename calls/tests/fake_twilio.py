"""A local stand-in for Twilio's REST API (the Calls resource), on 127.0.0.1 in a thread.

Speaks the wire format the SDK uses: form-encoded POSTs to
  /2010-04-01/Accounts/{AccountSid}/Calls.json            (create, 201; GET lists, filtered by To and From)
  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  (update, 200; GET fetches)
  /2010-04-01/Accounts/{AccountSid}/Messages.json         (send a text, 201)
  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings.json              (start recording a call, 201)
  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}/Recordings/{RecordingSid}.json (Status=stopped, 200)
  /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.json  (DELETE, 204)
with HTTP basic auth, JSON call resources back, and Twilio's error bodies
({"code", "message", "more_info", "status"}), e.g. 404 / 20404 for an unknown call.
Every request is recorded (method, path, form, auth user) for assertions.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_CALLS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls(?:/(?P<sid>CA\w+))?\.json$")
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages\.json$")
_CALL_RECORDINGS = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Calls/(?P<sid>CA\w+)/Recordings(?:/(?P<rec>RE\w+))?\.json$"
)
_RECORDINGS = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Recordings/(?P<rec>RE\w+)\.json$")
_RESOURCES = (_CALLS, _MESSAGES, _CALL_RECORDINGS, _RECORDINGS)


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, list[str]]
    auth_user: str | None

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "fake-auth-token"
    requests: list[RecordedRequest] = field(default_factory=list)
    calls: dict[str, dict] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    recordings: dict[str, dict] = field(default_factory=dict)  # RecordingSid -> resource ("deleted" once deleted)
    # Set to make the next requests fail like Twilio does: (http status, error code, message).
    fail_with: tuple[int, int, str] | None = None

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeTwilio:
        fake = self

        class Handler(_Handler):
            twilio = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- state ---------------------------------------------------------------------------
    def add_call(self, sid: str | None = None, *, status: str = "in-progress", to: str = "", from_: str = "") -> str:
        sid = sid or "CA" + secrets.token_hex(16)
        with self._lock:
            self.calls[sid] = self._resource(sid, status=status, to=to, from_=from_)
        return sid

    def _resource(self, sid: str, *, status: str, to: str, from_: str, direction: str = "inbound") -> dict:
        now = formatdate(usegmt=True)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": from_,
            "status": status,
            "direction": direction,
            "date_created": now,
            "date_updated": now,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }

    # --- request handling (called from the server's threads) -----------------------------
    def handle(
        self,
        method: str,
        path: str,
        form: dict[str, list[str]],
        auth_user: str | None,
        auth_ok: bool,
        query: dict[str, list[str]] | None = None,
    ):
        query = query or {}
        with self._lock:
            self.requests.append(RecordedRequest(method, path, form if method == "POST" else query, auth_user))
            if not auth_ok:
                return 401, _error(401, 20003, "Authentication Error - invalid username")
            match = next(filter(None, (r.match(path) for r in _RESOURCES)), None)
            if match is None:
                return 404, _error(404, 20404, f"The requested resource {path} was not found")
            if match["account"] != self.account_sid or auth_user != self.account_sid:
                return 403, _error(403, 20003, "Authenticate")
            if self.fail_with is not None:
                status, code, message = self.fail_with
                return status, _error(status, code, message)
            if match.re in (_CALL_RECORDINGS, _RECORDINGS):
                return self._recording(method, match, form)
            if match.re is _MESSAGES:
                return self._send_message(form) if method == "POST" else (405, _error(405, 20004, "Not allowed"))
            sid = match["sid"]
            if sid is None:
                if method == "GET":
                    return 200, self._list(query)
                return self._create(form)
            call = self.calls.get(sid)
            if call is None:
                return 404, _error(404, 20404, f"The requested resource {path} was not found")
            if method == "GET":
                return 200, call
            return self._update(call, form)

    def _create(self, form):
        first = {name: values[0] for name, values in form.items()}
        if not first.get("To"):
            return 400, _error(400, 21201, "No 'To' number is specified")
        if not first.get("From"):
            return 400, _error(400, 21603, "A 'From' phone number is required.")
        if not (first.get("Url") or first.get("Twiml") or first.get("ApplicationSid")):
            return 400, _error(400, 21205, "Url parameter is required.")
        sid = "CA" + secrets.token_hex(16)
        call = self._resource(sid, status="queued", to=first["To"], from_=first["From"], direction="outbound-api")
        self.calls[sid] = call
        return 201, call

    def _list(self, query):
        first = {name: values[0] for name, values in query.items()}
        found = [
            c
            for c in reversed(self.calls.values())
            if first.get("To", c["to"]) == c["to"] and first.get("From", c["from"]) == c["from"]
        ]
        return {
            "calls": found,
            "uri": "",
            "first_page_uri": "",
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": len(found),
        }

    def _recording(self, method: str, match, form):
        first = {name: values[0] for name, values in form.items()}
        rec = match["rec"]
        if rec is None:  # start recording a call
            call = self.calls.get(match["sid"])
            if method != "POST" or call is None or call["status"] != "in-progress":
                return 404, _error(404, 21220, "Requested resource is not eligible for recording")
            sid = "RE" + secrets.token_hex(16)
            self.recordings[sid] = {
                "sid": sid, "account_sid": self.account_sid, "call_sid": match["sid"], "status": "in-progress",
                "channels": int(first.get("RecordingChannels") == "dual") + 1, "source": "StartCallRecordingAPI",
                "date_created": formatdate(usegmt=True), "date_updated": formatdate(usegmt=True),
                "start_time": formatdate(usegmt=True), "duration": None, "price": None, "uri": "",
                "status_callback": first.get("RecordingStatusCallback"), "deleted": False,
            }  # fmt: skip
            return 201, self.recordings[sid]
        recording = self.recordings.get(rec)
        if recording is None or recording["deleted"]:
            return 404, _error(404, 20404, f"The requested resource {rec} was not found")
        if method == "DELETE":
            recording["deleted"] = True
            return 204, None
        if method == "POST" and "Status" in first:
            recording["status"] = first["Status"]
        return 200, recording

    def _send_message(self, form):
        first = {name: values[0] for name, values in form.items()}
        if not first.get("To") or not first.get("Body"):
            return 400, _error(400, 21602, "Message body and To are required.")
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": first["To"],
            "from": first.get("From"),
            "body": first["Body"],
            "status": "queued",
            "date_created": formatdate(usegmt=True),
        }
        self.messages.append(message)
        return 201, message

    def _update(self, call, form):
        first = {name: values[0] for name, values in form.items()}
        if call["status"] in ("completed", "canceled", "failed", "busy", "no-answer"):
            # Twilio: a call that is over can no longer be redirected.
            return 400, _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        if "Status" in first:
            call["status"] = first["Status"]
        if "Twiml" in first or "Url" in first:
            call["twiml"] = first.get("Twiml")
            call["url"] = first.get("Url")
        call["date_updated"] = formatdate(usegmt=True)
        return 200, call


def _error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Handler(BaseHTTPRequestHandler):
    twilio: FakeTwilio

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        form = parse_qs(body, keep_blank_values=True)
        user, password = _basic_auth(self.headers.get("Authorization", ""))
        auth_ok = user is not None and password == self.twilio.auth_token
        path, _, query = self.path.partition("?")
        status, payload = self.twilio.handle(method, path, form, user, auth_ok, parse_qs(query))
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None, None
    return user, password
