"""Database URLs: `sqlite:///PATH`, `sqlite:///:memory:` and `postgresql://...[?schema=NAME]`.

PostgreSQL URLs take our own parameters besides libpq's: `schema=NAME`, and `auth=entra` (with
`client_id=GUID` of a user-assigned managed identity, `credential=default` for a developer's
`az login`) to sign in with an Entra ID access token instead of a password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from bot.kernel.config import Setting

_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_PG_SCHEMES = ("postgresql", "postgres")
_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_AUTH_MODES = ("password", "entra")
_CREDENTIALS = ("managed-identity", "default")
# A token is a bearer credential: it may only travel over TLS.
_TLS_SSLMODES = ("require", "verify-ca", "verify-full")


class StoreUrlError(ValueError):
    """The database URL is malformed; the message shows it with any password masked."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed URL: `path` for SQLite, `dsn` (without our own parameters) for PostgreSQL."""

    dialect: str
    path: str = ""
    dsn: str = ""
    schema: str | None = None
    auth: str = "password"  # or "entra": the password is an Entra ID access token
    client_id: str = ""  # user-assigned managed identity; empty for the system-assigned one
    credential: str = "managed-identity"  # or "default" (DefaultAzureCredential, development)


def mask_url(url: str) -> str:
    """The URL with the password, if any (user info or libpq's `password=`), replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable URL>"
    if not password and not _QUERY_PASSWORD.search(parts.query):
        return url
    if password:
        userinfo, _, hostinfo = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:***@{hostinfo}")
    return urlunsplit(parts._replace(query=_QUERY_PASSWORD.sub(r"\1***", parts.query)))


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
    query: list[tuple[str, str]] = []
    ours: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in ("schema", "auth", "client_id", "credential"):
            if name in ours:
                raise StoreUrlError(f"{shown!r}: {name} is given twice")
            ours[name] = value
        else:
            query.append((name, value))
    schema = ours.get("schema")
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise StoreUrlError(f"{shown!r}: schema must be a plain SQL identifier")
    auth = ours.get("auth", "password")
    if auth not in _AUTH_MODES:
        raise StoreUrlError(f"{shown!r}: auth must be password or entra")
    if auth == "entra":
        query = _entra_query(parts, query, shown)
    elif "client_id" in ours or "credential" in ours:
        raise StoreUrlError(f"{shown!r}: client_id and credential only apply with auth=entra")
    client_id = ours.get("client_id", "")
    if client_id and not _GUID.fullmatch(client_id):
        raise StoreUrlError(f"{shown!r}: client_id must be the managed identity's client id (GUID)")
    credential = ours.get("credential", "managed-identity")
    if credential not in _CREDENTIALS:
        raise StoreUrlError(f"{shown!r}: credential must be managed-identity or default")
    dsn = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(query)))
    return StoreUrl(
        "postgresql",
        dsn=dsn,
        schema=schema,
        auth=auth,
        client_id=client_id,
        credential=credential,
    )


def _entra_query(
    parts: SplitResult, query: list[tuple[str, str]], shown: str
) -> list[tuple[str, str]]:
    """Check an auth=entra URL: a user (the identity's name), no password, TLS (default require)."""
    if not parts.username:
        raise StoreUrlError(
            f"{shown!r}: auth=entra needs the user name, the managed identity's name "
            "(postgresql://IDENTITY-NAME@host/db)"
        )
    if parts.password is not None or any(name == "password" for name, _ in query):
        raise StoreUrlError(f"{shown!r}: auth=entra takes no password: the token is the password")
    sslmodes = [value for name, value in query if name == "sslmode"]
    if not sslmodes:
        return [*query, ("sslmode", "require")]
    if len(sslmodes) > 1 or sslmodes[0] not in _TLS_SSLMODES:
        raise StoreUrlError(
            f"{shown!r}: auth=entra sends an access token, so sslmode must be one of "
            + ", ".join(_TLS_SSLMODES)
        )
    return query


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
    help="sqlite:///PATH (relative), sqlite:////ABSOLUTE/PATH or postgresql://user@host:port/db"
    " (add ?auth=entra&client_id=GUID to sign in as a managed identity with an Entra token)",
    secret=True,  # may embed a password; errors and `config check` must not show it
)
