"""A process with DEBUG on serves only this machine, unless ALLOW_DEBUG_ON_NETWORK says otherwise.

DEBUG pages show settings, paths and tracebacks: reachable from a network they hand an attacker the map. The
check runs twice: before a server binds (bartsvoice.web, bartsvoice.devserver), and per connection in the ASGI
application for servers started some other way (plain `daphne -b 0.0.0.0`, `runserver 0.0.0.0:8000`).
"""

from __future__ import annotations

import ipaddress

REFUSAL = (
    "DEBUG is on, so this server only listens on this machine (127.0.0.1, ::1, localhost), not on {hosts}. "
    "Turn DEBUG off for a server others reach, or set ALLOW_DEBUG_ON_NETWORK=true if you really mean it."
)


def is_loopback(host: str | None) -> bool:
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_refusal(hosts: list[str], *, debug: bool, allowed: bool) -> str:
    """Why binding `hosts` is refused, or "" when it is fine."""
    exposed = [h for h in hosts if not is_loopback(h)]
    if not debug or allowed or not exposed:
        return ""
    return REFUSAL.format(hosts=", ".join(exposed))


def loopback_only(application):
    """ASGI wrapper (used while DEBUG is on): connections that reached a non-loopback address are refused."""

    async def guarded(scope, receive, send):
        server = scope.get("server")
        if scope["type"] not in ("http", "websocket") or not server or is_loopback(server[0]):
            return await application(scope, receive, send)
        if scope["type"] == "http":
            body = REFUSAL.format(hosts=server[0]).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return None
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close", "code": 1008})
        return None

    return guarded
