"""Placeholder rewriting and database URL validation (no database needed)."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.kernel.config import ConfigError, RawConfig
from bot.store import DB_URL, StoreError, StoreUrlError, mask_url, open_store, parse_store_url
from bot.store.placeholders import to_numbered


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ?, ?", "SELECT $1, $2"),
        ("SELECT '?', ?", "SELECT '?', $1"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
        ('SELECT "col?" FROM t WHERE a = ?', 'SELECT "col?" FROM t WHERE a = $1'),
        ("SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2"),
        ("SELECT /* ? */ ?", "SELECT /* ? */ $1"),
        ("SELECT $$ ? $$, ?", "SELECT $$ ? $$, $1"),
        ("SELECT $tag$ '?' $tag$, ?", "SELECT $tag$ '?' $tag$, $1"),
        ("SELECT E'\\' ?', ?", "SELECT E'\\' ?', $1"),
        ("SELECT 'unterminated ?", "SELECT 'unterminated ?"),
        ("SELECT $1", "SELECT $1"),
    ],
)
def test_to_numbered(sql: str, expected: str) -> None:
    assert to_numbered(sql) == expected


@given(st.text(alphabet="?'\"-/* ab\n\\E", max_size=60))
def test_to_numbered_only_replaces_question_marks(sql: str) -> None:
    out = to_numbered(sql)
    assert re.sub(r"\$\d+", "?", out) == sql
    numbers = [int(n) for n in re.findall(r"\$(\d+)", out)]
    assert numbers == list(range(1, len(numbers) + 1))


@pytest.mark.parametrize(
    ("url", "dialect", "detail"),
    [
        ("sqlite:///./vigil.db", "sqlite", "./vigil.db"),
        ("sqlite:////tmp/abs.db", "sqlite", "/tmp/abs.db"),
        ("sqlite:///:memory:", "sqlite", ":memory:"),
        ("postgresql://u@127.0.0.1:5432/db", "postgresql", None),
        ("postgres://u@127.0.0.1/db?schema=s1&sslmode=disable", "postgresql", "s1"),
    ],
)
def test_valid_urls(url: str, dialect: str, detail: str | None) -> None:
    parsed = parse_store_url(url)
    assert parsed.dialect == dialect
    if dialect == "sqlite":
        assert parsed.path == detail
    else:
        assert parsed.schema == detail
        assert "schema=" not in parsed.dsn


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "vigil.db",
        "mysql://u:pw@127.0.0.1/db",
        "sqlite://host/file.db",
        "sqlite:///",
        "sqlite:///file.db?mode=ro",
        "postgresql:///db",
        "postgresql://u:pw@127.0.0.1:notaport/db",
        "postgresql://u:pw@127.0.0.1/db?schema=x;drop",
        "postgresql://u:pw@127.0.0.1/db?schema=",
        'postgresql://u:pw@127.0.0.1/db?schema="a"',
    ],
)
def test_malformed_urls_give_a_clear_error_without_the_password(url: str) -> None:
    with pytest.raises(StoreUrlError) as info:
        parse_store_url(url)
    message = str(info.value)
    assert "expected" in message or "schema" in message or "port" in message.lower()
    assert "pw" not in message


GUID = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"
HOST = "vigil-pg.postgres.database.azure.com"


def test_entra_url_defaults_to_tls_and_keeps_our_parameters_out_of_the_dsn() -> None:
    parsed = parse_store_url(f"postgresql://vigil-id@{HOST}/vigil?auth=entra&client_id={GUID}")
    assert (parsed.auth, parsed.client_id, parsed.credential) == ("entra", GUID, "managed-identity")
    assert parsed.dsn == f"postgresql://vigil-id@{HOST}/vigil?sslmode=require"
    verify = parse_store_url(
        f"postgresql://vigil-id@{HOST}/vigil?sslmode=verify-full&auth=entra&credential=default"
    )
    assert verify.dsn.endswith("?sslmode=verify-full") and verify.client_id == ""
    assert verify.credential == "default"
    assert parse_store_url(f"postgresql://u@{HOST}/db").auth == "password"


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("auth=kerberos", "auth must be password or entra"),
        ("auth=entra&auth=password", "auth is given twice"),
        ("schema=a&schema=b", "schema is given twice"),
        ("auth=entra&sslmode=disable", "sslmode must be one of require"),
        ("auth=entra&sslmode=prefer", "sslmode must be one of require"),
        ("auth=entra&sslmode=require&sslmode=disable", "sslmode must be one of"),
        ("auth=entra&password=pw", "auth=entra takes no password"),
        ("auth=entra&client_id=not-a-guid", "client_id must be the managed identity"),
        (f"auth=entra&client_id={GUID}%0a", "client_id must be"),
        (f"auth=entra&client_id={GUID},{GUID}", "client_id must be"),
        ("auth=entra&credential=cli", "credential must be managed-identity or default"),
        (f"client_id={GUID}", "only apply with auth=entra"),
        ("credential=default", "only apply with auth=entra"),
    ],
)
def test_malformed_entra_parameters_are_named(query: str, complaint: str) -> None:
    with pytest.raises(StoreUrlError, match=complaint) as info:
        parse_store_url(f"postgresql://vigil-id@{HOST}/vigil?{query}")
    assert "pw" not in str(info.value).replace("password", "")


def test_entra_needs_the_identity_name_and_no_password() -> None:
    with pytest.raises(StoreUrlError, match="needs the user name"):
        parse_store_url(f"postgresql://{HOST}/vigil?auth=entra")
    with pytest.raises(StoreUrlError, match="takes no password") as info:
        parse_store_url(f"postgresql://vigil-id:hunter2@{HOST}/vigil?auth=entra")
    assert "hunter2" not in str(info.value)


def test_non_string_url() -> None:
    with pytest.raises(StoreUrlError):
        parse_store_url(None)  # type: ignore[arg-type]


def test_mask_url() -> None:
    assert mask_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert "s3cret" not in mask_url("postgresql://u:s3cret@[::1/db")
    assert (
        mask_url("postgresql://u@h/db?password=s3cret&x=1")
        == "postgresql://u@h/db?password=***&x=1"
    )


def test_db_url_setting_names_the_key_and_hides_the_password() -> None:
    raw = RawConfig({}, {"VIGIL_DB_URL": "mysql://admin:hunter2@127.0.0.1/db"})
    with pytest.raises(ConfigError) as info:
        raw.get(DB_URL)
    assert "db.url" in str(info.value)
    assert "hunter2" not in str(info.value)
    assert RawConfig({}, {}).get(DB_URL) == "sqlite:///./vigil.db"


async def test_unreachable_postgresql_is_a_store_error_without_password() -> None:
    with pytest.raises(StoreError) as info:
        await open_store("postgresql://postgres:hunter2@127.0.0.1:1/test")
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1" in str(info.value)


def _aiosqlite_workers() -> set[int | None]:
    return {t.ident for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def test_unopenable_sqlite_file_is_a_store_error(tmp_path) -> None:
    before = _aiosqlite_workers()
    with pytest.raises(StoreError):
        await open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db")
    # No connection thread is left to resolve a future after this test's event loop is closed.
    assert _aiosqlite_workers() <= before
