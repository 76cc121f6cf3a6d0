"""End to end: a secret rotates in the local Key Vault mid-run; callers never see a failure and
no secret value or access token reaches the logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import aiohttp
import pytest
from aiohttp import web

from bot.kernel.config import RawConfig
from bot.kernel.logs import configure_logging, new_correlation_id
from bot.kernel.redaction import Redactor
from bot.secrets.source import (
    CredentialRejected,
    Secret,
    call_with_rotation,
    secret_source_from_config,
)

NAME = "virustotal-api-key"
OLD = "vt-0ld-Key-7Hq2x9Lm4Pz8Rw1Ty6Bn3Vc5"
NEW = "vt-n3w-Key-2Fd8k1Js7Qa4Xe9Uo0Ih6Gp3"


class IntelApiFake:
    """A lookup API that accepts only the vault's current key in `x-apikey`, else 401 JSON."""

    def __init__(self, vault) -> None:
        self.vault = vault
        self.rejected = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> IntelApiFake:
        app = web.Application()
        app.router.add_get("/api/v3/ip_addresses/{ip}", self._lookup)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def _lookup(self, request: web.Request) -> web.Response:
        current = self.vault.secrets[NAME][-1].value
        if request.headers.get("x-apikey") != current:
            self.rejected += 1
            return web.json_response(
                {"error": {"code": "WrongCredentialsError", "message": "Wrong API key"}}, status=401
            )
        return web.json_response({"data": {"id": request.match_info["ip"], "type": "ip_address"}})

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def lookup(session: aiohttp.ClientSession, base: str, ip: str, secret: Secret) -> dict:
    """What an intel client does: send the key, turn 401/403 into CredentialRejected."""
    headers = {"x-apikey": secret.reveal()}
    async with session.get(f"{base}/api/v3/ip_addresses/{ip}", headers=headers) as response:
        if response.status in (401, 403):
            raise CredentialRejected("virustotal", response.status)
        response.raise_for_status()
        return await response.json()


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory())
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.setLogRecordFactory(saved[2])


async def test_rotation_mid_run_is_invisible_and_nothing_leaks(vault, captured_logs):
    vault.set_secret(NAME, OLD)
    vault.set_secret("audit-hmac-key", "audit-Key-9Zx8Cv7Bn6Mm5")
    redactor = Redactor.from_config(RawConfig())
    configure_logging("DEBUG", redactor, captured_logs)
    log = logging.getLogger("vigil.test.rotation")

    raw = RawConfig({}, {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_CA_BUNDLE": vault.ca_path})
    source = secret_source_from_config(raw, on_value=redactor.remember)
    api = await IntelApiFake(vault).start()
    results: list[dict] = []
    try:
        async with aiohttp.ClientSession() as session:

            async def one(ip: str) -> None:
                new_correlation_id()
                result = await call_with_rotation(
                    source, NAME, lambda secret: lookup(session, api.url, ip, secret)
                )
                results.append(result)
                secret = await source.get(NAME)
                # Careless logging on purpose: the value, a header, an exception with the value.
                log.info("looked up %s with key %s", ip, secret.reveal())
                log.debug("headers: %s", {"x-apikey": secret.reveal()})

            await asyncio.gather(*(one(f"198.51.100.{i}") for i in range(10)))
            vault.set_secret(NAME, NEW)  # rotation in Key Vault, cache still holds OLD
            await asyncio.gather(*(one(f"203.0.113.{i}") for i in range(10)))
            new_correlation_id()
            audit_key = await source.get("audit-hmac-key")
            try:
                raise RuntimeError(f"signing failed with {audit_key.reveal()}")
            except RuntimeError:
                log.exception("audit append failed for Authorization: Bearer %s", OLD)
    finally:
        await api.close()
        await source.close()

    assert len(results) == 20
    assert api.rejected >= 1  # the old key was really refused after the rotation
    # One read at start plus re-reads after rejections; never one per request.
    assert vault.secret_gets[NAME] <= 1 + api.rejected

    output = captured_logs.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert lines, "the run logged nothing"
    for value in (OLD, NEW, "audit-Key-9Zx8Cv7Bn6Mm5", *vault.tokens):
        assert value not in output
    assert any("exception" in line and "[REDACTED]" in line["exception"] for line in lines)
    assert {line["logger"] for line in lines} >= {"vigil.test.rotation"}
    assert all(line["correlation_id"] for line in lines if line["logger"] == "vigil.test.rotation")
