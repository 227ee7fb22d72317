"""The Twilio parameters the voice webhooks use, checked for shape, length and range before anything is written.

A signature proves a request came from Twilio (or is a replay of one), not that it fits our columns: a
102-character CallSid or a 40-digit CallDuration is refused here with a 400 naming the parameter, instead of
failing half-way through a write.
"""

from __future__ import annotations

from django import forms
from django.core.validators import URLValidator
from django.http import HttpResponseBadRequest

# Twilio call SIDs are "CA" and 32 hex digits.
CALL_SID_PATTERN = r"^CA[0-9a-fA-F]{32}$"
RECORDING_SID_PATTERN = r"^RE[0-9a-fA-F]{32}$"
MAX_CALL_SECONDS = 24 * 3600  # Twilio ends every call after 24 hours at the latest
NUMBER_MAX_CHARS = 32  # calls.Call.from_number / to_number


class _CallParams(forms.Form):
    CallSid = forms.RegexField(
        regex=CALL_SID_PATTERN,
        max_length=34,
        error_messages={"invalid": "Enter CA followed by 32 hexadecimal digits.", "required": "It is missing."},
    )
    From = forms.CharField(max_length=NUMBER_MAX_CHARS, required=False)
    To = forms.CharField(max_length=NUMBER_MAX_CHARS, required=False)
    CallStatus = forms.CharField(max_length=20, required=False)
    Direction = forms.CharField(max_length=20, required=False)
    AnsweredBy = forms.CharField(max_length=40, required=False)


class VoiceParams(_CallParams):
    """The voice webhooks (inbound calls, answered reminder calls)."""


class StatusParams(_CallParams):
    """The call status callback."""

    CallDuration = forms.IntegerField(min_value=0, max_value=MAX_CALL_SECONDS, required=False)
    RecordingUrl = forms.URLField(
        max_length=200, required=False, assume_scheme="https", validators=[URLValidator(schemes=["https", "http"])]
    )


class RecordingParams(forms.Form):
    """The recording status callback."""

    CallSid = _CallParams.base_fields["CallSid"]
    RecordingSid = forms.RegexField(
        regex=RECORDING_SID_PATTERN,
        max_length=34,
        required=False,
        error_messages={"invalid": "Enter RE followed by 32 hexadecimal digits."},
    )
    RecordingUrl = forms.URLField(
        max_length=200, required=False, assume_scheme="https", validators=[URLValidator(schemes=["https"])]
    )
    RecordingDuration = forms.IntegerField(min_value=0, max_value=MAX_CALL_SECONDS, required=False)
    RecordingStatus = forms.CharField(max_length=20, required=False)


def read_params(form_class: type[forms.Form], data) -> tuple[dict | None, HttpResponseBadRequest | None]:
    """(clean values, None), or (None, a 400 that says which parameter is wrong and why)."""
    form = form_class(data)
    if form.is_valid():
        return form.cleaned_data, None
    problems = " ".join(f"{name}: {' '.join(str(m) for m in messages)}" for name, messages in form.errors.items())
    return None, HttpResponseBadRequest(f"Bad Twilio parameters: {problems}", content_type="text/plain")
