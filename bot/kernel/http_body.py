"""The body of an outbound HTTP answer: read with a size cap, then read as JSON.

Every client (Graph, the Bot Connector, Defender, the SOAR webhook, the intel sources) reads
answers from servers it does not control, so none reads a body whole or trusts it to be JSON.
The JSON is made storable here (bot/kernel/storable.py), where provider answers enter Vigil.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.kernel.storable import storable_data


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, or its first `limit` bytes and more (at most one chunk more): a result longer
    than `limit` means the body is over it. One read() may stop at a chunk, hence the loop."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            break
    return bytes(body)


def json_or_none(raw: bytes) -> Any:
    """The parsed JSON (storable), or None when the body is empty or not JSON."""
    if not raw:
        return None
    try:
        return storable_data(json.loads(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def json_object(text: str) -> dict[str, Any]:
    """The JSON object in `text` (storable), or {} when it is empty, not JSON or not an object."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return storable_data(value) if isinstance(value, dict) else {}
