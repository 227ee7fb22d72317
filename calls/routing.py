"""WebSocket routes. The media stream is wired in by the voice pipeline."""

from channels.routing import URLRouter

websocket_application = URLRouter([])
