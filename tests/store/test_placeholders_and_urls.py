"""Placeholder rewriting and database URL validation (no database needed)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, RawConfig
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


def test_non_string_url() -> None:
    with pytest.raises(StoreUrlError):
        parse_store_url(None)  # type: ignore[arg-type]


def test_mask_url() -> None:
    assert mask_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert "s3cret" not in mask_url("postgresql://u:s3cret@[::1/db")


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


async def test_unopenable_sqlite_file_is_a_store_error(tmp_path) -> None:
    with pytest.raises(StoreError):
        await open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db")
