"""Reading a request body whole: raw bytes under a size cap, then bounded JSON.

Shared by `/api/messages` and the alert webhook (which needs the raw bytes for its HMAC).
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

MAX_DEPTH = 64


class BodyRejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_raw(request: web.Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; a 413 past it, a 400 when the sender stops early."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyRejected(413, f"body over {limit} bytes")
    body = bytearray()
    try:
        # read(n) returns what has arrived so far, not n bytes: loop until EOF or past the limit.
        while len(body) <= limit:
            chunk = await request.content.read(limit + 1 - len(body))
            if not chunk:
                break
            body += chunk
    # A sender that closes before Content-Length (or the last chunk) surfaces as a payload error.
    except (ConnectionError, ValueError, HttpProcessingError) as exc:
        raise BodyRejected(400, f"body could not be read: {type(exc).__name__}") from None
    if len(body) > limit:
        raise BodyRejected(413, f"body over {limit} bytes")
    return bytes(body)


def parse_json(body: bytes) -> Any:
    """JSON no deeper than MAX_DEPTH; anything else is a 400 with the reason."""
    if not body.strip():
        raise BodyRejected(400, "empty body; expected JSON")
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise BodyRejected(400, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise BodyRejected(400, "body is not UTF-8 text") from None
    except ValueError as exc:
        raise BodyRejected(400, f"invalid or truncated JSON: {exc.args[0][:120]}") from None
    # Each level opens a bracket, so a body with few brackets needs no walk (the common case).
    openings = body.count(b"[") + body.count(b"{")
    if openings > MAX_DEPTH and depth(value) > MAX_DEPTH:
        raise BodyRejected(400, f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _no_constant(name: str) -> float:
    # Python reads NaN and Infinity, which JSON does not have; NaN as a time or a count is never
    # stale, never equal and stored as NULL, so it is refused here, once, for every route.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number too large: {text[:20]}")
    return value


def depth(value: Any) -> int:
    """Nesting depth without recursion, so hostile input cannot exhaust the stack."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
