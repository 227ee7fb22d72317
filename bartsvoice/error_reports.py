"""What an error report (the DEBUG page, the admins' error mail) may show of the settings."""

import re

from django.views.debug import SafeExceptionReporterFilter


class SettingsFilter(SafeExceptionReporterFilter):
    # Django's list, plus the URLs and cache/channel locations that carry passwords ("redis://:pw@host").
    hidden_settings = re.compile(r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|AUTH|_URL$|^LOCATION$|^hosts$", flags=re.I)
