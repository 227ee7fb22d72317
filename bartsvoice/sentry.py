"""Optional error reporting to Sentry (SENTRY_DSN). Nothing is set up, and nothing leaves, when it is unset.

Each event carries the call it happened in (CallSid and StreamSid tags, from bartsvoice.log_context); phone
numbers in messages, breadcrumbs, exception values and the request's address are masked as in the logs; no
request bodies, user details or local variables are sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote_plus

from bartsvoice.log_context import current_call
from bartsvoice.log_privacy import mask_numbers

if TYPE_CHECKING:
    from sentry_sdk._types import Breadcrumb, BreadcrumbHint, Event, Hint


def init_sentry(*, dsn: str, environment: str, release: str = "", traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,  # a frame's variables hold callers' numbers and the brain's prompts
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )


def before_send(event: Event, hint: Hint) -> Event:
    data = cast("dict[str, Any]", event)  # Sentry's TypedDict, edited as the plain dict it is
    # Read at capture time, in the task that failed: the call it belongs to, never another call's.
    call = current_call()
    if call:
        data.setdefault("tags", {}).update(call)
        data.setdefault("contexts", {})["call"] = call
    logentry = data.get("logentry") or {}
    for key in ("message", "formatted"):
        if isinstance(logentry.get(key), str):
            logentry[key] = mask_numbers(logentry[key])
    if logentry.get("params"):
        logentry["params"] = [mask_numbers(str(p)) for p in logentry["params"]]
    request = data.get("request") or {}
    for key in ("url", "query_string"):  # a softphone search or a call-log filter by phone number
        if isinstance(request.get(key), str):
            request[key] = mask_numbers(unquote_plus(request[key]))
    if isinstance(data.get("transaction"), str):
        data["transaction"] = mask_numbers(data["transaction"])
    for exception in (data.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = mask_numbers(exception["value"])
    return event


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    if isinstance(crumb.get("message"), str):
        crumb["message"] = mask_numbers(crumb["message"])
    return crumb
