"""The ports a running Vigil hands to command handlers: built once at start-up, no globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from bot.kernel.hooks import Hooks

if TYPE_CHECKING:
    import aiohttp

    from bot.audit.trail import AuditTrail
    from bot.kernel.commands import CommandRegistry
    from bot.kernel.config import RawConfig
    from bot.kernel.messenger import Messenger
    from bot.kernel.rbac import RoleMap
    from bot.kernel.redaction import Redactor
    from bot.kernel.settings import ServiceSettings
    from bot.secrets.source import SecretSource
    from bot.store import Store

T = TypeVar("T")


class Slot(Generic[T]):
    """A typed place in `Services` for one object a capability builds once per process (its
    enricher, its settings); declared once, beside the code that builds it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


@dataclass
class Services:
    raw_config: RawConfig
    settings: ServiceSettings
    store: Store
    roles: RoleMap
    registry: CommandRegistry
    http: aiohttp.ClientSession
    secrets: SecretSource
    redactor: Redactor
    audit: AuditTrail
    # The one way out to Teams (posts, replies, card updates); set by start_vigil.
    messenger: Messenger | None = None
    # The capabilities' subscriptions to each other's events (incident closed -> summaries).
    hooks: Hooks = field(default_factory=Hooks)
    _built: dict[Slot[Any], Any] = field(default_factory=dict, repr=False)

    def provide(self, slot: Slot[T], build: Callable[[], T]) -> T:
        """The object in `slot`, built by `build` the first time it is asked for."""
        if slot not in self._built:
            self._built[slot] = build()
        return cast(T, self._built[slot])

    def built(self, slot: Slot[T]) -> T | None:
        """The object in `slot` if it was built already (shutdown, tests), else None."""
        return cast("T | None", self._built.get(slot))
