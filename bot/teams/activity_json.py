"""An outgoing activity as the Bot Connector's JSON, without msrest's serializer.

msrest's `Model.serialize()` builds a Serializer over every model class of the schema and
dispatches each attribute through several layers: about a fifth of a `whoami` turn's CPU. The
activities Vigil sends are plain: strings, a flag, nested accounts, attachments whose content is
a card of JSON values. For those `activity_json` walks the attribute maps itself and gives the
same dict as `serialize()`, key for key and in the same order (tests/bot/test_activity_json.py
compares them); anything else (a timestamp, a model inside `channelData`, a tuple in a card)
goes to `serialize()`, so the result never differs.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from botbuilder.schema import Activity
from msrest.serialization import Model


class _Unusual(Exception):
    """A value the direct walk does not serialize exactly as msrest would."""


def activity_json(activity: Activity) -> dict[str, Any]:
    """`activity.serialize()`, made directly for the plain shapes Vigil sends."""
    direct = direct_json(activity)
    return activity.serialize() if direct is None else direct


def direct_json(activity: Activity) -> dict[str, Any] | None:
    """The activity's JSON made without msrest; None when it holds a value the direct walk does
    not serialize exactly as msrest would."""
    try:
        return _model(activity)
    except _Unusual:
        return None


def _model(model: Model) -> dict[str, Any]:
    # msrest: attributes in map order, readonly ones left out, None left out.
    out: dict[str, Any] = {}
    validation = model._validation
    for name, description in model._attribute_map.items():
        if validation and validation.get(name, {}).get("readonly", False):
            continue
        value = getattr(model, name)
        if value is None:
            continue
        key = description["key"]
        if not key or "." in key:
            # Additional properties spread into the object, or a flattened key path.
            raise _Unusual(name)
        out[key] = _value(value, description["type"])
    return out


def _value(value: Any, kind: str) -> Any:
    if kind == "str":
        if type(value) is str:
            return value
        if isinstance(value, Enum) and type(value.value) is str:
            return value.value  # msrest sends an enum's value (ActivityTypes.message: "message")
        raise _Unusual(kind)
    if kind == "bool":
        if type(value) is bool:
            return value
        raise _Unusual(kind)
    if kind == "object":
        if _plain(value):
            return value
        raise _Unusual(kind)
    if kind.startswith("[") and kind.endswith("]") and type(value) is list:
        item_kind = kind[1:-1]
        return [_value(item, item_kind) for item in value]
    if isinstance(value, Model) and kind[:1].isupper():
        return _model(value)
    raise _Unusual(kind)


def _plain(value: Any) -> bool:
    """True for JSON made of exactly str, int, float, bool, None, dict (str keys) and list: what
    msrest's `serialize_object` passes through unchanged (it turns a tuple into its repr)."""
    kind = type(value)
    if kind is dict:
        return all(type(key) is str and _plain(item) for key, item in value.items())
    if kind is list:
        return all(_plain(item) for item in value)
    return value is None or kind is str or kind is int or kind is float or kind is bool
