"""WebSocket routes.

The media stream authenticates with its one-time token; the managers' live page with the staff session
cookie, so it goes through the session/auth middleware and refuses other sites' pages (Origin checked).
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from calls.consumers import LiveCallsConsumer
from calls.media_stream import media_stream_app

websocket_application = URLRouter(
    [
        path("ws/media-stream/", media_stream_app),
        path("ws/calls/live/", AllowedHostsOriginValidator(AuthMiddlewareStack(LiveCallsConsumer.as_asgi()))),
    ]
)
