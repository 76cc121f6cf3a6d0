"""Who may post alerts: an HMAC signature over timestamp + "." + body, or a static token.

Secrets per source: `alerts-<source>-hmac-key` and `alerts-<source>-token`. A source with
neither refuses everything. A signature is accepted once (replays are refused across instances).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from dataclasses import dataclass

from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.secrets.source import Secret, SecretNotFound, SecretSource, SecretUnavailable
from bot.store import Store

# A key rotated in the vault reaches us on the next read; don't let bad posts force many reads.
REREAD_AFTER_FAILURE = 30.0
REPLAY_SCOPE = "alerts.sig"
REPLAYED = "signature already used (replay)"


class AuthRefused(Exception):
    """401 (or 503 when the secret source is down); the reason never includes a secret."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Credentials:
    hmac_key: Secret | None
    token: Secret | None


def hmac_key_name(source: str) -> str:
    return f"alerts-{source}-hmac-key"


def token_name(source: str) -> str:
    return f"alerts-{source}-token"


class AlertAuth:
    def __init__(self, secrets: SecretSource, store: Store, max_skew: int) -> None:
        self.secrets = secrets
        self.store = store
        self.max_skew = max_skew
        self._reread: dict[str, float] = {}

    async def check(
        self, source: str, headers: dict[str, str], body: bytes, claim: bool = True
    ) -> str:
        """How the post was authenticated ("hmac" or "token"); raises AuthRefused.
        claim=False leaves the replay claim (`replay_key()`) to the caller's own transaction."""
        result = await self._check(source, headers, body, await self._credentials(source))
        if result is None and self._may_reread(source):
            for name in (hmac_key_name(source), token_name(source)):
                self.secrets.invalidate(name)
            result = await self._check(source, headers, body, await self._credentials(source))
        if result is None:
            raise AuthRefused("bad credentials")
        if result == "hmac" and claim:
            await self._refuse_replay(source, headers[SIGNATURE_HEADER])
        return result

    def replay_key(self, source: str, headers: dict[str, str]) -> tuple[str, str, float]:
        """(scope, key, ttl) of the claim that makes a signature usable once."""
        # Twice the skew: a signature stays acceptable for max_skew either side of now.
        return REPLAY_SCOPE, f"{source}:{headers[SIGNATURE_HEADER].strip()}", 2.0 * self.max_skew

    async def _credentials(self, source: str) -> Credentials:
        key = await self._get(hmac_key_name(source))
        token = await self._get(token_name(source))
        if key is None and token is None:
            raise AuthRefused(f"source {source} not configured")
        return Credentials(key, token)

    async def _get(self, name: str) -> Secret | None:
        try:
            return await self.secrets.get(name)
        except SecretNotFound:
            return None
        except SecretUnavailable:
            raise AuthRefused("credentials cannot be checked now", status=503) from None

    async def _check(
        self, source: str, headers: dict[str, str], body: bytes, creds: Credentials
    ) -> str | None:
        signature = headers.get(SIGNATURE_HEADER, "")
        if signature and creds.hmac_key is not None:
            self._check_time(headers.get(TIMESTAMP_HEADER, ""))
            expected = sign(creds.hmac_key.reveal(), headers[TIMESTAMP_HEADER], body)
            return "hmac" if hmac.compare_digest(expected, signature.strip()) else None
        authorization = headers.get("Authorization", "")
        if authorization and creds.token is not None:
            offered = _offered_token(authorization)
            token = creds.token.reveal().encode()
            return "token" if offered and hmac.compare_digest(offered, token) else None
        if creds.hmac_key is not None and creds.token is None:
            raise AuthRefused(f"signature missing ({SIGNATURE_HEADER} and {TIMESTAMP_HEADER})")
        if creds.token is not None and creds.hmac_key is None:
            raise AuthRefused("Authorization header missing")
        raise AuthRefused("credentials missing")

    def _check_time(self, stamp: str) -> None:
        try:
            sent = float(stamp.strip())
        except ValueError:
            raise AuthRefused(f"{TIMESTAMP_HEADER} missing or not epoch seconds") from None
        if abs(time.time() - sent) > self.max_skew:
            raise AuthRefused(f"{TIMESTAMP_HEADER} is more than {self.max_skew}s away (stale)")

    async def _refuse_replay(self, source: str, signature: str) -> None:
        scope, key, ttl = self.replay_key(source, {SIGNATURE_HEADER: signature})
        if not await self.store.claim_once(scope, key, ttl):
            raise AuthRefused(REPLAYED)

    def _may_reread(self, source: str) -> bool:
        now = time.monotonic()
        if now - self._reread.get(source, -REREAD_AFTER_FAILURE) < REREAD_AFTER_FAILURE:
            return False
        self._reread[source] = now
        return True


def _offered_token(authorization: str) -> bytes:
    """The token from `Bearer <t>` or `Basic base64(user:<t>)` (the password is the token)."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return b""
        return decoded.partition(b":")[2]
    return b""
