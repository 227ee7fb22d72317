"""The managers' call log: list, CSV export, detail, call-backs, live calls, dashboard, recordings.

Thin views: access here, reads in calls/selectors.py and calls/metrics.py, writes in calls/services.py.
Every page needs an active staff login and a real permission:
- `calls.view_call`: the list, a call's detail, call-backs and live calls (service advisors and managers);
- `calls.change_call`: marking a call-back as made;
- `calls.view_dashboard` and `calls.listen_recording`: managers only.
Anybody else is sent to the login page; staff without the permission get a 403 page saying what is missing.
"""

from __future__ import annotations

import csv
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from calls import charts, metrics, selectors, services
from calls.filters import CallFilterForm, PeriodForm
from calls.models import Call
from calls.presentation import caller_label, duration_label, number_label, other_party_number, outcome_label
from calls.recordings import RecordingUnavailable, fetch_recording, open_own_recording
from scheduling.display import day_and_time, shop_time

VIEW = "calls.view_call"
MARK_CALLBACK = "calls.change_call"
DASHBOARD = "calls.view_dashboard"
LISTEN = "calls.listen_recording"
PERMISSION_NAMES = {
    VIEW: "see calls",
    MARK_CALLBACK: "mark call-backs as made",
    DASHBOARD: "see the dashboard",
    LISTEN: "listen to recordings",
}
SORT_COLUMNS = (
    ("time", "Time", "-"),  # key, heading, direction of the first click
    ("duration", "Duration", "-"),
    ("outcome", "Outcome", ""),
    ("latency", "Slowest reply", "-"),
)
CSV_CHUNK = 2000


def staff_permission_required(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return redirect_to_login(request.get_full_path())
            if not user.has_perm(permission):
                context = {"needed": PERMISSION_NAMES.get(permission, permission)}
                return render(request, "calls/log/forbidden.html", context, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# ----------------------------------------------------------------------------------------------- the log


def _filter_form(request) -> CallFilterForm:
    form = CallFilterForm(request.GET)
    form.is_valid()
    return form


def _query(request, **changes) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


def _page_prefix(request) -> str:
    """ "?outcome=booked&" or "?": the list's query, ready for page=N."""
    query = _query(request)
    return query if query == "?" else query + "&"


def _sort_headers(request, sort: str) -> dict[str, dict]:
    headers = {}
    current, descending = sort.removeprefix("-"), sort.startswith("-")
    for key, label, first in SORT_COLUMNS:
        if key == current:
            next_sort = key if descending else f"-{key}"
            state = "descending" if descending else "ascending"
        else:
            next_sort, state = f"{first}{key}", None
        headers[key] = {"label": label, "url": _query(request, sort=next_sort), "state": state}
    return headers


@require_GET
@staff_permission_required(VIEW)
def call_log(request):
    form = _filter_form(request)
    filters, sort = form.filters(), form.sort_order()
    paginator = Paginator(selectors.call_list(filters, sort), selectors.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [_row(call) for call in page.object_list]
    return render(
        request,
        "calls/log/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "headers": _sort_headers(request, sort),
            "filtered": filters != selectors.CallFilters(),
            "export_url": reverse("calls:log-csv") + _query(request),
            "slow_ms": selectors.slow_reply_ms(),
            "page_prefix": _page_prefix(request),
        },
    )


def _row(call: Call) -> dict:
    return {
        "call": call,
        "started": day_and_time(call.started_at),
        "caller": caller_label(call),
        "number": number_label(other_party_number(call)),
        "duration": duration_label(call.duration_seconds),
        "outcome": outcome_label(call.outcome) or call.get_status_display(),
        "slow": call.worst_latency_ms is not None and call.worst_latency_ms >= selectors.slow_reply_ms(),
    }


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


CSV_HEADER = [
    "id", "call_sid", "started", "ended", "direction", "transport", "caller_number", "customer", "customer_id",
    "duration_s", "status", "outcome", "needed_person", "callback_done", "worst_reply_ms", "summary", "cost_usd",
]  # fmt: skip


def _csv_cell(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: a caller's words must stay text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_rows(calls):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for call in calls.iterator(chunk_size=CSV_CHUNK):
        seconds = call.duration_seconds
        yield writer.writerow([_csv_cell(v) for v in (
            call.pk, call.call_sid, shop_time(call.started_at).isoformat(timespec="seconds"),
            shop_time(call.ended_at).isoformat(timespec="seconds") if call.ended_at else "",
            call.direction, call.transport, other_party_number(call),
            call.customer.full_name if call.customer_id else "", call.customer_id or "",
            round(seconds) if seconds is not None else "", call.status, call.outcome,
            "yes" if call.outcome == Call.Outcome.TRANSFERRED or call.callback_requested else "no",
            shop_time(call.callback_done_at).isoformat(timespec="seconds") if call.callback_done_at else "",
            call.worst_latency_ms if call.worst_latency_ms is not None else "", call.summary,
            call.cost_usd if call.cost_usd is not None else "",
        )])  # fmt: skip


@require_GET
@staff_permission_required(VIEW)
def call_log_csv(request):
    """Every call the list's filters select (not just one page), in the list's order."""
    form = _filter_form(request)
    calls = selectors.call_list(form.filters(), form.sort_order())
    stamp = shop_time(timezone.now()).strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(_csv_rows(calls), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="calls-{stamp}.csv"'
    return response


# ----------------------------------------------------------------------------------------------- one call


@require_GET
@staff_permission_required(VIEW)
def call_detail(request, pk: int):
    detail = selectors.call_detail(pk)
    if detail is None:
        raise Http404("No such call.")
    call = detail.call
    user = request.user
    return render(
        request,
        "calls/log/detail.html",
        {
            "detail": detail,
            "call": call,
            "caller": caller_label(call),
            "number": number_label(other_party_number(call)),
            "started": day_and_time(call.started_at),
            "ended": day_and_time(call.ended_at),
            "duration": duration_label(call.duration_seconds),
            "outcome": outcome_label(call.outcome),
            "can_listen": user.has_perm(LISTEN),
            "can_mark_callback": user.has_perm(MARK_CALLBACK),
            "live": call.ended_at is None and call.status == Call.Status.IN_PROGRESS,
            "back": _back_link(request),
        },
    )


def _back_link(request) -> str:
    """Back to the list the manager came from (its filters kept), else the plain list."""
    referer = request.headers.get("Referer", "")
    log_url = reverse("calls:log")
    if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        from urllib.parse import urlsplit

        parts = urlsplit(referer)
        if parts.path == log_url:
            return log_url + (f"?{parts.query}" if parts.query else "")
    return log_url


@require_GET
@staff_permission_required(LISTEN)
def recording(request, pk: int):
    """The call's recording: our own from storage, else Twilio's fetched server-side; Range requests either way
    (passed through to Twilio), so the player can seek."""
    call = Call.objects.filter(pk=pk).exclude(recording_url="", recording_file="").first()
    if call is None:
        raise Http404("This call has no recording.")
    range_header = request.headers.get("Range", "")[:100]
    try:
        if call.recording_file:
            upstream = open_own_recording(call, range_header=range_header)
        else:
            upstream = fetch_recording(call, range_header=range_header)
    except RecordingUnavailable as exc:
        return HttpResponse(str(exc), status=502, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(upstream.chunks(), status=upstream.status)
    for name, value in upstream.headers.items():
        response[name] = value
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = f'inline; filename="call-{call.pk}.{"wav" if call.recording_file else "mp3"}"'
    return response


# ----------------------------------------------------------------------------------------------- call-backs


@require_GET
@staff_permission_required(VIEW)
def callbacks(request):
    waiting = [
        {"call": c, "caller": caller_label(c), "number": number_label(other_party_number(c)),
         "started": day_and_time(c.started_at)}
        for c in selectors.callbacks_waiting_with_request()
    ]  # fmt: skip
    made = [
        {"call": c, "caller": caller_label(c), "done": day_and_time(c.callback_done_at)}
        for c in selectors.callbacks_made()
    ]
    return render(
        request,
        "calls/log/callbacks.html",
        {"waiting": waiting, "made": made, "can_mark_callback": request.user.has_perm(MARK_CALLBACK)},
    )


@require_POST
@staff_permission_required(MARK_CALLBACK)
def callback_made(request, pk: int):
    call = Call.objects.filter(pk=pk).first()
    if call is None:
        raise Http404("No such call.")
    try:
        services.mark_callback_done(call=call)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Call-back to {caller_label(call)} marked as made.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = reverse("calls:callbacks")
    return redirect(target)


# ----------------------------------------------------------------------------------------------- live calls


@require_GET
@staff_permission_required(VIEW)
def live(request):
    calls = [
        {"call": c, "caller": caller_label(c), "started": day_and_time(c.started_at), "turns": c.live_turns}
        for c in selectors.live_calls(timezone.now())
    ]
    scheme = "wss" if request.is_secure() else "ws"
    return render(
        request, "calls/log/live.html", {"calls": calls, "ws_url": f"{scheme}://{request.get_host()}/ws/calls/live/"}
    )


# ----------------------------------------------------------------------------------------------- dashboard


@require_GET
@staff_permission_required(DASHBOARD)
def dashboard(request):
    today = shop_time(timezone.now()).date()
    form = PeriodForm(request.GET or None, today=today)
    period = form.period()
    board = metrics.dashboard(period, now=timezone.now())
    outcome_series = [(o, outcome_label(o) if o != "in_progress" else "In progress") for o in board.outcomes_seen]
    day_format = "%b %-d" if len(period.days) > 7 else "%a %b %-d"
    return render(
        request,
        "calls/log/dashboard.html",
        {
            "form": form,
            "board": board,
            "period": period,
            "per_day_chart": charts.stacked_bars(
                [(day.strftime(day_format), counts) for day, counts in board.per_day],
                outcome_series,
                width=charts.WIDTH * 3 // 2,
            ),
            "outcome_series": outcome_series,
            "latency_chart": charts.bars(board.latency_histogram, css="latency", unit="replies"),
            "hour_chart": charts.bars([(f"{h:02d}", n) for h, n in board.by_hour], css="hour"),
            "weekday_chart": charts.bars(board.by_weekday, css="weekday"),
            "slow_ms": selectors.slow_reply_ms(),
        },
    )
