"""Database URLs: `sqlite:///PATH`, `sqlite:///:memory:` and `postgresql://...[?schema=NAME]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.config import Setting

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PG_SCHEMES = ("postgresql", "postgres")


class StoreUrlError(ValueError):
    """The database URL is malformed; the message shows it with any password masked."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed URL: `path` for SQLite, `dsn` (without our own parameters) for PostgreSQL."""

    dialect: str
    path: str = ""
    dsn: str = ""
    schema: str | None = None


def mask_url(url: str) -> str:
    """The URL with the password, if any, replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


def parse_store_url(url: str) -> StoreUrl:
    """Parse and validate a database URL, raising StoreUrlError naming what was expected."""
    if not isinstance(url, str) or not url.strip():
        raise StoreUrlError("expected a database URL such as sqlite:///./vigil.db")
    url = url.strip()
    shown = mask_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreUrlError(f"{shown!r}: expected sqlite:///PATH or postgresql://user@host/db")
    if scheme == "sqlite":
        return _parse_sqlite(rest, shown)
    if scheme in _PG_SCHEMES:
        return _parse_postgresql(url, shown)
    raise StoreUrlError(f"{shown!r}: unsupported scheme {scheme!r}; expected sqlite or postgresql")


def _parse_sqlite(rest: str, shown: str) -> StoreUrl:
    # As in SQLAlchemy: sqlite:///relative.db and sqlite:////absolute/path.db.
    if not rest.startswith("/"):
        raise StoreUrlError(f"{shown!r}: expected sqlite:///PATH (three slashes, no host)")
    path = rest[1:]
    if not path or "\x00" in path or "?" in path:
        raise StoreUrlError(f"{shown!r}: expected a file path or :memory: after sqlite:///")
    return StoreUrl("sqlite", path=path)


def _parse_postgresql(url: str, shown: str) -> StoreUrl:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise StoreUrlError(f"{shown!r}: {exc}") from None
    if not parts.hostname:
        raise StoreUrlError(f"{shown!r}: expected postgresql://user@host[:port]/database")
    query = []
    schema = None
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "schema":
            if not _SCHEMA_NAME.fullmatch(value):
                raise StoreUrlError(f"{shown!r}: schema must be a plain SQL identifier")
            schema = value
        else:
            query.append((name, value))
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
    return StoreUrl("postgresql", dsn=dsn, schema=schema)


def parse_db_url(value: Any) -> str:
    """Config parser for `db.url`: validates and returns the URL text."""
    if not isinstance(value, str):
        raise ValueError("expected a database URL string")
    parse_store_url(value)
    return value.strip()


DB_URL = Setting(
    "db.url",
    "VIGIL_DB_URL",
    parse_db_url,
    "sqlite:///./vigil.db",
    help="sqlite:///PATH (relative), sqlite:////ABSOLUTE/PATH or postgresql://user@host:port/db",
    secret=True,  # may embed a password; errors and `config check` must not show it
)
