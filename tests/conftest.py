"""Root fixtures: a migrated `store` on SQLite and on PostgreSQL, and a fresh-schema `pg_url`."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.store import Store, open_store

PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_URL, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        host = urlsplit(PG_URL).hostname
        pytest.fail(
            f"PostgreSQL at {host} (VIGIL_TEST_PG_URL) is unreachable: {exc}. Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`.",
            pytrace=False,
        )


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL URL whose `schema` parameter names a fresh schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await _pg_admin()
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield _with_schema(PG_URL, schema)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    """A SQLite URL naming a file in the test's temporary directory."""
    yield f"sqlite:///{tmp_path / 'vigil.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A database URL, once per backend."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated store, once per backend."""
    opened = await open_store(store_url)
    try:
        await opened.migrate()
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    """Every log record of the run is checked for the secret values the suite configures."""
    from tests.secrets_in_logs import LogWatch

    watch = LogWatch()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(watch)
        root.setLevel(previous)
    assert not watch.leaks, f"secret values in the logs: {watch.leaks[:3]}"
