"""The ports a running Vigil hands to command handlers: built once at start-up, no globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.kernel.hooks import Hooks

if TYPE_CHECKING:
    import aiohttp

    from bot.audit_trail import AuditTrail
    from bot.commands import CommandRegistry
    from bot.config import RawConfig
    from bot.kernel.messenger import Messenger
    from bot.rbac import RoleMap
    from bot.redaction import Redactor
    from bot.secrets import SecretSource
    from bot.settings import ServiceSettings
    from bot.store import Store


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
    # Area services built lazily by their areas (the enricher, say), keyed by area.
    extras: dict[str, Any] = field(default_factory=dict)
