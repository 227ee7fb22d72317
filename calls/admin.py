"""Call logs in the admin: a record of what happened, so nobody adds or edits them by hand.

Who may look is decided by permissions (Managers and Service advisors read calls; the call log's own pages are
calls/views.py). The log is an audit trail: there is no bulk delete, and only a superuser may delete a single call.
The recording's address is shown only to those who may listen (and they play it in the call log)."""

from django.contrib import admin
from django.db.models import DurationField, ExpressionWrapper, F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from calls import services
from calls.models import Call, TextMessage, ToolCall, Turn
from crm.labels import customer_admin_link
from crm.phones import format_phone_national
from scheduling.display import day_and_time

SUMMARY_CHARS = 60  # the list's summary column; the call's page has it in full


def _number(raw: str) -> str:
    """ "(312) 555-0142" for a phone number; anything else (a softphone's "shop", nothing) as it is."""
    if raw.startswith("+"):
        return format_phone_national(raw)
    return raw or "-"


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False
    # The stock tabular row repeats each object's __str__ (truncated text) above it; the back-office
    # stylesheet (scheduling/static/scheduling/admin.css) hides that line in fieldsets of this class.
    classes = ("call-log",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("id", "call")]


class TurnInline(_ReadOnlyInline):
    model = Turn
    fields = ("index", "role", "text", "interrupted", "stt_ms", "llm_first_ms", "tts_first_ms", "first_audio_ms")


class ToolCallInline(_ReadOnlyInline):
    model = ToolCall
    fields = ("turn_index", "name", "arguments", "result", "ok", "error", "duration_ms")


class CallbackFilter(admin.SimpleListFilter):
    title = "call-back"
    parameter_name = "callback"

    def lookups(self, request, model_admin):
        return (("todo", "To make"), ("done", "Made"))

    def queryset(self, request, queryset):
        if self.value() == "todo":
            return queryset.filter(callback_requested=True, callback_done_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(callback_requested=True, callback_done_at__isnull=False)
        return queryset


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    # Fits a 1366 px screen with the filters open; direction, transport and status are filters.
    list_display = ("started", "caller", "outcome", "duration", "short_summary")
    list_display_links = ("started",)
    list_filter = (CallbackFilter, "direction", "transport", "status", "outcome", "started_at")
    actions = ("mark_callback_done",)
    list_select_related = ("customer",)
    search_fields = ("call_sid", "from_number", "customer__first_name", "customer__last_name", "customer__phone")
    search_help_text = "CallSid, caller number or customer name."
    date_hierarchy = "started_at"
    show_full_result_count = False
    inlines = (TurnInline, ToolCallInline)
    fields = (
        "call_sid",
        "stream_sid",
        "direction",
        "transport",
        "from_number",
        "to_number",
        "customer_link",
        "appointment",
        "started",
        "ended",
        "duration",
        "status",
        "outcome",
        "summary",
        "callback_requested",
        "callback_done_at",
        "recording_url",
    )
    readonly_fields = ("customer_link", "started", "ended", "duration")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perm("calls.listen_recording"):
            fields = [f for f in fields if f != "recording_url"]
        return fields

    def get_queryset(self, request):
        length = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
        return super().get_queryset(request).annotate(length=length)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_callback_permission(self, request):
        return request.user.has_perm("calls.change_call")

    @admin.action(description="Mark call-back made", permissions=["callback"])
    def mark_callback_done(self, request, queryset):
        done = 0
        for call in queryset.filter(callback_requested=True, callback_done_at__isnull=True):
            services.mark_callback_done(call=call)
            done += 1
        self.message_user(request, f"{done} call-back(s) marked as made.")

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return day_and_time(obj.started_at)

    @admin.display(description="ended", ordering="ended_at")
    def ended(self, obj):
        return day_and_time(obj.ended_at)

    @admin.display(description="caller", ordering="customer__last_name")
    def caller(self, obj):
        """The customer when the call was matched to one (linked), else the number that called."""
        number = obj.from_number if obj.direction == Call.Direction.INBOUND else obj.to_number
        if obj.customer_id is None:
            return format_html('<span class="nowrap">{}</span>', _number(number))
        url = reverse("admin:crm_customer_change", args=[obj.customer_id])
        return format_html('<a href="{}">{}</a>', url, obj.customer.full_name)

    @admin.display(description="customer")
    def customer_link(self, obj):
        if obj.customer_id is None:
            return "-"
        return customer_admin_link(obj.customer)

    @admin.display(description="duration", ordering="length")
    def duration(self, obj):
        seconds = obj.duration_seconds
        if seconds is None:
            return "-"
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}:{secs:02d}"

    @admin.display(description="summary")
    def short_summary(self, obj):
        if not obj.summary:
            return "-"
        short = Truncator(obj.summary).chars(SUMMARY_CHARS)
        if short == obj.summary:
            return short
        return format_html('<span title="{}">{}</span>', obj.summary, short)


@admin.register(TextMessage)
class TextMessageAdmin(admin.ModelAdmin):
    """The texts to customers, sent or not (without an SMS provider they wait here as "not sent", with why)."""

    list_display = ("created", "to_number", "kind", "status_text", "body")
    list_filter = ("status", "kind")
    list_select_related = ("customer",)
    search_fields = ("to_number", "customer__last_name", "body")
    date_hierarchy = "created"
    readonly_fields = (
        "to_number",
        "body",
        "kind",
        "status",
        "status_reason",
        "customer",
        "appointment",
        "call",
        "dedupe_key",
        "message_sid",
        "created",
        "sent_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_text(self, obj):
        return obj.status_label
