"""Retention runs and privacy requests: records written by the code, read here (the actions on customers that
write them are in privacy.admin_actions)."""

from __future__ import annotations

from django.contrib import admin

from privacy.models import PrivacyRequest, RetentionRun


class _ReadOnly(admin.ModelAdmin):
    """Audit records are written by the code only: nobody adds, edits or deletes them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RetentionRun)
class RetentionRunAdmin(_ReadOnly):
    list_display = (
        "started_at",
        "turns_deleted",
        "tool_calls_deleted",
        "calls_cleared",
        "recordings_deleted",
        "recordings_failed",
        "finished_at",
        "has_error",
    )
    date_hierarchy = "started_at"

    @admin.display(boolean=True, description="error")
    def has_error(self, obj):
        return bool(obj.error)


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(_ReadOnly):
    list_display = ("created_at", "action", "customer_ref", "requested_by_name", "reason")
    list_filter = ("action",)
    search_fields = ("=customer_ref", "requested_by_name", "reason")
    date_hierarchy = "created_at"
