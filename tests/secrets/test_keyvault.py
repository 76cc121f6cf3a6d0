"""The Key Vault backend through the real azure-identity and azure-keyvault-secrets code."""

from __future__ import annotations

import asyncio

import pytest

from bot.kernel.config import ConfigError, RawConfig
from bot.secrets.source import (
    SecretNotFound,
    SecretUnavailable,
    check,
    secret_source_from_config,
)
from tests.secrets.conftest import USER_ASSIGNED_CLIENT_ID

SECRET = "kv-value-0f3e9a8b7c6d"


def config(vault, **extra: str) -> RawConfig:
    environ = {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_CA_BUNDLE": vault.ca_path}
    environ.update(extra)
    return RawConfig({}, environ)


async def test_reads_a_secret_through_the_challenge_and_managed_identity(vault):
    vault.set_secret("audit-hmac-key", SECRET)
    source = secret_source_from_config(config(vault))
    try:
        secret = await source.get("audit-hmac-key")
    finally:
        await source.close()
    assert secret.reveal() == SECRET
    assert SECRET not in repr(secret)
    assert vault.challenges == 1
    assert vault.token_requests == 1


async def test_user_assigned_identity_sends_its_client_id(vault):
    vault.set_secret("virustotal-api-key", SECRET)
    source = secret_source_from_config(
        config(vault, VIGIL_MANAGED_IDENTITY_CLIENT_ID=USER_ASSIGNED_CLIENT_ID)
    )
    try:
        assert (await source.get("virustotal-api-key")).reveal() == SECRET
    finally:
        await source.close()


async def test_unknown_user_assigned_identity_is_a_named_reason(vault):
    vault.set_secret("virustotal-api-key", SECRET)
    source = secret_source_from_config(
        config(vault, VIGIL_MANAGED_IDENTITY_CLIENT_ID="11111111-2222-3333-4444-555555555555")
    )
    try:
        with pytest.raises(SecretUnavailable) as caught:
            await source.get("virustotal-api-key")
    finally:
        await source.close()
    assert "virustotal-api-key" in str(caught.value)
    assert "token" in str(caught.value)


async def test_default_credential_finds_the_managed_identity(vault):
    vault.set_secret("audit-hmac-key", SECRET)
    source = secret_source_from_config(config(vault, VIGIL_KEYVAULT_CREDENTIAL="default"))
    try:
        assert (await source.get("audit-hmac-key")).reveal() == SECRET
    finally:
        await source.close()


async def test_latest_version_wins_after_a_rotation_and_cache_invalidation(vault):
    vault.set_secret("alerts-splunk-token", "first-value-123")
    source = secret_source_from_config(config(vault))
    try:
        assert (await source.get("alerts-splunk-token")).reveal() == "first-value-123"
        vault.set_secret("alerts-splunk-token", "second-value-456")
        assert (await source.get("alerts-splunk-token")).reveal() == "first-value-123"
        source.invalidate("alerts-splunk-token")
        assert (await source.get("alerts-splunk-token")).reveal() == "second-value-456"
    finally:
        await source.close()


async def test_concurrent_first_reads_cause_one_fetch(vault):
    vault.set_secret("audit-hmac-key", SECRET)
    source = secret_source_from_config(config(vault))
    try:
        results = await asyncio.gather(*(source.get("audit-hmac-key") for _ in range(20)))
    finally:
        await source.close()
    assert {secret.reveal() for secret in results} == {SECRET}
    assert vault.secret_gets["audit-hmac-key"] == 1


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda vault: None, "not configured: audit-hmac-key"),
        (lambda vault: vault.set_secret("audit-hmac-key", ""), "not configured: audit-hmac-key"),
        (
            lambda vault: (
                vault.set_secret("audit-hmac-key", SECRET),
                vault.disable("audit-hmac-key"),
            ),
            "secret is disabled in Key Vault (audit-hmac-key)",
        ),
        (
            lambda vault: (
                vault.set_secret("audit-hmac-key", SECRET),
                vault.forbidden.add("audit-hmac-key"),
            ),
            "Key Vault denied access",
        ),
    ],
    ids=["missing", "empty", "disabled", "forbidden"],
)
async def test_unusable_secrets_give_a_reason_naming_the_secret(vault, prepare, expected):
    prepare(vault)
    source = secret_source_from_config(config(vault))
    try:
        with pytest.raises(SecretUnavailable) as caught:
            await source.get("audit-hmac-key")
    finally:
        await source.close()
    assert expected in str(caught.value)
    assert "audit-hmac-key" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_missing_secret_is_secret_not_found(vault):
    source = secret_source_from_config(config(vault))
    try:
        with pytest.raises(SecretNotFound, match="^not configured: nope$"):
            await source.get("nope")
    finally:
        await source.close()


async def test_invalid_names_never_reach_the_vault(vault):
    source = secret_source_from_config(config(vault))
    try:
        for name in ("../keys", "a b", "", "x" * 128, "name_with_underscore", "ключ"):
            with pytest.raises(ValueError, match="invalid secret name"):
                await source.get(name)
    finally:
        await source.close()
    assert vault.challenges == 0


async def test_unreachable_vault_is_reported_not_raised_at_start(vault, closed_port):
    raw = config(vault, VIGIL_KEYVAULT_RETRIES="0", VIGIL_KEYVAULT_TIMEOUT="2")
    raw.environ["VIGIL_KEYVAULT_URL"] = f"https://127.0.0.1:{closed_port}"
    source = secret_source_from_config(raw)  # start-up: no network yet, nothing raised
    try:
        with pytest.raises(
            SecretUnavailable, match=r"^Key Vault unreachable: .*\(audit-hmac-key\)$"
        ):
            await source.get("audit-hmac-key")
        statuses = await check(source, ["audit-hmac-key", "virustotal-api-key"])
    finally:
        await source.close()
    assert set(statuses) == {"audit-hmac-key", "virustotal-api-key"}
    assert all(status.startswith("Key Vault unreachable") for status in statuses.values())


async def test_unreachable_identity_endpoint_is_a_named_reason(vault, closed_port, monkeypatch):
    vault.set_secret("audit-hmac-key", SECRET)
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{closed_port}/msi/token")
    source = secret_source_from_config(config(vault, VIGIL_KEYVAULT_RETRIES="0"))
    try:
        with pytest.raises(SecretUnavailable) as caught:
            await source.get("audit-hmac-key")
    finally:
        await source.close()
    assert "audit-hmac-key" in str(caught.value)
    assert vault.secret_gets["audit-hmac-key"] == 0


async def test_wrong_identity_header_is_refused_by_the_token_endpoint(vault, monkeypatch):
    vault.set_secret("audit-hmac-key", SECRET)
    monkeypatch.setenv("IDENTITY_HEADER", "not-the-header")
    source = secret_source_from_config(config(vault, VIGIL_KEYVAULT_RETRIES="0"))
    try:
        with pytest.raises(SecretUnavailable):
            await source.get("audit-hmac-key")
    finally:
        await source.close()
    assert vault.secret_gets["audit-hmac-key"] == 0


async def test_untrusted_certificate_is_refused(vault):
    vault.set_secret("audit-hmac-key", SECRET)
    raw = RawConfig({}, {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_KEYVAULT_RETRIES": "0"})
    source = secret_source_from_config(raw)
    try:
        with pytest.raises(SecretUnavailable, match="Key Vault unreachable"):
            await source.get("audit-hmac-key")
    finally:
        await source.close()
    assert vault.secret_gets["audit-hmac-key"] == 0


async def test_check_reports_each_name_without_values(vault):
    vault.set_secret("audit-hmac-key", SECRET)
    source = secret_source_from_config(config(vault))
    try:
        statuses = await check(source, ["audit-hmac-key", "virustotal-api-key", "audit-hmac-key"])
    finally:
        await source.close()
    assert statuses == {
        "audit-hmac-key": "ok",
        "virustotal-api-key": "not configured: virustotal-api-key",
    }


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"VIGIL_KEYVAULT_URL": "http://vault.example"}, "secrets.keyvault_url"),
        ({"VIGIL_KEYVAULT_URL": "not a url"}, "secrets.keyvault_url"),
        (
            {"VIGIL_KEYVAULT_URL": "https://v.vault.azure.net", "VIGIL_KEYVAULT_CREDENTIAL": "pw"},
            "secrets.keyvault_credential",
        ),
        (
            {"VIGIL_KEYVAULT_URL": "https://v.vault.azure.net", "VIGIL_KEYVAULT_TIMEOUT": "-1"},
            "secrets.keyvault_timeout_seconds",
        ),
        ({"VIGIL_SECRET_CACHE_TTL": "soon"}, "secrets.cache_ttl_seconds"),
        ({"VIGIL_SECRETS_DIR": "/nonexistent/secrets"}, "secrets.dir"),
    ],
)
def test_wrong_settings_fail_naming_the_key(environ, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        secret_source_from_config(RawConfig({}, environ))
