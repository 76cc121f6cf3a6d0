"""Root fixtures: a hermetic run, a migrated `store` on SQLite and on PostgreSQL, and a
fresh-schema `pg_url`."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture(scope="session", autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite never reads what a developer's `vigil dev` or shell left behind: the checkout's
    ./vigil.toml, ./vigil.db and ./.vigil, ~/.config/vigil, or an exported VIGIL_* setting.

    Tests, and the processes they start (which inherit this environment), run in an empty folder
    with an empty config file named by VIGIL_CONFIG and an empty user config directory; a test
    that looks for config files itself unsets VIGIL_CONFIG and makes its own folders."""
    home = tmp_path_factory.mktemp("hermetic")
    work = home / "work"
    work.mkdir()
    config = home / "vigil.toml"
    config.write_text("# the test suite's configuration: every default\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("VIGIL_") and not name.startswith("VIGIL_TEST_"):
                patch.delenv(name)
        patch.setenv("VIGIL_CONFIG", str(config))
        patch.setenv("XDG_CONFIG_HOME", str(home / "config"))
        # Out of the checkout, a child process (`python -m tests.fakes.mde`) still finds `tests`
        # and `bench`, as pytest's `pythonpath = ["."]` lets this process.
        paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        patch.setenv("PYTHONPATH", os.pathsep.join(paths))
        patch.chdir(work)
        yield


@pytest.fixture(autouse=True)
def own_local_state(
    hermetic: None, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test gets its own empty folder and config file: what one test's `vigil serve --local`
    writes beside them (.vigil/secrets, ./vigil.db) is never seen by the next."""
    home = tmp_path_factory.mktemp("local")
    (home / "work").mkdir()
    config = home / "vigil.toml"
    config.write_text("# the test suite's configuration: every default\n", encoding="utf-8")
    monkeypatch.setenv("VIGIL_CONFIG", str(config))
    monkeypatch.chdir(home / "work")


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
