"""HTTP to the Defender for Endpoint API: a fresh token per call, a client-side pace under the
documented limits (100 calls a minute, 1,500 an hour), Retry-After on 429, bounded bodies, and
an honest split between "refused", "never sent" and "sent, answer unknown".
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.containment.connector import ConnectorError
from bot.containment.mde_token import MdeCredential
from bot.kernel.http_body import json_or_none, read_capped
from bot.kernel.retry import RetryPolicy, WaitTooLong, with_retries

MAX_BODY = 1 << 20  # no documented MDE answer comes near a megabyte
MAX_429_RETRIES = 3


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON, or None when the body was empty or not JSON
    digest: str  # sha256 hex of the raw body
    request_summary: dict[str, Any]
    retry_after: str = ""

    @property
    def error(self) -> str:
        """`code: message` from MDE's documented error shape, or the status alone."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or "").strip()[:80]
            message = " ".join(str(error.get("message") or "").split())[:300]
            text = ": ".join(part for part in (code, message) if part)
            if text:
                return f"{self.status} {text}"
        return f"{self.status} (no error details)"


class NotSent(ConnectorError):
    """The request never left (token refused, connection refused, rate limit): safe to say so."""


class AnswerUnknown(Exception):
    """The request was (or may have been) written, and no usable answer came back."""

    def __init__(self, reason: str, request_summary: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_summary = request_summary


class Pacer:
    """Sliding windows: a call waits until both the minute and the hour have room for it."""

    def __init__(
        self,
        per_minute: int,
        per_hour: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.windows = ((60.0, per_minute), (3600.0, per_hour))
        self._calls: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def wait(self) -> float:
        """Take a slot; the seconds waited for it."""
        waited = 0.0
        async with self._lock:
            while True:
                now = self._clock()
                while self._calls and now - self._calls[0] >= 3600.0:
                    self._calls.popleft()
                delay = self._delay(now)
                if delay <= 0:
                    self._calls.append(now)
                    return waited
                await self._sleep(delay)
                waited += delay

    def _delay(self, now: float) -> float:
        delay = 0.0
        for span, limit in self.windows:
            recent = [stamp for stamp in self._calls if now - stamp < span]
            if len(recent) >= limit:
                delay = max(delay, recent[-limit] + span - now)
        return delay


class MdeClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        credential: MdeCredential,
        *,
        timeout: float,
        max_retry_after: float,
        pacer: Pacer,
        redact: Callable[[str], str],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        # Only 429 is tried again: after a 5xx an action may have been carried out, and the
        # engine asks MDE what happened (find_sent) rather than sending it twice.
        self.policy = RetryPolicy(
            max_attempts=MAX_429_RETRIES + 1,
            max_wait=max_retry_after,
            statuses=frozenset({429}),
            refuse_long_waits=True,
        )
        self.pacer = pacer
        self.redact = redact
        self._sleep = sleep

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
        redacted: tuple[str, ...] = (),
    ) -> Reply:
        """One call: NotSent when it surely did not reach MDE, AnswerUnknown when it may have."""
        summary = self._summary(method, path, body, params, redacted)
        data = None if body is None else json.dumps(body).encode()

        async def send() -> Reply:
            # A fresh token for each try (used for that request only); a token error is a
            # ConnectorError, which, like NotSent and AnswerUnknown, ends the tries at once.
            await self.pacer.wait()
            token = await self.credential.token()
            return await self._send(method, path, data, params, token, summary)

        try:
            return await with_retries(self.policy, send, what=f"MDE {path}", sleep=self._sleep)
        except WaitTooLong:
            raise NotSent(
                f"mde: rate limited (429) and Retry-After is over the limit: {path}"
            ) from None

    async def _send(
        self,
        method: str,
        path: str,
        data: bytes | None,
        params: dict[str, str] | None,
        token: str,
        summary: dict[str, Any],
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self.http.request(
                method,
                f"{self.base_url}{path}",
                data=data,
                params=params,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                raw = await read_capped(response, MAX_BODY)
                status = response.status
                retry_after = response.headers.get("Retry-After", "")
        except aiohttp.ClientConnectorError as exc:
            raise NotSent(f"mde: cannot connect to {self.base_url}: {exc.os_error}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AnswerUnknown(f"no answer from MDE ({type(exc).__name__})", summary) from None
        if len(raw) > MAX_BODY:
            raise AnswerUnknown(f"MDE answered {status} with an oversized body", summary)
        digest = hashlib.sha256(raw).hexdigest()
        return Reply(status, json_or_none(raw), digest, summary, retry_after[:40])

    def _summary(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str] | None,
        redacted: tuple[str, ...],
    ) -> dict[str, Any]:
        summary: dict[str, Any] = {"method": method, "path": path}
        if params:
            summary["query"] = dict(params)
        if body is not None:
            summary["body"] = {
                key: self.redact(value) if key in redacted and isinstance(value, str) else value
                for key, value in body.items()
            }
        return summary
