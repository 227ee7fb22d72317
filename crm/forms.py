"""Admin forms: accept what advisors type (any phone format, VINs with spaces) and explain rejections."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from crm.labels import staff_name, staff_name_order
from crm.models import Customer, Vehicle
from crm.phones import format_phone_national, normalize_phone
from crm.vin import normalize_vin, validate_vin


class CustomerAdminForm(forms.ModelForm):
    # Wider than the stored E.164 column: "+1 (312) 555-0142 ext. 7" must reach normalisation.
    phone = forms.CharField(
        max_length=40,
        help_text="Any format — (312) 555-0142, 312.555.0142, +44 20 7946 0958. Stored as +13125550142.",
        error_messages={"unique": "Another customer already has this phone number — search for it first."},
    )

    class Meta:
        model = Customer
        fields = (
            "first_name",
            "last_name",
            "phone",
            "email",
            "postal_code",
            "preferred_advisor",
            "do_not_call",
            "notes",
            "wrong_number",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.phone:
            self.initial["phone"] = format_phone_national(self.instance.phone)
        advisor = self.fields.get("preferred_advisor")
        if advisor is not None:
            # Staff who can still take customers, plus whoever is assigned now (so old records still save).
            current = Q(pk=self.instance.preferred_advisor_id) if self.instance.preferred_advisor_id else Q(pk=None)
            advisor.queryset = (
                get_user_model().objects.filter(Q(is_staff=True, is_active=True) | current).order_by(staff_name_order())
            )
            advisor.label_from_instance = staff_name

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])


class VehicleAdminForm(forms.ModelForm):
    # Wider than 17 so "1HG CM826 33A004352" or an 18-character typo reaches the VIN rules,
    # which say what is wrong instead of a bare "at most 17 characters".
    vin = forms.CharField(
        label="VIN",
        max_length=40,
        required=False,
        help_text="17 characters, spaces allowed; checked, and decoded to fill year, make, model and trim.",
    )

    class Meta:
        model = Vehicle
        # `decoded` is the decoder's output: shown read-only, never typed.
        fields = ("customer", "vin", "year", "make", "model", "trim", "mileage", "plate")

    def clean_vin(self):
        vin = normalize_vin(self.cleaned_data["vin"])
        if vin:
            validate_vin(vin)
        return vin
