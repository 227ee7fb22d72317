"""WebSocket routes."""

from channels.routing import URLRouter
from django.urls import path

from calls.media_stream import media_stream_app

websocket_application = URLRouter([path("ws/media-stream/", media_stream_app)])
