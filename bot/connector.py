"""A Bot Connector REST client over the process's one aiohttp session.

Replies, card updates and proactive posts all go through here, so throttling (429/412/502/504
with Retry-After), token refresh on 401 and the 40 KB body limit are handled in one place.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.bot_token import BotTokenProvider

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 412, 502, 503, 504})


class ConnectorError(RuntimeError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"connector answered {status}: {reason}")
        self.status = status
        self.reason = reason


class PayloadTooLarge(ConnectorError):
    """413: the message is over the channel's limit; callers fall back to a compact form."""


class BotConnector:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        tokens: BotTokenProvider,
        *,
        max_attempts: int = 5,
        max_wait: float = 60.0,
        timeout: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._sleep = sleep

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: dict[str, Any],
        reply_to_id: str | None = None,
    ) -> str:
        """Post a new activity (a reply when `reply_to_id` is given); returns its id."""
        path = f"v3/conversations/{_q(conversation_id)}/activities"
        if reply_to_id:
            path += f"/{_q(reply_to_id)}"
        result = await self._call("POST", service_url, path, activity)
        return str(result.get("id", ""))

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> str:
        path = f"v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}"
        result = await self._call("PUT", service_url, path, activity)
        return str(result.get("id", activity_id))

    async def delete(self, service_url: str, conversation_id: str, activity_id: str) -> None:
        path = f"v3/conversations/{_q(conversation_id)}/activities/{_q(activity_id)}"
        await self._call("DELETE", service_url, path, None)

    async def create_conversation(
        self, service_url: str, parameters: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._call("POST", service_url, "v3/conversations", parameters)

    async def _call(
        self, method: str, service_url: str, path: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        url = service_url.rstrip("/") + "/" + path
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            headers = {"Authorization": f"Bearer {await self.tokens.token()}"}
            if data is not None:
                headers["Content-Type"] = "application/json; charset=utf-8"
            try:
                async with self.http.request(
                    method, url, data=data, headers=headers, timeout=self.timeout
                ) as response:
                    status = response.status
                    text = await response.text()
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt >= self.max_attempts:
                    raise ConnectorError(0, f"{type(exc).__name__}") from None
                await self._sleep(retry_delay(attempt, None, self.max_wait))
                continue
            if status < 300:
                return _json_or_empty(text)
            if status == 401 and not refreshed:
                # The token may have been revoked or the password rotated: fetch anew once.
                refreshed = True
                self.tokens.invalidate()
                continue
            if status == 413:
                raise PayloadTooLarge(status, "message too large")
            if status in RETRYABLE and attempt < self.max_attempts:
                wait = retry_delay(attempt, retry_after, self.max_wait)
                log.warning(
                    "connector %s %s answered %s; retrying in %.1fs", method, path, status, wait
                )
                await self._sleep(wait)
                continue
            raise ConnectorError(status, _error_reason(text))


def retry_delay(attempt: int, retry_after: str | None, max_wait: float) -> float:
    """Seconds to wait before retry `attempt`: what Retry-After says, else backoff with jitter."""
    told = _parse_retry_after(retry_after)
    if told is not None:
        return min(told, max_wait)
    # Exponential backoff with full jitter so many instances don't retry in lockstep.
    return min(max_wait, random.uniform(0, 0.5 * 2**attempt))


def _q(value: str) -> str:
    return quote(value, safe="")


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _json_or_empty(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error_reason(text: str) -> str:
    body = _json_or_empty(text)
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', '')}"[:200]
    return text[:200]
