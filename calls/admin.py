"""Call logs in the admin: a record of what happened, so nobody adds or edits them by hand.

Who may look is decided by permissions (the Managers group has them; Service advisors do not)."""

from django.contrib import admin
from django.db.models import DurationField, ExpressionWrapper, F

from calls.models import Call, ToolCall, Turn


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

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


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "direction",
        "transport",
        "from_number",
        "customer",
        "outcome",
        "duration",
        "summary",
    )
    list_filter = ("direction", "transport", "status", "outcome", "started_at")
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
        "customer",
        "appointment",
        "started_at",
        "ended_at",
        "status",
        "outcome",
        "summary",
        "recording_url",
    )

    def get_queryset(self, request):
        length = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
        return super().get_queryset(request).annotate(length=length)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="duration", ordering="length")
    def duration(self, obj):
        seconds = obj.duration_seconds
        if seconds is None:
            return "-"
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}:{secs:02d}"
