"""The bot's own outbound token (client credentials or managed identity), cached until expiry.

The stock botbuilder credentials build a new MSAL client every turn, losing MSAL's cache, so every
reply fetched a new token. One provider per process keeps one MSAL client and the token it got.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msal
import requests

from bot.kernel.settings import ServiceSettings
from bot.secrets.source import SecretSource, SecretUnavailable

APP_PASSWORD_SECRET = "bot-app-password"  # noqa: S105 (a secret name)
# Refresh this long before expiry so a token never expires in flight.
_REFRESH_MARGIN = 300.0


def app_password(secrets: SecretSource, configured: str) -> Callable[[], Awaitable[str]]:
    """The app's own password, read at every token fetch: the secret source first, so a password
    rotated in Key Vault reaches every credential built on it, else the configured one."""

    async def read() -> str:
        try:
            return (await secrets.get(APP_PASSWORD_SECRET)).reveal()
        except SecretUnavailable:
            if configured:
                return configured
            raise

    return read


def bot_connector_tokens(settings: ServiceSettings, secrets: SecretSource) -> BotTokenProvider:
    """The bot's own tokens for the Bot Connector: its app id (or managed identity) and password."""
    return BotTokenProvider(
        app_id=settings.app_id,
        app_type=settings.app_type,
        login_url=settings.login_url,
        scope=settings.oauth_scope,
        password=app_password(secrets, settings.app_password),
        ca_bundle=settings.ca_bundle,
    )


class TokenUnavailable(RuntimeError):
    """The authority refused or could not be reached; the message never holds the secret."""


@dataclass
class _Cached:
    token: str
    expires_at: float


class BotTokenProvider:
    """Bearer tokens for calls to the Bot Connector, from `login_url` or a managed identity."""

    def __init__(
        self,
        *,
        app_id: str,
        app_type: str,
        login_url: str,
        scope: str,
        password: Callable[[], Awaitable[str]] | None = None,
        ca_bundle: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_id = app_id
        self.app_type = app_type
        self.login_url = login_url
        self.scope = scope if scope.endswith("/.default") else scope.rstrip("/") + "/.default"
        self._password = password
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()
        self._msal: msal.ConfidentialClientApplication | None = None
        self._msal_secret = ""

    def cached(self) -> str | None:
        """The current token if it is still good, without any I/O (for the sync msrest path)."""
        if self._cached and self._cached.expires_at - _REFRESH_MARGIN > self._clock():
            return self._cached.token
        return None

    async def token(self) -> str:
        token = self.cached()
        if token:
            return token
        async with self._lock:
            token = self.cached()
            if token:
                return token
            self._cached = await self._fetch()
            return self._cached.token

    def invalidate(self) -> None:
        """Forget the token (the connector answered 401), so the next call fetches a new one."""
        self._cached = None

    async def _fetch(self) -> _Cached:
        if self.app_type == "UserAssignedMSI":
            return await self._fetch_managed_identity()
        secret = await self._password() if self._password else ""
        if not secret:
            raise TokenUnavailable(f"no app password configured (secret {APP_PASSWORD_SECRET})")
        result = await asyncio.to_thread(self._acquire_msal, secret)
        if "access_token" not in result:
            if result.get("error") in ("invalid_client", "unauthorized_client"):
                self._msal = None  # the password may have rotated: rebuild with a fresh read
            raise TokenUnavailable(
                f"token request to {self.login_url} failed: {result.get('error', 'unknown error')}"
            )
        lifetime = float(result.get("expires_in", 3600))
        return _Cached(result["access_token"], self._clock() + lifetime)

    def _acquire_msal(self, secret: str) -> dict:
        try:
            if self._msal is None or self._msal_secret != secret:
                # Building the client already fetches the authority's metadata: an unreachable
                # Entra fails here, and must read as "no token", not as a crash.
                self._msal = self._build_msal(secret)
                self._msal_secret = secret
            return self._msal.acquire_token_for_client(scopes=[self.scope])
        except (requests.RequestException, ValueError) as exc:
            self._msal = None  # rebuilt on the next call, when Entra may answer again
            raise TokenUnavailable(
                f"token request to {self.login_url} failed: {type(exc).__name__}"
            ) from None

    def _build_msal(self, secret: str) -> msal.ConfidentialClientApplication:
        session = requests.Session()
        # MSAL goes through requests; REQUESTS_CA_BUNDLE would override `verify`, so the
        # session ignores the environment and trusts exactly the configured bundle.
        session.trust_env = False
        if self._ca_bundle:
            session.verify = self._ca_bundle
        return msal.ConfidentialClientApplication(
            client_id=self.app_id,
            client_credential=secret,
            authority=self.login_url,
            validate_authority=False,
            instance_discovery=False,
            http_client=session,
        )

    async def _fetch_managed_identity(self) -> _Cached:
        from azure.core.exceptions import AzureError
        from azure.identity.aio import ManagedIdentityCredential

        async with ManagedIdentityCredential(client_id=self.app_id) as credential:
            try:
                access = await credential.get_token(self.scope)
            except AzureError as exc:
                # Refused, or the identity endpoint unreachable: either way there is no token.
                raise TokenUnavailable(f"managed identity token failed: {exc.message}") from None
        return _Cached(access.token, float(access.expires_on))
