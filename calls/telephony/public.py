"""URLs as Twilio sees them.

Behind a proxy or tunnel the host and scheme Django sees are not the ones Twilio called, so
`PUBLIC_BASE_URL` (e.g. "https://voice.example.com") wins when set. Without it the request's own
absolute URL is used, which honours SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST.
"""

from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Served by the media-stream consumer (calls/routing.py); not a Django URL, so it cannot be reversed.
MEDIA_STREAM_PATH = "/ws/media-stream/"


def request_public_url(request) -> str:
    """The full URL Twilio requested (what its signature covers), query string included."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if base:
        return base + request.get_full_path()
    return request.build_absolute_uri()


def media_stream_url(request=None) -> str:
    """wss:// URL of the media stream. Twilio only connects to wss, and forbids a query string."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if base:
        parts = urlsplit(base)
        return urlunsplit(("wss", parts.netloc, parts.path.rstrip("/") + MEDIA_STREAM_PATH, "", ""))
    if request is None:
        raise ImproperlyConfigured("Set PUBLIC_BASE_URL: the media stream URL cannot be derived without a request.")
    return f"wss://{request.get_host()}{MEDIA_STREAM_PATH}"


def absolute_public_url(path: str) -> str:
    """`path` on the public host, for URLs handed to Twilio outside a request (dialer, callbacks)."""
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    if not base:
        raise ImproperlyConfigured(
            "PUBLIC_BASE_URL is not set: Twilio needs a public https URL to fetch call instructions from."
        )
    return base + "/" + path.lstrip("/")
