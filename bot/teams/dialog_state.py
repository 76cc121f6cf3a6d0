"""A botbuilder `Storage` over the store, with eTag optimistic concurrency.

Dialog state holds Python objects (DialogState, DialogInstance, PromptOptions with an Activity).
They are stored as JSON with a `$type` tag, and only classes from our own and botbuilder's
packages are ever rebuilt from the database: reading state never imports or calls arbitrary code.
"""

from __future__ import annotations

import datetime as dt
import enum
import importlib
from collections.abc import Sequence
from typing import Any

from botbuilder.core import Storage

from bot.store import ConcurrencyError, Store

NAMESPACE = "botstate"
_TRUSTED_MODULES = ("botbuilder.", "dialogs.", "bot.", "cards.")
_TYPE = "$type"


class StateConflictError(ConcurrencyError, KeyError):
    """The stored state changed since it was read (a KeyError, as MemoryStorage raises)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class StateCodecError(ValueError):
    """Stored state names a type that may not be rebuilt, or is not valid encoded state."""


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _trusted_class(path: Any) -> type:
    if not isinstance(path, str) or ":" not in path:
        raise StateCodecError("stored state has a malformed type name")
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith(_TRUSTED_MODULES):
        raise StateCodecError(f"stored state names an untrusted type {path!r}")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise StateCodecError(f"stored state names an unknown type {path!r}") from None
    if not isinstance(target, type):
        raise StateCodecError(f"stored state names {path!r}, which is not a class")
    return target


def encode(value: Any) -> Any:
    """JSON-compatible form of a state value."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("bot state dicts need string keys")
        body = {key: encode(item) for key, item in value.items()}
        return {_TYPE: "dict", "v": body} if _TYPE in value else body
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, dt.datetime):
        return {_TYPE: "datetime", "v": value.isoformat()}
    if isinstance(value, enum.Enum):
        return {_TYPE: "enum", "class": _class_path(type(value)), "v": encode(value.value)}
    if hasattr(value, "__dict__") and type(value).__module__.startswith(_TRUSTED_MODULES):
        fields = {key: encode(item) for key, item in vars(value).items()}
        return {_TYPE: "object", "class": _class_path(type(value)), "v": fields}
    raise TypeError(f"cannot store a {type(value).__name__} in bot state")


def decode(value: Any) -> Any:
    """Inverse of `encode`; raises StateCodecError for untrusted or malformed input."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if not isinstance(value, dict):
        return value
    if _TYPE not in value:
        return {key: decode(item) for key, item in value.items()}
    kind, body = value.get(_TYPE), value.get("v")
    if kind == "dict" and isinstance(body, dict):
        return {key: decode(item) for key, item in body.items()}
    if kind == "datetime" and isinstance(body, str):
        try:
            return dt.datetime.fromisoformat(body)
        except ValueError:
            raise StateCodecError("stored state has a malformed datetime") from None
    if kind == "enum":
        cls = _trusted_class(value.get("class"))
        if not issubclass(cls, enum.Enum):
            raise StateCodecError("stored enum type is not an Enum")
        try:
            return cls(decode(body))
        except ValueError:
            raise StateCodecError("stored state has an unknown enum value") from None
    if kind == "object" and isinstance(body, dict):
        cls = _trusted_class(value.get("class"))
        if issubclass(cls, enum.Enum | BaseException):
            raise StateCodecError("stored object type may not be rebuilt")
        # __new__ plus the saved attributes: no constructor or property code runs.
        obj = cls.__new__(cls)
        obj.__dict__.update({key: decode(item) for key, item in body.items()})
        return obj
    raise StateCodecError("stored state has a malformed $type entry")


def _etag_of(item: Any) -> str | None:
    return item.get("e_tag") if isinstance(item, dict) else getattr(item, "e_tag", None)


def _set_etag(item: Any, etag: str) -> None:
    if isinstance(item, dict):
        item["e_tag"] = etag
    elif hasattr(item, "__dict__"):
        item.e_tag = etag


class StoreStorage(Storage):
    """Bot state in the store: survives restarts and is shared by several instances.

    Every item read carries an `e_tag`; writing it back with that e_tag fails with
    StateConflictError if another instance wrote in between. No e_tag or "*" writes
    unconditionally. A successful write updates the item's e_tag in place, so a second save
    in the same turn does not conflict with the first.
    """

    def __init__(self, store: Store, namespace: str = NAMESPACE) -> None:
        self._store = store
        self._namespace = namespace

    async def read(self, keys: Sequence[str]) -> dict[str, Any]:
        if not keys:
            return {}
        found = await self._store.kv_read(self._namespace, list(keys))
        items: dict[str, Any] = {}
        for key, (document, etag) in found.items():
            item = decode(document.get("item"))
            _set_etag(item, etag)
            items[key] = item
        return items

    async def write(self, changes: dict[str, Any]) -> None:
        if changes is None:
            raise ValueError("changes are required when writing")
        for key, item in changes.items():
            etag = _etag_of(item)
            if etag == "":
                raise ValueError(f"bot state {key!r}: empty e_tag")
            encoded = encode(item)
            body = encoded.get("v") if isinstance(encoded, dict) and _TYPE in encoded else encoded
            if isinstance(body, dict):
                body.pop("e_tag", None)
            try:
                new_etag = await self._store.kv_write(self._namespace, key, {"item": encoded}, etag)
            except ConcurrencyError:
                raise StateConflictError(f"bot state {key!r} changed since it was read") from None
            _set_etag(item, new_etag)

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            await self._store.kv_delete(self._namespace, list(keys))
