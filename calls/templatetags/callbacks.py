from django import template

from calls.models import Call

register = template.Library()


@register.simple_tag
def callbacks_waiting() -> int:
    """Callers the agent promised a call-back to, not yet called back."""
    return Call.objects.filter(callback_requested=True, callback_done_at__isnull=True).count()
