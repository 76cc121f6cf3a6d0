"""The HTTP call every API source makes: timeout, size cap, status mapping, JSON parsing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp

from bot.intel.sources.base import SourceFailure, SourceRateLimited
from bot.kernel.http_body import read_capped
from bot.kernel.retry import parse_retry_after
from bot.kernel.storable import storable_data
from bot.secrets.source import (
    CredentialRejected,
    SecretSource,
    SecretUnavailable,
    call_with_rotation,
)

MAX_RESPONSE_BYTES = 1 << 20
DEFAULT_RETRY_AFTER = 60.0
T = TypeVar("T")
MAX_RETRY_AFTER = 86400.0


@dataclass(frozen=True)
class ApiAnswer:
    """A JSON answer with a status the source handles itself (2xx, 400, 404)."""

    status: int
    body: Any


def blocked_for(retry_after: str | None) -> float:
    """How long a 429 blocks the source: its Retry-After kept between 1 s and a day, or 60 s
    when it is absent or unreadable (the sources ask once per fan-out; they never wait)."""
    asked = parse_retry_after(retry_after)
    if asked is None:
        return DEFAULT_RETRY_AFTER
    return min(max(asked, 1.0), MAX_RETRY_AFTER)


class ApiClient:
    """Calls one source's API with its key from the secret source, retrying once on rotation."""

    def __init__(
        self,
        name: str,
        session: aiohttp.ClientSession,
        base_url: str,
        secrets: SecretSource,
        secret_name: str,
        timeout: float,
    ) -> None:
        self.name = name
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._secrets = secrets
        self._secret_name = secret_name
        self._timeout = timeout

    async def call(
        self,
        method: str,
        path: str,
        *,
        key_header: str,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        handled: tuple[int, ...] = (404,),
        parse: Callable[[ApiAnswer], T],
    ) -> T:
        """`parse` the JSON answer (it may raise CredentialRejected too, and is retried once);
        raise SourceFailure or SourceRateLimited when there is no usable answer."""

        async def attempt(secret: Any) -> T:
            headers = {key_header: secret.reveal(), "Accept": "application/json"}
            return parse(await self._request(method, path, headers, params, form, handled))

        try:
            return await call_with_rotation(self._secrets, self._secret_name, attempt)
        except CredentialRejected as exc:
            raise SourceFailure(f"credential rejected (HTTP {exc.status})") from None
        except SecretUnavailable as exc:
            raise SourceFailure(f"API key unavailable: {exc.reason}") from None

    async def _request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        handled: tuple[int, ...],
    ) -> ApiAnswer:
        url = self._base_url + path
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with self._session.request(
                method,
                url,
                headers=headers,
                params=params,
                data=form,
                timeout=timeout,
                allow_redirects=False,  # a redirect could carry the key to another host
            ) as response:
                status = response.status
                if status in (401, 403):
                    raise CredentialRejected(self.name, status)
                if status == 429:
                    wait = blocked_for(response.headers.get("Retry-After"))
                    raise SourceRateLimited(wait)
                if status >= 500:
                    raise SourceFailure(f"HTTP {status}")
                if not (200 <= status < 300 or status in handled):
                    raise SourceFailure(f"unexpected HTTP {status}")
                raw = await read_capped(response, MAX_RESPONSE_BYTES)
        except TimeoutError:
            raise SourceFailure(f"timeout after {self._timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise SourceFailure(f"connection failed ({type(exc).__name__})") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise SourceFailure("response too large")
        try:
            body = storable_data(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise SourceFailure(f"malformed JSON (HTTP {status})") from None
        return ApiAnswer(status, body)
