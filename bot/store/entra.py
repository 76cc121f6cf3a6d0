"""PostgreSQL sign-in with an Entra ID access token as the password (Azure managed identity).

Azure Database for PostgreSQL accepts a token for the `ossrdbms-aad` resource as the password of
the role named after the identity. A token lives about an hour, so the pool asks for the password
on every new connection; azure-identity keeps the token cached and fetches a new one when it is
near expiry (5 minutes before, or earlier when the identity endpoint says so).
"""

from __future__ import annotations

import asyncio

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import CredentialUnavailableError

from bot.secrets.keyvault import make_credential
from bot.store.base import StoreError

SCOPE = "https://ossrdbms-aad.database.windows.net/.default"
# Below the pool's connect timeout, so a slow identity endpoint gets its own clear message.
TOKEN_TIMEOUT = 15.0


class EntraTokenUnavailable(StoreError):
    """No Entra access token for PostgreSQL could be obtained; the message says why."""


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text[:limit]


class EntraPassword:
    """asyncpg's `password` callable: the identity's current access token for PostgreSQL."""

    def __init__(
        self, credential: AsyncTokenCredential, who: str, timeout: float = TOKEN_TIMEOUT
    ) -> None:
        self._credential = credential
        self._who = who
        self.timeout = timeout

    @classmethod
    def for_identity(cls, client_id: str, credential: str = "managed-identity") -> EntraPassword:
        """A password source for the user-assigned identity `client_id` (empty: system-assigned)."""
        if credential == "default":
            who = "DefaultAzureCredential"
        elif client_id:
            who = f"managed identity {client_id}"
        else:
            who = "the system-assigned managed identity (no client_id in VIGIL_DB_URL)"
        return cls(make_credential(credential, client_id), who)

    async def __call__(self) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                token = await self._credential.get_token(SCOPE)
        except TimeoutError:
            raise self._unavailable(f"no answer within {self.timeout:g} s") from None
        except CredentialUnavailableError as exc:
            raise self._unavailable(f"identity unavailable: {_first_line(exc)}") from None
        except ClientAuthenticationError as exc:
            raise self._unavailable(f"token request refused: {_first_line(exc)}") from None
        except (ServiceRequestError, OSError) as exc:
            raise self._unavailable(f"identity endpoint unreachable: {_first_line(exc)}") from None
        return token.token

    def _unavailable(self, reason: str) -> EntraTokenUnavailable:
        return EntraTokenUnavailable(f"no Entra token for PostgreSQL from {self._who}: {reason}")

    async def close(self) -> None:
        await self._credential.close()
