"""Who may post alerts: an HMAC signature over timestamp + "." + body, or a static token.

Credentials per source come from `bot.alerts.keys` (the key, a `-next` key during a handover, the
token). A source with none refuses everything. A signature is accepted once (replays are refused
across instances).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time

from bot.alerts.keys import AlertKeys, Credentials, KeysUnavailable
from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, parse_timestamp, sign
from bot.store import Store

REPLAY_SCOPE = "alerts.sig"
REPLAYED = "signature already used (replay)"


class AuthRefused(Exception):
    """401 (or 503 when the secret source is down); the reason never includes a secret."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Mismatch(AuthRefused):
    """A refusal that credentials read later might turn into an acceptance (rotated, added)."""


class AlertAuth:
    def __init__(self, keys: AlertKeys, store: Store, max_skew: int) -> None:
        self.keys = keys
        self.store = store
        self.max_skew = max_skew

    async def check(
        self, source: str, headers: dict[str, str], body: bytes, claim: bool = True
    ) -> str:
        """How the post was authenticated ("hmac" or "token"); raises AuthRefused.
        claim=False leaves the replay claim (`replay_key()`) to the caller's own transaction."""
        arrived = time.monotonic()
        try:
            credentials = await self.keys.current(source)
            try:
                result = self._check(source, headers, body, credentials)
            except Mismatch:
                if credentials.read_at >= arrived:
                    raise
                # Read after the post arrived: a key rotated in before it was sent is seen.
                fresh = await self.keys.read_since(source, arrived)
                result = self._check(source, headers, body, fresh)
        except KeysUnavailable as exc:
            raise AuthRefused(str(exc), status=503) from None
        if result == "hmac" and claim:
            await self._refuse_replay(source, headers[SIGNATURE_HEADER])
        return result

    def replay_key(self, source: str, headers: dict[str, str]) -> tuple[str, str, float]:
        """(scope, key, ttl) of the claim that makes a signature usable once."""
        # Twice the skew: a signature stays acceptable for max_skew either side of now.
        return REPLAY_SCOPE, f"{source}:{headers[SIGNATURE_HEADER].strip()}", 2.0 * self.max_skew

    def _check(self, source: str, headers: dict[str, str], body: bytes, creds: Credentials) -> str:
        if not creds.hmac_keys and creds.token is None:
            raise Mismatch(f"source {source} not configured")
        signature = headers.get(SIGNATURE_HEADER, "")
        if signature and creds.hmac_keys:
            stamp = headers.get(TIMESTAMP_HEADER, "")
            self._check_time(stamp)
            offered = signature.strip()
            # Both keys are always compared, so timing tells nothing about which one matched.
            matches = [
                hmac.compare_digest(sign(k.reveal(), stamp, body), offered) for k in creds.hmac_keys
            ]
            if any(matches):
                return "hmac"
            raise Mismatch("bad credentials")
        authorization = headers.get("Authorization", "")
        if authorization and creds.token is not None:
            offered_token = _offered_token(authorization)
            token = creds.token.reveal().encode()
            if offered_token and hmac.compare_digest(offered_token, token):
                return "token"
            raise Mismatch("bad credentials")
        if creds.hmac_keys and creds.token is None:
            raise Mismatch(f"signature missing ({SIGNATURE_HEADER} and {TIMESTAMP_HEADER})")
        if creds.token is not None and not creds.hmac_keys:
            raise Mismatch("Authorization header missing")
        raise Mismatch("credentials missing")

    def _check_time(self, stamp: str) -> None:
        sent = parse_timestamp(stamp)
        if sent is None:
            raise AuthRefused(
                f"{TIMESTAMP_HEADER} missing or not epoch seconds (digits, an optional fraction,"
                " at most 20 characters)"
            )
        if abs(time.time() - sent) > self.max_skew:
            raise AuthRefused(f"{TIMESTAMP_HEADER} is more than {self.max_skew}s away (stale)")

    async def _refuse_replay(self, source: str, signature: str) -> None:
        scope, key, ttl = self.replay_key(source, {SIGNATURE_HEADER: signature})
        if not await self.store.claim_once(scope, key, ttl):
            raise AuthRefused(REPLAYED)


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
