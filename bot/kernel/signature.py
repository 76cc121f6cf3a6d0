"""Vigil's webhook signature, the same in both directions (alerts in, SOAR calls out, and later
playbooks and requests): `X-Vigil-Signature: sha256=<hex HMAC-SHA256 of timestamp + "." + body>`
with the epoch time in `X-Vigil-Timestamp`."""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"
MAX_TIMESTAMP_CHARS = 20
# ASCII digits with an optional fraction: float() alone would take nan, inf, 1e3, +1, 1_0, ' 1'
# and other scripts' digits, and `nan` is never stale.
_TIMESTAMP = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The X-Vigil-Signature value for a body sent at `timestamp` (epoch seconds)."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def parse_timestamp(stamp: str) -> float | None:
    """The epoch seconds of an X-Vigil-Timestamp (`1717171717` or `1717171717.25`, at most
    20 characters), or None for anything else."""
    if len(stamp) > MAX_TIMESTAMP_CHARS or not _TIMESTAMP.fullmatch(stamp):
        return None
    return float(stamp)
