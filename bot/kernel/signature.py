"""Vigil's webhook signature, the same in both directions (alerts in, SOAR calls out, and later
playbooks and requests): `X-Vigil-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body>`
with the epoch time in `X-Vigil-Timestamp`."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The X-Vigil-Signature value for a body sent at `timestamp` (epoch seconds)."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()
