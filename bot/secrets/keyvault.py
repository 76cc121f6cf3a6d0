"""Azure Key Vault backend: the async SecretClient with a managed identity (or a dev credential)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.identity import CredentialUnavailableError
from azure.keyvault.secrets.aio import SecretClient

from bot.kernel.config import (
    RawConfig,
    Setting,
    is_loopback_host,
    parse_choice,
    parse_float_range,
    parse_int_range,
    parse_str,
    parse_url,
)
from bot.kernel.settings import CA_BUNDLE
from bot.secrets.source import Secret, SecretNotFound, SecretUnavailable, check_name

KEYVAULT_URL = Setting(
    "secrets.keyvault_url",
    "VIGIL_KEYVAULT_URL",
    parse_url("https"),
    "",
    "Key Vault URL (https://NAME.vault.azure.net); when set, all secrets come from it",
)
KEYVAULT_CREDENTIAL = Setting(
    "secrets.keyvault_credential",
    "VIGIL_KEYVAULT_CREDENTIAL",
    parse_choice("managed-identity", "default"),
    "managed-identity",
    "managed-identity in Azure; default (DefaultAzureCredential: az login etc.) for development",
)
MANAGED_IDENTITY_CLIENT_ID = Setting(
    "secrets.managed_identity_client_id",
    "VIGIL_MANAGED_IDENTITY_CLIENT_ID",
    parse_str,
    "",
    "client id of a user-assigned managed identity; empty for the system-assigned one",
)
KEYVAULT_TIMEOUT = Setting(
    "secrets.keyvault_timeout_seconds",
    "VIGIL_KEYVAULT_TIMEOUT",
    parse_float_range(0.1, 120),
    10.0,
    "connect and read timeout of one Key Vault request",
)
KEYVAULT_RETRIES = Setting(
    "secrets.keyvault_retries",
    "VIGIL_KEYVAULT_RETRIES",
    parse_int_range(0, 10),
    2,
    "retries of a failed Key Vault request before the secret is reported unavailable",
)

SETTINGS = (
    KEYVAULT_URL,
    KEYVAULT_CREDENTIAL,
    MANAGED_IDENTITY_CLIENT_ID,
    KEYVAULT_TIMEOUT,
    KEYVAULT_RETRIES,
)

ROLE_HINT = "grant Vigil's identity the 'Key Vault Secrets User' role on the vault"


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:limit]


def explain(name: str, exc: Exception) -> SecretUnavailable:
    """Turn an Azure SDK error into SecretNotFound/SecretUnavailable with a plain reason."""
    if isinstance(exc, ResourceNotFoundError):
        return SecretNotFound(name)
    if isinstance(exc, CredentialUnavailableError):
        return SecretUnavailable(name, f"managed identity unavailable: {_first_line(exc)}")
    if isinstance(exc, ClientAuthenticationError):
        if exc.status_code == 401:
            return SecretUnavailable(name, "Key Vault rejected Vigil's access token")
        return SecretUnavailable(name, f"cannot get a Key Vault token: {_first_line(exc)}")
    if isinstance(exc, HttpResponseError):
        code = getattr(exc.error, "code", None)
        inner = getattr(getattr(exc.error, "innererror", None), "get", lambda _k: None)("code")
        if exc.status_code == 403 and "SecretDisabled" in (code, inner):
            return SecretUnavailable(name, "secret is disabled in Key Vault")
        if exc.status_code == 403:
            return SecretUnavailable(name, f"Key Vault denied access: {ROLE_HINT}")
        return SecretUnavailable(name, f"Key Vault error: HTTP {exc.status_code}")
    if isinstance(exc, ServiceRequestError | ServiceResponseError | TimeoutError | OSError):
        return SecretUnavailable(name, f"Key Vault unreachable: {_first_line(exc)}")
    return SecretUnavailable(name, f"Key Vault error: {type(exc).__name__}")


def make_credential(kind: str, client_id: str) -> AsyncTokenCredential:
    """ManagedIdentityCredential (system- or user-assigned) or DefaultAzureCredential."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if kind == "default":
        return DefaultAzureCredential(managed_identity_client_id=client_id or None)
    return ManagedIdentityCredential(client_id=client_id or None)


class KeyVaultSecretSource:
    """Secrets from one Key Vault; each get is one GET (the cache above keeps values)."""

    def __init__(
        self,
        vault_url: str,
        credential: AsyncTokenCredential,
        *,
        ca_bundle: str = "",
        timeout: float = 10.0,
        retries: int = 2,
    ) -> None:
        host = urlsplit(vault_url).hostname or ""
        options: dict[str, Any] = {
            # The challenge names https://vault.azure.net (or a sovereign cloud's); only a local
            # stand-in on a loopback address may skip checking it against the vault's host.
            "verify_challenge_resource": not is_loopback_host(host),
            "connection_timeout": timeout,
            "read_timeout": timeout,
            "retry_total": retries,
            "retry_backoff_factor": 0.5,
        }
        if ca_bundle:
            options["connection_verify"] = ca_bundle
        self._credential = credential
        self._client = SecretClient(vault_url, credential, **options)
        self._timeout = timeout * (retries + 1) * 2

    @classmethod
    def from_config(cls, raw: RawConfig) -> KeyVaultSecretSource:
        credential = make_credential(
            raw.get(KEYVAULT_CREDENTIAL), raw.get(MANAGED_IDENTITY_CLIENT_ID).strip()
        )
        return cls(
            raw.get(KEYVAULT_URL),
            credential,
            ca_bundle=raw.get(CA_BUNDLE),
            timeout=raw.get(KEYVAULT_TIMEOUT),
            retries=raw.get(KEYVAULT_RETRIES),
        )

    async def get(self, name: str) -> Secret:
        check_name(name)
        try:
            async with asyncio.timeout(self._timeout):
                bundle = await self._client.get_secret(name)
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a named reason
            raise explain(name, exc) from None
        if not bundle.value:
            raise SecretNotFound(name)
        return Secret(name, bundle.value)

    def invalidate(self, name: str) -> None:
        """Nothing to drop: this backend keeps no values."""

    async def close(self) -> None:
        await self._client.close()
        await self._credential.close()
