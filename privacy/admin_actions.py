"""Export and erase, as actions on crm's customer admin: one customer at a time, after a page asking why."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from privacy.erasure import ErasureRefused, erase_customer, is_erased
from privacy.export import customer_calls, export_customer
from privacy.models import PrivacyRequest


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        help_text="The customer's request and how it came in (e.g. “email of 3 May, ticket 1234”). Kept in the audit "
        "log.",
        widget=forms.TextInput(attrs={"size": 80}),
    )


class CustomerPrivacyActions:
    """Mixed into crm's CustomerAdmin: "Export data (JSON)" and "Erase personal data", each for one customer at a
    time, after a page asking why; offered only to users with the matching permission."""

    def get_actions(self, request):
        actions = super().get_actions(request)  # type: ignore[misc]
        for name, perm, description in (
            ("export_data", "privacy.export_customer_data", "Export the customer's data (JSON)"),
            ("erase_data", "privacy.erase_customer_data", "Erase the customer's personal data"),
        ):
            if request.user.has_perm(perm):
                actions[name] = (getattr(type(self), name), name, description)
        return actions

    def export_data(self, request, queryset):
        return _customer_request(self, request, queryset, PrivacyRequest.Action.EXPORT)

    def erase_data(self, request, queryset):
        return _customer_request(self, request, queryset, PrivacyRequest.Action.ERASE)


_PERMISSIONS: dict[str, str] = {
    PrivacyRequest.Action.EXPORT: "privacy.export_customer_data",
    PrivacyRequest.Action.ERASE: "privacy.erase_customer_data",
}


def _customer_request(model_admin, request, queryset, action: str):
    # get_actions already hides the action; a forged POST still meets the permission check here.
    if not request.user.has_perm(_PERMISSIONS[action]):
        model_admin.message_user(request, "You do not have permission to do that.", messages.ERROR)
        return None
    customers = list(queryset[:2])
    if len(customers) != 1:
        model_admin.message_user(request, "Select exactly one customer.", messages.WARNING)
        return None
    customer = customers[0]
    if action == PrivacyRequest.Action.ERASE and is_erased(customer):
        model_admin.message_user(request, f"Customer #{customer.pk} has already been erased.", messages.WARNING)
        return None
    form = ReasonForm(request.POST if request.POST.get("post") else None)
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        if action == PrivacyRequest.Action.EXPORT:
            document = export_customer(customer=customer, by=request.user, reason=reason)
            response = HttpResponse(
                json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
                content_type="application/json; charset=utf-8",
            )
            response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
            return response
        try:
            entry = erase_customer(customer=customer, by=request.user, reason=reason)
        except ErasureRefused as exc:
            model_admin.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None
        removed = ", ".join(f"{key.replace('_', ' ')} {count}" for key, count in entry.details.items())
        model_admin.message_user(request, f"Customer #{customer.pk} erased: {removed}.", messages.SUCCESS)
        return None
    calls = customer_calls(customer)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Export a customer's data" if action == PrivacyRequest.Action.EXPORT else "Erase a customer's data",
        "opts": model_admin.model._meta,
        "customer": customer,
        "action": action,
        "action_name": "export_data" if action == PrivacyRequest.Action.EXPORT else "erase_data",
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "counts": {
            "calls": calls.count(),
            "recordings": calls.exclude(recording_url="").count(),
            "appointments": customer.appointments.count(),
            "vehicles": customer.vehicles.count(),
        },
    }
    return TemplateResponse(request, "admin/privacy/customer_request.html", context)
