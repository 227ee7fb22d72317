"""Filters for the call log's templates."""

import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value) -> str:
    """Tool arguments and results as indented JSON (escaped by the template like any text)."""
    if value in (None, "", {}):
        return "—"
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


@register.filter
def ms(value) -> str:
    """ "850 ms" or "1.25 s"; "—" when not measured."""
    if value is None or value == "":
        return "—"
    value = float(value)
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.2f} s"


@register.filter
def percent(value) -> str:
    """ "42%" for 0.42; "—" when there is nothing to divide by."""
    if value is None:
        return "—"
    return f"{value * 100:.0f}%"


@register.filter
def get(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
