"""Let the media socket close with 1008 (policy violation) under daphne.

RFC 6455 defines 1008 for an endpoint refusing a message that violates its policy, which is what
a stream with a bad token is. Autobahn (daphne's WebSocket engine) only lets applications send 1000
and 3000-4999, so daphne turns our 1008 into an exception and the caller sees 1011. For exactly
that code we write the close frame the way autobahn itself would after its check.
"""

ALLOWED_PROTOCOL_CODES = {1008}


def allow_policy_violation_close() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not running under daphne
        return
    if getattr(WebSocketProtocol.serverClose, "_bartsvoice", False):
        return
    original = WebSocketProtocol.serverClose

    def server_close(self, code=None):
        if code in ALLOWED_PROTOCOL_CODES:
            self.sendCloseFrame(code=code, isReply=False)
            return
        original(self, code)

    server_close._bartsvoice = True
    WebSocketProtocol.serverClose = server_close
