"""Just-in-time Defender for Endpoint tokens: asked for per call, for the MDE scope only, and
dropped when the call returns (no cache outlives it), with the app's secret or managed identity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.containment.connector import ConnectorError, Provenance
from bot.containment.settings import MDE_SCOPE
from bot.entra.graph import authority
from bot.entra.tokens import BotTokenProvider, TokenUnavailable, app_password
from bot.kernel.config import RawConfig
from bot.kernel.settings import ServiceSettings
from bot.secrets.source import SecretSource, SecretUnavailable

MANAGED_IDENTITY = "UserAssignedMSI"


@dataclass(frozen=True)
class MdeCredential:
    """Who Vigil is to Defender: the app id (or managed identity client id) and how to prove it."""

    app_id: str
    app_type: str
    authority: str
    password: Callable[[], Awaitable[str]]
    ca_bundle: str = ""
    timeout: float = 30.0

    @classmethod
    def from_config(
        cls, raw: RawConfig, settings: ServiceSettings, secrets: SecretSource, timeout: float
    ) -> MdeCredential:
        return cls(
            app_id=settings.app_id,
            app_type=settings.app_type,
            authority=authority(raw, settings),
            # Read per token, so a secret rotated in Key Vault is used from the next call on.
            password=app_password(secrets, settings.app_password),
            ca_bundle=settings.ca_bundle,
            timeout=timeout,
        )

    @property
    def provenance(self) -> Provenance:
        return Provenance(connector="mde", scope=MDE_SCOPE, credential_id=self.app_id)

    @property
    def source(self) -> str:
        if self.app_type == MANAGED_IDENTITY:
            return "managed identity"
        return self.authority

    async def token(self) -> str:
        """A fresh bearer token for the MDE scope; ConnectorError says what to fix."""
        if not self.app_id:
            raise ConnectorError("mde: no credential: set VIGIL_APP_ID (app or identity id)")
        if self.app_type != MANAGED_IDENTITY and not self.authority:
            raise ConnectorError(
                "mde: no authority: set VIGIL_AAD_AUTHORITY or VIGIL_APP_TENANT_ID"
            )
        provider = BotTokenProvider(
            app_id=self.app_id,
            app_type=self.app_type,
            login_url=self.authority,
            scope=MDE_SCOPE,
            password=self._password,
            ca_bundle=self.ca_bundle,
        )
        try:
            return await asyncio.wait_for(provider.token(), self.timeout)
        except TokenUnavailable as exc:
            raise ConnectorError(f"mde: no token for {MDE_SCOPE}: {exc}") from None
        except TimeoutError:
            raise ConnectorError(f"mde: token request to {self.source} timed out") from None
        except SecretUnavailable as exc:
            raise ConnectorError(f"mde: no app password: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - the identity SDKs raise many kinds
            raise ConnectorError(f"mde: no token ({type(exc).__name__})") from None

    async def _password(self) -> str:
        return await self.password()
