"""The secret source port: masked secret values, a TTL cache, and retry-once on rotation.

Backends live in `bot.secrets.local` (env, directory) and `bot.secrets.keyvault` (Azure Key Vault);
`secret_source_from_config` picks and chains them. Names follow Key Vault's rule: [0-9a-zA-Z-].
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from bot.kernel.config import RawConfig, Setting, parse_float_range

NAME_PATTERN = re.compile(r"[0-9a-zA-Z-]{1,127}")

CACHE_TTL = Setting(
    "secrets.cache_ttl_seconds",
    "VIGIL_SECRET_CACHE_TTL",
    parse_float_range(0, 86400),
    300.0,
    "seconds a secret value is reused before it is read again",
)

T = TypeVar("T")


class SecretUnavailable(Exception):
    """A secret cannot be read now; the message names the secret and the reason, never a value."""

    def __init__(self, name: str, reason: str) -> None:
        shown = f"{reason}: {name}" if reason == "not configured" else f"{reason} ({name})"
        super().__init__(shown)
        self.name = name
        self.reason = reason


class SecretNotFound(SecretUnavailable):
    """The secret is missing or empty in every configured backend."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "not configured")


class CredentialRejected(Exception):
    """An outbound service answered 401/403 to a credential; raised by clients for rotation."""

    def __init__(self, service: str, status: int) -> None:
        super().__init__(f"{service} rejected the credential (HTTP {status})")
        self.service = service
        self.status = status


class Secret:
    """A secret value whose str and repr are masked; `reveal()` gives the value."""

    __slots__ = ("_name", "_value")

    def __init__(self, name: str, value: str) -> None:
        self._name = name
        self._value = value

    @property
    def name(self) -> str:
        return self._name

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self._name!r}, ***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._name == other._name and hmac.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(self._name)

    def __reduce__(self) -> tuple:
        # Pickling would copy the value somewhere we do not control.
        raise TypeError("Secret values cannot be pickled")


class SecretSource(Protocol):
    """Where secrets come from. `get` raises SecretUnavailable (or SecretNotFound)."""

    async def get(self, name: str) -> Secret: ...

    def invalidate(self, name: str) -> None: ...

    async def close(self) -> None: ...


def check_name(name: str) -> str:
    """The name itself, or ValueError when it is not a valid secret name."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValueError(f"invalid secret name {name!r}: use 1-127 of [0-9a-zA-Z-]")
    return name


class ChainedSecretSource:
    """Asks each backend in turn; the first that has the secret wins."""

    def __init__(self, sources: Iterable[SecretSource]) -> None:
        self._sources = tuple(sources)

    async def get(self, name: str) -> Secret:
        check_name(name)
        unavailable: SecretUnavailable | None = None
        for source in self._sources:
            try:
                return await source.get(name)
            except SecretNotFound:
                continue
            except SecretUnavailable as exc:
                unavailable = unavailable or exc
        # A backend that could not answer makes "not found" unknowable: report it instead.
        raise unavailable or SecretNotFound(name)

    def invalidate(self, name: str) -> None:
        for source in self._sources:
            source.invalidate(name)

    async def close(self) -> None:
        for source in self._sources:
            await source.close()


class CachedSecretSource:
    """Keeps each value for `ttl` seconds; concurrent first reads of one name share one fetch.

    A failure is remembered for `failure_ttl` seconds, so an unreachable vault answers at once.
    """

    def __init__(
        self,
        source: SecretSource,
        ttl: float = 300.0,
        *,
        failure_ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        on_value: Callable[[str], None] | None = None,
    ) -> None:
        self._source = source
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._on_value = on_value
        self._values: dict[str, tuple[Secret, float]] = {}
        self._pending: dict[str, asyncio.Future[Secret]] = {}
        self._failures: dict[str, tuple[SecretUnavailable, float]] = {}

    async def get(self, name: str) -> Secret:
        check_name(name)
        cached = self._values.get(name)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        failed = self._failures.get(name)
        if failed is not None and self._clock() < failed[1]:
            raise _again(failed[0])
        pending = self._pending.get(name)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(name))
            self._pending[name] = pending
            pending.add_done_callback(lambda done: self._settle(name, done))
        # shield: one caller being cancelled must not cancel the fetch the others wait on.
        return await asyncio.shield(pending)

    async def _fetch(self, name: str) -> Secret:
        secret = await self._source.get(name)
        if self._on_value is not None:
            self._on_value(secret.reveal())
        return secret

    def _settle(self, name: str, done: asyncio.Future[Secret]) -> None:
        # An invalidate() during the fetch replaced or dropped the pending entry: do not cache.
        if self._pending.get(name) is not done:
            return
        del self._pending[name]
        if done.cancelled():
            return
        error = done.exception()
        if error is None and self._ttl > 0:
            self._values[name] = (done.result(), self._clock() + self._ttl)
            self._failures.pop(name, None)
        elif isinstance(error, SecretUnavailable) and self._failure_ttl > 0:
            self._failures[name] = (error, self._clock() + self._failure_ttl)

    def invalidate(self, name: str) -> None:
        self._values.pop(name, None)
        self._failures.pop(name, None)
        self._pending.pop(name, None)
        self._source.invalidate(name)

    async def close(self) -> None:
        self._values.clear()
        self._failures.clear()
        await self._source.close()


def _again(error: SecretUnavailable) -> SecretUnavailable:
    """A fresh copy of a remembered error (re-raising one instance would grow its traceback)."""
    if isinstance(error, SecretNotFound):
        return SecretNotFound(error.name)
    return SecretUnavailable(error.name, error.reason)


async def call_with_rotation(
    source: SecretSource, name: str, call: Callable[[Secret], Awaitable[T]]
) -> T:
    """Run `call(secret)`; on CredentialRejected re-read the secret and retry once."""
    secret = await source.get(name)
    try:
        return await call(secret)
    except CredentialRejected:
        source.invalidate(name)
        fresh = await source.get(name)
        if fresh == secret:
            # Same value again: a retry would only repeat the refusal.
            raise
        return await call(fresh)


async def check(source: SecretSource, names: Iterable[str]) -> dict[str, str]:
    """Status of each named secret ("ok" or why not) for /readyz and `vigil doctor`; no values."""
    names = list(dict.fromkeys(names))

    async def status(name: str) -> str:
        try:
            await source.get(name)
        except SecretUnavailable as exc:
            return str(exc)
        except ValueError as exc:
            return str(exc)
        return "ok"

    results = await asyncio.gather(*(status(name) for name in names))
    return dict(zip(names, results, strict=True))


def secret_source_from_config(
    raw: RawConfig,
    *,
    on_value: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SecretSource:
    """Key Vault when VIGIL_KEYVAULT_URL is set, else env then directory; always cached.

    The directory is VIGIL_SECRETS_DIR, or else the `.vigil/secrets` local mode wrote beside the
    config file (or in the current folder, with no file).

    `on_value` sees every value read (pass `Redactor.remember` so logs never show one).
    """
    from bot.secrets import keyvault as secrets_keyvault
    from bot.secrets import local as secrets_local

    backend: SecretSource
    if raw.get(secrets_keyvault.KEYVAULT_URL):
        backend = secrets_keyvault.KeyVaultSecretSource.from_config(raw)
    else:
        backends: list[SecretSource] = [secrets_local.EnvSecretSource(raw.environ)]
        directory = raw.get(secrets_local.SECRETS_DIR)
        local = secrets_local.local_secrets_dir(raw)
        if not directory and local.is_dir():
            directory = str(local)
        if directory:
            backends.append(secrets_local.DirectorySecretSource(directory))
        backend = ChainedSecretSource(backends)
    return CachedSecretSource(backend, raw.get(CACHE_TTL), clock=clock, on_value=on_value)
