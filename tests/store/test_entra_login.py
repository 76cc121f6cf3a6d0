"""PostgreSQL sign-in as a managed identity with an Entra token (VIGIL_DB_URL ?auth=entra).

The identity endpoint is the App Service one from tests.fakes.keyvault; the database is the local
PostgreSQL behind tests.store.entra_gateway, which checks the token as Azure does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from bot.doctor import diagnose
from bot.kernel.config import RawConfig
from bot.store import Store, StoreError, open_store
from bot.store.entra import EntraTokenUnavailable
from bot.store.postgres import POOL_MAX_SIZE
from tests.conftest import PG_URL
from tests.fakes.keyvault import KeyVaultFake
from tests.store.entra_gateway import RESOURCE, EntraGateway

CLIENT_ID = "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"


class RenewingIdentity(KeyVaultFake):
    """An identity endpoint whose answers say "renew before the next use" (refresh_in 0).

    azure-identity honours refresh_in, so every get_token asks the endpoint again: a new token
    per call, as after the cached one has come near its expiry.
    """

    async def _issue_token(self, request: web.Request) -> web.Response:
        response = await super()._issue_token(request)
        if response.status != 200:
            return response
        body = json.loads(response.text or "{}")
        return web.json_response({**body, "refresh_in": 0})


@dataclass
class Entra:
    identity: KeyVaultFake
    gateway: EntraGateway
    role: str
    schema: str

    def url(self, *extra: str, role: str | None = None) -> str:
        query = "&".join((f"schema={self.schema}", "auth=entra", f"client_id={CLIENT_ID}", *extra))
        return f"postgresql://{role or self.role}@127.0.0.1:{self.gateway.port}/test?{query}"

    def issued(self) -> list[str]:
        """Tokens the identity endpoint handed out for PostgreSQL, oldest first."""
        tokens = self.identity.tokens.items()
        return [token for token, (resource, _) in tokens if resource == RESOURCE]


async def _entra(
    identity: KeyVaultFake, pg_url: str, tmp_path, monkeypatch
) -> AsyncIterator[Entra]:
    schema = parse_qs(urlsplit(pg_url).query)["schema"][0]
    role = f"vigil-{uuid.uuid4().hex[:8]}-id"  # as Azure names it: the identity's name
    admin = await asyncpg.connect(PG_URL, timeout=10)
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    await admin.execute(f'GRANT CONNECT, CREATE ON DATABASE test TO "{role}"')
    await admin.execute(f'GRANT ALL ON SCHEMA "{schema}" TO "{role}"')
    await identity.start(tmp_path)
    for name, value in identity.environ().items():
        monkeypatch.setenv(name, value)
    gateway = await EntraGateway(identity, role).start(tmp_path)
    try:
        yield Entra(identity, gateway, role, schema)
    finally:
        await gateway.close()
        await identity.close()
        await admin.execute(f'DROP OWNED BY "{role}"')
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()


@pytest.fixture
async def entra(pg_url: str, tmp_path, monkeypatch) -> AsyncIterator[Entra]:
    async for value in _entra(KeyVaultFake(client_ids=(CLIENT_ID,)), pg_url, tmp_path, monkeypatch):
        yield value


@pytest.fixture
async def renewing(pg_url: str, tmp_path, monkeypatch) -> AsyncIterator[Entra]:
    identity = RenewingIdentity(client_ids=(CLIENT_ID,))
    async for value in _entra(identity, pg_url, tmp_path, monkeypatch):
        yield value


async def _hold_connections(store: Store, count: int) -> list[int]:
    """Run `count` transactions that all stay open until each has its own connection."""
    inside = 0
    all_inside = asyncio.Event()

    async def one() -> int:
        nonlocal inside
        async with store.transaction() as tx:
            inside += 1
            if inside == count:
                all_inside.set()
            await all_inside.wait()
            return int(await tx.fetchval("SELECT pg_backend_pid()"))

    return await asyncio.gather(*(one() for _ in range(count)))


class _LogText(logging.Handler):
    """Every record's text at DEBUG and up, exception tracebacks included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_text() -> Iterator[_LogText]:
    # The service quiets azure and msal (bot.kernel.logs.QUIET_LOGGERS); every level is checked.
    loggers = [logging.getLogger(name) for name in ("", "azure", "msal", "asyncpg")]
    levels = [logger.level for logger in loggers]
    handler = _LogText()
    logging.getLogger().addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _no_token_logged(entra: Entra, log_text: _LogText) -> None:
    text = "\n".join(log_text.lines)
    assert "ManagedIdentityCredential" in text  # the credential's own logging was captured
    for token in entra.issued():
        assert token not in text


async def test_store_signs_in_as_the_identity_with_its_token(
    entra: Entra, log_text: _LogText
) -> None:
    url = entra.url("sslmode=verify-full", f"sslrootcert={entra.gateway.ca_path}")
    store = await open_store(url)
    try:
        await store.migrate()
        assert await store.next_counter("entra") == 1
        assert await store.fetchval("SELECT current_user") == entra.role
        pids = await _hold_connections(store, 3)
        assert len(set(pids)) == 3
    finally:
        await store.close()
    assert len(entra.gateway.logins) >= 4  # schema check + pool connections
    assert all(login.accepted and login.user == entra.role for login in entra.gateway.logins)
    # One token, cached by the credential for every new connection while it is valid.
    assert entra.identity.token_requests == 1
    assert {login.password for login in entra.gateway.logins} == set(entra.issued())
    _no_token_logged(entra, log_text)


async def test_each_new_connection_gets_a_current_token(
    renewing: Entra, log_text: _LogText
) -> None:
    store = await open_store(renewing.url())
    try:
        await store.migrate()
        await _hold_connections(store, 3)
        await _hold_connections(store, 6)  # the pool grows: three more new connections
        grown = len(renewing.gateway.logins)
        # A failover closes every session: the pool reconnects, again with a new token.
        renewing.gateway.drop_connections()
        assert await _first_success(store) == renewing.role
    finally:
        await store.close()
    logins = renewing.gateway.logins
    assert all(login.accepted for login in logins), [login.reason for login in logins]
    assert grown >= 7 and len(logins) > grown  # schema check + 6 in the pool, then reconnects
    passwords = [login.password for login in logins]
    assert len(set(passwords)) == len(passwords)  # never a token used twice
    assert set(passwords) <= set(renewing.issued())
    _no_token_logged(renewing, log_text)


async def _first_success(store: Store) -> str:
    """current_user from the first query that works; each dead pooled connection fails once."""
    for _ in range(POOL_MAX_SIZE + 2):
        try:
            return str(await store.fetchval("SELECT current_user"))
        except (asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
            continue
    raise AssertionError("the pool did not reconnect")


async def test_identity_not_assigned_is_a_clear_store_error(pg_url, tmp_path, monkeypatch):
    identity = KeyVaultFake(client_ids=("00000000-0000-4000-8000-000000000000",))
    async for entra in _entra(identity, pg_url, tmp_path, monkeypatch):
        with pytest.raises(EntraTokenUnavailable) as raised:
            await open_store(entra.url())
        message = str(raised.value)
        who = f"managed identity {CLIENT_ID}"
        assert message.startswith(f"no Entra token for PostgreSQL from {who}: ")
        assert "Unable to load the proper Managed Identity" in message
        assert entra.gateway.logins == []  # no connection got as far as a password


async def test_unreachable_identity_endpoint_is_a_clear_store_error(entra, monkeypatch):
    await entra.identity.close()  # App Service's identity endpoint is gone
    with pytest.raises(EntraTokenUnavailable, match="^no Entra token for PostgreSQL from"):
        await open_store(entra.url())
    assert entra.gateway.logins == []


async def test_without_client_id_the_system_assigned_identity_is_used(entra: Entra) -> None:
    url = entra.url().replace(f"&client_id={CLIENT_ID}", "")
    store = await open_store(url)
    await store.close()
    assert [login.accepted for login in entra.gateway.logins] == [True, True]
    await entra.identity.close()
    with pytest.raises(EntraTokenUnavailable, match="system-assigned managed identity"):
        await open_store(url)


async def test_no_token_is_sent_to_a_server_without_tls(entra: Entra, tmp_path) -> None:
    impostor = await EntraGateway(entra.identity, entra.role, offer_tls=False).start(tmp_path)
    try:
        url = entra.url().replace(f":{entra.gateway.port}/", f":{impostor.port}/")
        with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
            await open_store(url)  # sslmode=require is the default with auth=entra
        assert impostor.logins == []
    finally:
        await impostor.close()


async def test_token_for_another_role_is_refused_without_showing_it(entra: Entra) -> None:
    with pytest.raises(StoreError) as raised:
        await open_store(entra.url(role="someone-else"))
    assert 'password authentication failed for user "someone-else"' in str(raised.value)
    assert entra.gateway.logins and not entra.gateway.logins[0].accepted
    for token in entra.issued():
        assert token not in str(raised.value)


async def test_doctor_names_the_missing_token(pg_url, tmp_path, monkeypatch) -> None:
    identity = KeyVaultFake(client_ids=())
    async for entra in _entra(identity, pg_url, tmp_path, monkeypatch):
        findings = await diagnose(RawConfig({}, {"VIGIL_DB_URL": entra.url()}))
        store = [f for f in findings if f.what.startswith("store")]
        assert len(store) == 1 and not store[0].ok
        assert store[0].what.startswith("store unreachable: EntraTokenUnavailable: no Entra token")
        assert CLIENT_ID in store[0].what


async def test_readyz_names_the_missing_token(renewing: Entra) -> None:
    from tests.bot.harness import Harness

    harness = await Harness.start(renewing.url())
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{harness.url}/readyz") as response:
                assert response.status == 200
            # The identity loses its assignment; the next connection needs a token it cannot get.
            renewing.identity.client_ids = ()
            renewing.gateway.drop_connections()
            await asyncio.sleep(0)
            statuses = []
            for _ in range(POOL_MAX_SIZE + 2):  # each dead pooled connection fails one ping
                async with http.get(f"{harness.url}/readyz") as response:
                    assert response.status == 503
                    statuses.append((await response.json())["checks"]["store"])
                if not statuses[-1].startswith("unreachable: StoreError"):
                    break
    finally:
        await harness.close()
    # The reason names the identity and why, never a token it was given before.
    assert statuses[-1].startswith("unreachable: EntraTokenUnavailable: no Entra token"), statuses
    assert CLIENT_ID in statuses[-1], statuses
    assert not any(token in status for token in renewing.issued() for status in statuses)
