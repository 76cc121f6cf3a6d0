"""Which connector serves which containment action: built once per process from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.containment.connector import Action, Connector, ConnectorError
from bot.containment.settings import BLOCK_CONNECTOR, ISOLATE_CONNECTOR, ConnectorSettings
from bot.kernel.services import Slot

if TYPE_CHECKING:
    import aiohttp

    from bot.kernel.config import RawConfig
    from bot.kernel.redaction import Redactor
    from bot.kernel.services import Services
    from bot.kernel.settings import ServiceSettings
    from bot.secrets.source import SecretSource

CONNECTORS: Slot[Connectors] = Slot("containment.connectors")


@dataclass
class Connectors:
    """The configured connectors; each is built on first use and then reused."""

    settings: ConnectorSettings
    raw: RawConfig
    service_settings: ServiceSettings
    http: aiohttp.ClientSession
    secrets: SecretSource
    redactor: Redactor
    _built: dict[str, Connector] = field(default_factory=dict)

    def name_for(self, action: Action) -> str:
        """The configured connector name for an action ("none" when nothing is)."""
        if action is Action.ISOLATE_ENDPOINT:
            return self.settings.isolate_connector
        return self.settings.block_connector

    def for_action(self, action: Action) -> Connector:
        """The connector that carries `action` out; ConnectorError says what to configure."""
        setting = ISOLATE_CONNECTOR if action is Action.ISOLATE_ENDPOINT else BLOCK_CONNECTOR
        name = self.name_for(action)
        if name == "none":
            raise ConnectorError(
                f"no connector is configured for {action.command}; set {setting.env}"
            )
        connector = self.named(name)
        if not connector.supports(action):
            raise ConnectorError(
                f"the {name} connector cannot {action.command}; set {setting.env} to one that can"
            )
        return connector

    def named(self, name: str) -> Connector:
        found = self._built.get(name)
        if found is None:
            found = self._built[name] = self._build(name)
        return found

    def all(self) -> list[Connector]:
        """Every configured connector once (for `vigil doctor`)."""
        names = dict.fromkeys(
            name
            for name in (self.settings.isolate_connector, self.settings.block_connector)
            if name != "none"
        )
        return [self.named(name) for name in names]

    def _build(self, name: str) -> Connector:
        if name == "rpz":
            from bot.containment.rpz import RpzConnector

            settings = self.settings
            return RpzConnector(settings.rpz_file, settings.rpz_zone, settings.rpz_ttl)
        if name == "mde":
            from bot.containment.mde import MdeConnector

            return MdeConnector.from_config(self)
        if name == "soar":
            from bot.containment.soar import SoarConnector

            return SoarConnector.from_config(self)
        raise ConnectorError(f"unknown connector {name!r}")


def build_connectors(
    raw: RawConfig,
    service_settings: ServiceSettings,
    http: aiohttp.ClientSession,
    secrets: SecretSource,
    redactor: Redactor,
) -> Connectors:
    """Connectors from configuration (ConfigError names a wrong key); nothing is contacted."""
    return Connectors(ConnectorSettings.load(raw), raw, service_settings, http, secrets, redactor)


def connectors_from_config(services: Services) -> Connectors:
    """This process's connectors, built once."""
    return services.provide(
        CONNECTORS,
        lambda: build_connectors(
            services.raw_config,
            services.settings,
            services.http,
            services.secrets,
            services.redactor,
        ),
    )
