"""A Bot Connector REST client over the process's one aiohttp session.

Replies, card updates and proactive posts all go through here, so throttling (429/412/502/504
with Retry-After), token refresh on 401 and the 40 KB body limit are handled in one place.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.entra.tokens import BotTokenProvider
from bot.kernel.http_body import json_object
from bot.kernel.retry import BearerHttp, RetryPolicy, Unanswered


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
        self.http = http  # alert delivery builds its own connector over these
        self.tokens = tokens
        policy = RetryPolicy(max_attempts=max_attempts, max_wait=max_wait)
        self._http = BearerHttp(http, tokens, policy, aiohttp.ClientTimeout(total=timeout), sleep)

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
        headers = {} if data is None else {"Content-Type": "application/json; charset=utf-8"}
        try:
            answer = await self._http.request(
                method, url, data=data, headers=headers, what=f"connector {method} {path}"
            )
        except Unanswered as exc:
            raise ConnectorError(0, exc.reason) from None
        if answer.status < 300:
            return json_object(answer.text)
        if answer.status == 413:
            raise PayloadTooLarge(answer.status, "message too large")
        raise ConnectorError(answer.status, _error_reason(answer.text))


def _q(value: str) -> str:
    return quote(value, safe="")


def _error_reason(text: str) -> str:
    body = json_object(text)
    error = body.get("error")
    if isinstance(error, dict):
        return f"{error.get('code', '')}: {error.get('message', '')}"[:200]
    return text[:200]
