"""Fixtures for the connector tests: one outbound HTTP session and Services on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import aiohttp
import pytest

from bot.app import build_services
from bot.kernel.commands import CommandRegistry
from bot.kernel.config import RawConfig
from bot.kernel.rbac import RoleMap
from bot.kernel.services import Services
from bot.store import Store, open_store

AUDIT_KEY = "containment-test-audit-key-0123456789"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = aiohttp.ClientSession(trust_env=False)
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture
async def sqlite_store(sqlite_url) -> AsyncIterator[Store]:
    opened = await open_store(sqlite_url)
    try:
        await opened.migrate()
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def make_services(sqlite_store, http) -> Callable[[Mapping[str, str]], Services]:
    """Services from an environment (plus an audit key), as start_vigil builds them."""

    def make(environ: Mapping[str, str]) -> Services:
        raw = RawConfig({}, {"VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY, **environ})
        return build_services(raw, sqlite_store, http, CommandRegistry([]), RoleMap())

    return make
