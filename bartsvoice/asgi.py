"""HTTP through Django, WebSockets through the Channels router (see calls.routing)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from bartsvoice.bind_guard import loopback_only  # noqa: E402
from bartsvoice.daphne_compat import allow_policy_violation_close  # noqa: E402
from calls.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
if settings.DEBUG and not settings.ALLOW_DEBUG_ON_NETWORK:
    application = loopback_only(application)

allow_policy_violation_close()

if settings.VOICE_WARMUP:
    from calls.voice.warmup import warm_up

    warm_up()
