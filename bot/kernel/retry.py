"""The one retry policy for outbound HTTP: which answers deserve another try, and how long to
wait first (the server's Retry-After, in seconds or as an HTTP date, else jittered backoff).

Teams, Graph and Defender document the same contract: 429 (and Teams' 412) and 502/503/504 are
passing trouble, and Retry-After, when sent, says when to come back. Each client picks its
attempts and longest wait; a client whose requests are safe to repeat may widen the statuses.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

import aiohttp

from bot.kernel.storable import storable_text

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 412, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for: delta-seconds or an HTTP date (RFC 9110); None when
    absent or unreadable. A moment already past is 0; infinity stays, so it is over any limit."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds: float | None = float(text)
    except ValueError:
        seconds = _seconds_until(text, time.time() if now is None else now)
    if seconds is None or math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(http_date: str, now: float) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # a "-0000" zone: the time is UTC (RFC 5322)
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp() - now


@dataclass(frozen=True)
class RetryPolicy:
    """How many tries one client makes, and how patient it is between them."""

    max_attempts: int = 5
    max_wait: float = 60.0  # the longest single wait, whatever Retry-After or the backoff says
    first_backoff: float = 1.0  # ceiling of the first backoff; it doubles with every try
    statuses: frozenset[int] = RETRY_STATUSES
    # True: a Retry-After over max_wait ends the tries (WaitTooLong) rather than being cut short.
    refuse_long_waits: bool = False

    def should_retry(self, status: int | None, attempt: int) -> bool:
        """Whether try number `attempt` (from 1), answered with `status` (None: no answer at all,
        a network error or a timeout), deserves another."""
        if attempt >= self.max_attempts:
            return False
        return status is None or status in self.statuses

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after try `attempt`: what Retry-After asks (capped), else backoff."""
        asked = parse_retry_after(retry_after)
        if asked is not None:
            return min(asked, self.max_wait)
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so instances throttled together spread out."""
        ceiling = min(self.max_wait, self.first_backoff * 2.0 ** min(attempt - 1, 32))
        return random.uniform(0.0, ceiling)


class Answered(Protocol):
    """What the retry decision reads of an answer; each client keeps its own answer type."""

    @property
    def status(self) -> int: ...

    @property
    def retry_after(self) -> str | None: ...


AnswerT = TypeVar("AnswerT", bound=Answered)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read whole: what the retry decision and the caller need."""

    status: int
    text: str
    retry_after: str | None = None


class BearerTokens(Protocol):
    """Where a client gets its bearer token, and how it drops one the server refused."""

    async def token(self) -> str: ...

    def invalidate(self) -> None: ...


class Unanswered(Exception):
    """Every try ended without an HTTP answer; `reason` names the last error's kind, `error` is
    that error, and `maybe_sent` says whether any try may have reached the server."""

    def __init__(self, reason: str, *, error: Exception, maybe_sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error
        self.maybe_sent = maybe_sent


class WaitTooLong(Exception):
    """The server asked for a wait over the policy's max_wait, and the policy refuses long waits."""

    def __init__(self, status: int, seconds: float) -> None:
        super().__init__(f"answered {status} and asked for a wait of {seconds:g} s")
        self.status = status
        self.seconds = seconds


async def with_retries(
    policy: RetryPolicy,
    send: Callable[[], Awaitable[AnswerT]],
    *,
    what: str,
    on_unauthorized: Callable[[], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AnswerT:
    """`send` until its answer is final under `policy`. A first 401 calls `on_unauthorized` (drop
    the cached token) and sends again. Unanswered when the last try got no answer at all."""
    attempt = 0
    refreshed = False
    maybe_sent = False
    while True:
        attempt += 1
        try:
            answer = await send()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # A try refused before it connected never left; any other may have reached the server.
            maybe_sent = maybe_sent or not isinstance(exc, aiohttp.ClientConnectorError)
            if not policy.should_retry(None, attempt):
                raise Unanswered(type(exc).__name__, error=exc, maybe_sent=maybe_sent) from None
            await sleep(policy.delay(attempt))
            continue
        if answer.status == 401 and on_unauthorized is not None and not refreshed:
            # The token may have been revoked or the password rotated: fetch a new one, once.
            refreshed = True
            on_unauthorized()
            continue
        if not policy.should_retry(answer.status, attempt):
            return answer
        asked = parse_retry_after(answer.retry_after)
        if policy.refuse_long_waits and asked is not None and asked > policy.max_wait:
            raise WaitTooLong(answer.status, asked)
        wait = policy.delay(attempt, answer.retry_after)
        log.warning("%s answered %s; retrying in %.1fs", what, answer.status, wait)
        await sleep(wait)


@dataclass(frozen=True)
class BearerHttp:
    """Requests that carry a bearer token and follow one retry policy, over the process's session.
    The token is asked for at every try, so the one fetched after a 401 is used."""

    http: aiohttp.ClientSession
    tokens: BearerTokens
    policy: RetryPolicy
    timeout: aiohttp.ClientTimeout
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def request(
        self, method: str, url: str, *, data: bytes | None, headers: Mapping[str, str], what: str
    ) -> Answer:
        """The final answer; token errors propagate, Unanswered as in `with_retries`."""

        async def send() -> Answer:
            signed = {**headers, "Authorization": f"Bearer {await self.tokens.token()}"}
            async with self.http.request(
                method, url, data=data, headers=signed, timeout=self.timeout
            ) as response:
                # Storable once here: error reasons quote it into records and the audit.
                text = storable_text(await response.text())
                return Answer(response.status, text, response.headers.get("Retry-After"))

        return await with_retries(
            self.policy, send, what=what, on_unauthorized=self.tokens.invalidate, sleep=self.sleep
        )
