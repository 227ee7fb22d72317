"""A validator for the small JSON-schema subset the agent's tool parameters use.

Enough to give a language model (or a rule policy) a precise message for a missing or malformed argument:
type, properties, required, additionalProperties: false, enum, items, minItems/maxItems, minLength/maxLength,
minimum/maximum, pattern and the formats date / date-time. Anything else in a schema is a programming error.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

_KNOWN_KEYS = {
    "type",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
    "format",
}
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
}


class SchemaError(ValueError):
    """The arguments do not fit the schema; the message names the argument and what is wrong."""


def check_schema(schema: dict[str, Any], path: str = "parameters") -> None:
    """Refuse schema keywords the validator does not implement (they would silently not be enforced)."""
    unknown = set(schema) - _KNOWN_KEYS
    if unknown:
        raise ValueError(f"{path}: unsupported schema keywords {sorted(unknown)}")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{path}.{name}")
    if "items" in schema:
        check_schema(schema["items"], f"{path}[]")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "null":
        return value is None
    return isinstance(value, _TYPES[kind])


def validate(value: Any, schema: dict[str, Any], name: str = "arguments") -> None:
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_type(value, k) for k in kinds):
            raise SchemaError(f"'{name}' must be {' or '.join(kinds)}, not {_type_name(value)}.")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(f"'{name}' must be one of {', '.join(map(str, schema['enum']))}; got {value!r}.")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key in schema.get("required", ()):
            if key not in value or value[key] is None:
                raise SchemaError(f"Missing required argument '{key}'.")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaError(f"Unknown argument(s) {', '.join(map(repr, extra))}; expected {sorted(props)}.")
        for key, sub in props.items():
            if key in value and value[key] is not None:
                validate(value[key], sub, key)
    elif isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise SchemaError(f"'{name}' needs at least {schema['minItems']} item(s).")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"'{name}' takes at most {schema['maxItems']} item(s).")
        if "items" in schema:
            for i, item in enumerate(value):
                validate(item, schema["items"], f"{name}[{i}]")
    elif isinstance(value, str):
        if "minLength" in schema and len(value.strip()) < schema["minLength"]:
            raise SchemaError(
                f"'{name}' must not be empty."
                if schema["minLength"] == 1
                else f"'{name}' must be at least {schema['minLength']} characters."
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"'{name}' must be at most {schema['maxLength']} characters.")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaError(f"'{name}' is not in the expected form.")
        fmt = schema.get("format")
        if fmt == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise SchemaError(f"'{name}' must be a date like 2026-12-01; got {value!r}.") from None
        elif fmt == "date-time":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise SchemaError(
                    f"'{name}' must be an ISO date and time like 2026-12-01T09:30:00-06:00; got {value!r}."
                ) from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"'{name}' must be at least {schema['minimum']}.")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"'{name}' must be at most {schema['maximum']}.")
