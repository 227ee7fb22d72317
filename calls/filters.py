"""The call log's and the dashboard's query-string forms: bad input gets a message and is left out, never a 500."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from calls.metrics import Period
from calls.models import Call
from calls.selectors import DEFAULT_SORT, SORTS, CallFilters

SEARCH_MAX_CHARS = 100
MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 30
_ANY = [("", "Any")]


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CallFilterForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=_DateInput())
    date_to = forms.DateField(label="To", required=False, widget=_DateInput())
    q = forms.CharField(
        label="Customer or phone",
        required=False,
        max_length=SEARCH_MAX_CHARS,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or number, any format"}),
    )
    direction = forms.ChoiceField(label="Direction", required=False, choices=_ANY + list(Call.Direction.choices))
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=_ANY + list(Call.Outcome.choices))
    person = forms.ChoiceField(
        label="Handed to a person",
        required=False,
        choices=[*_ANY, ("yes", "Yes: transferred or call-back"), ("no", "No")],
    )
    slow = forms.BooleanField(label="Slow replies only", required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(s, s) for name in SORTS for s in (name, f"-{name}")], widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> CallFilters:
        """What the valid fields ask for; an invalid field filters nothing (its error is shown)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        person = data.get("person")
        return CallFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            direction=data.get("direction") or "",
            outcome=data.get("outcome") or "",
            needed_person=None if not person else person == "yes",
            search=data.get("q") or "",
            slow=bool(data.get("slow")),
        )

    def sort_order(self) -> str:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return data.get("sort") or DEFAULT_SORT


class PeriodForm(forms.Form):
    date_from = forms.DateField(label="From", required=False, widget=_DateInput())
    date_to = forms.DateField(label="To", required=False, widget=_DateInput())

    def __init__(self, data=None, *, today: date):
        default = {"date_from": today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), "date_to": today}
        super().__init__(data, initial=default)
        self.today = today

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "The end date is before the start date.")
        elif first and last and (last - first).days >= MAX_PERIOD_DAYS:
            self.add_error("date_from", f"Choose at most {MAX_PERIOD_DAYS} days.")
        return data

    def period(self) -> Period:
        """The chosen period, or the last 30 days (today included) when nothing valid was chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        last = data.get("date_to") or self.today
        first = data.get("date_from") or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        return Period(first, last)
