"""Rotating an alert key: the owner's new key works at once whatever an attacker did before, an
old key stops within VIGIL_ALERTS_KEY_TTL, a `-next` key gives a handover with no refused post,
and a flood of bad posts costs the secret source a bounded number of reads.

Keys live in a real secret source: a directory with one file per secret (VIGIL_SECRETS_DIR), or
the local Key Vault (tests/fakes/keyvault.py), which counts the GETs it answers.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest

from bot.alerts.keys import REREAD_INTERVAL
from bot.app import start_vigil, stop_vigil
from bot.kernel.config import ConfigError, RawConfig
from tests.alerts.webhook import post, signed_headers
from tests.bot.harness import AUDIT_KEY, Harness
from tests.fakes.keyvault import KeyVaultFake
from tests.secrets.conftest import AZURE_VARIABLES

OLD = "old-alert-key-0123456789abcdef"
NEW = "new-alert-key-fedcba9876543210"
ATTACKER = "attacker-guess-000000000000000"
KEY = "alerts-generic-hmac-key"
NEXT = "alerts-generic-hmac-key-next"


def _body() -> bytes:
    return json.dumps({"title": f"rotation {uuid.uuid4()}", "severity": "low"}).encode()


async def _post_with(url: str, key: str) -> int:
    body = _body()
    status, _ = await post(
        url, "generic", raw=body, signed=False, headers=signed_headers(body, key=key)
    )
    return status


class SecretsDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def delete(self, name: str) -> None:
        (self.path / name).unlink()


@pytest.fixture
def secrets_dir(tmp_path) -> SecretsDir:
    path = tmp_path / "secrets"
    path.mkdir()
    return SecretsDir(path)


async def _start(sqlite_url: str, secrets: SecretsDir, **env: str) -> Harness:
    return await Harness.start(sqlite_url, {"VIGIL_SECRETS_DIR": str(secrets.path), **env})


async def test_an_attackers_bad_post_does_not_block_the_owners_rotation(sqlite_url, secrets_dir):
    secrets_dir.set(KEY, OLD)
    bot = await _start(sqlite_url, secrets_dir)
    try:
        assert await _post_with(bot.url, OLD) == 202
        assert await _post_with(bot.url, ATTACKER) == 401  # spends any re-read budget
        secrets_dir.set(KEY, NEW)
        # The owner's first post with the new key, and every one after it, is accepted.
        assert [await _post_with(bot.url, NEW) for _ in range(3)] == [202, 202, 202]
        assert await _post_with(bot.url, ATTACKER) == 401
    finally:
        await bot.close()


async def test_attackers_between_rotation_and_the_owners_post_do_not_block_it(
    sqlite_url, secrets_dir
):
    secrets_dir.set(KEY, OLD)
    bot = await _start(sqlite_url, secrets_dir)
    try:
        assert await _post_with(bot.url, OLD) == 202
        secrets_dir.set(KEY, NEW)
        attackers = [asyncio.ensure_future(_post_with(bot.url, ATTACKER)) for _ in range(20)]
        assert await _post_with(bot.url, NEW) == 202
        assert set(await asyncio.gather(*attackers)) == {401}
    finally:
        await bot.close()


async def test_an_old_key_is_refused_once_the_key_ttl_has_passed(sqlite_url, secrets_dir):
    secrets_dir.set(KEY, OLD)
    bot = await _start(sqlite_url, secrets_dir, VIGIL_ALERTS_KEY_TTL="1")
    try:
        assert await _post_with(bot.url, OLD) == 202
        secrets_dir.set(KEY, NEW)  # rotated because the old one leaked
        await asyncio.sleep(1.2)  # the TTL (1 s): a post now may not use what was read before
        assert await _post_with(bot.url, OLD) == 401
        assert await _post_with(bot.url, NEW) == 202
    finally:
        await bot.close()


async def test_a_handover_through_the_next_key_refuses_no_post(sqlite_url, secrets_dir):
    secrets_dir.set(KEY, OLD)
    bot = await _start(sqlite_url, secrets_dir)
    try:
        statuses = [await _post_with(bot.url, OLD)]
        secrets_dir.set(NEXT, NEW)  # 1. the new key goes in as -next: both are accepted
        statuses += [await _post_with(bot.url, key) for key in (OLD, NEW, OLD, NEW)]
        secrets_dir.set(KEY, NEW)  # 2. the sender has switched: the new key becomes the key
        statuses += [await _post_with(bot.url, NEW)]
        secrets_dir.delete(NEXT)  # 3. and -next goes
        statuses += [await _post_with(bot.url, NEW) for _ in range(2)]
        assert statuses == [202] * 8
        assert await _post_with(bot.url, ATTACKER) == 401
    finally:
        await bot.close()


async def test_a_source_with_only_a_next_key_accepts_it(sqlite_url, secrets_dir):
    secrets_dir.set(NEXT, NEW)
    bot = await _start(sqlite_url, secrets_dir)
    try:
        assert await _post_with(bot.url, NEW) == 202
        assert await _post_with(bot.url, OLD) == 401
    finally:
        await bot.close()


async def test_a_source_configured_while_running_is_accepted_without_waiting_for_the_ttl(
    sqlite_url, secrets_dir
):
    bot = await _start(sqlite_url, secrets_dir)
    try:
        status, answer = await post(bot.url, "generic", {"title": "t", "severity": "low"})
        assert (status, "not configured" in answer["error"]) == (401, True)
        secrets_dir.set(KEY, NEW)
        assert await _post_with(bot.url, NEW) == 202
    finally:
        await bot.close()


@pytest.fixture
async def vault(tmp_path, monkeypatch):
    for name in AZURE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    fake = await KeyVaultFake().start(tmp_path)
    for name, value in fake.environ().items():
        monkeypatch.setenv(name, value)
    fake.set_secret("audit-hmac-key", AUDIT_KEY)
    yield fake
    await fake.close()


async def test_a_flood_of_bad_posts_reads_the_vault_a_bounded_number_of_times(sqlite_url, vault):
    vault.set_secret(KEY, OLD)
    env = {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_CA_BUNDLE": vault.ca_path}
    bot = await Harness.start(sqlite_url, env)
    try:
        assert await _post_with(bot.url, OLD) == 202
        before = vault.secret_gets[KEY]
        started = time.monotonic()
        flood = await asyncio.gather(*(_post_with(bot.url, ATTACKER) for _ in range(300)))
        elapsed = time.monotonic() - started
        reads = vault.secret_gets[KEY] - before
        assert set(flood) == {401}
        # One read may start per interval, plus the one in flight when the flood began.
        assert 1 <= reads <= 2 + elapsed / REREAD_INTERVAL, (reads, elapsed)
        vault.set_secret(KEY, NEW)  # and the owner's rotation still works at once
        assert await _post_with(bot.url, NEW) == 202
    finally:
        await bot.close()


async def test_a_vault_that_cannot_answer_is_503_and_recovers_within_the_interval(
    sqlite_url, vault
):
    vault.set_secret(KEY, OLD)
    vault.forbidden.add(KEY)
    env = {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_CA_BUNDLE": vault.ca_path}
    bot = await Harness.start(sqlite_url, env)
    try:
        body = _body()
        status, answer = await post(
            bot.url, "generic", raw=body, signed=False, headers=signed_headers(body, key=OLD)
        )
        assert (status, answer) == (503, {"error": "credentials cannot be checked now"})
        vault.forbidden.discard(KEY)
        await asyncio.sleep(REREAD_INTERVAL)  # a failed read is remembered this long, no longer
        assert await _post_with(bot.url, OLD) == 202
    finally:
        await bot.close()


@pytest.mark.parametrize("ttl", ["nan", "inf", "0", "-5", "3601", "sixty", ""])
async def test_a_bad_key_ttl_refuses_to_start(ttl, sqlite_url):
    env = {"VIGIL_DB_URL": sqlite_url, "VIGIL_ALERTS_KEY_TTL": ttl}
    with pytest.raises(ConfigError) as caught:
        vigil = await start_vigil(RawConfig({}, env, "vigil.toml"))
        await stop_vigil(vigil, 1)  # only reached if the bad setting was accepted
    assert "VIGIL_ALERTS_KEY_TTL" in str(caught.value) or "alerts.key_ttl" in str(caught.value)
