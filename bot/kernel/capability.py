"""What a capability declares about itself, once: the kernel and the adapters read this and
nothing else, so adding a command, a job or a setting never means editing a hand-kept list."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.kernel.commands import CommandSet
    from bot.kernel.config import RawConfig
    from bot.kernel.filters import Filter
    from bot.kernel.hooks import Subscription
    from bot.kernel.services import Services

# A long-running job of each instance (delivery, expiry, schedules); made at start-up, where it
# checks its settings, and run while the server runs.
Job = Callable[["Services"], Coroutine[Any, Any, None]]
# An HTTP handler factory bound to this Vigil's ports (aiohttp request -> response).
RouteHandler = Callable[["Services"], Callable[[Any], Awaitable[Any]]]
# Adds `vigil` subcommands whose `func(args)` returns an exit status (sync or async).
CliVerbs = Callable[[argparse._SubParsersAction], None]
# A rule spanning several keys, checked by `vigil config check`; raises ConfigError.
ConfigCheck = Callable[["RawConfig"], object]


@dataclass(frozen=True)
class DialogDeclaration:
    """A dialog (Bot Framework code in dialogs/, so named by import path, not imported here).
    The command that begins it sets the role each of its turns needs; the one way in checks it."""

    id: str
    factory: str  # "dialogs.enrich:EnrichDialog", built with the running Vigil's Services


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: RouteHandler


@dataclass(frozen=True)
class Capability:
    """One area of Vigil (intel, incidents, containment, ...) as the rest of the system sees it."""

    name: str
    commands: tuple[CommandSet, ...] = ()
    dialogs: tuple[DialogDeclaration, ...] = ()
    jobs: tuple[Job, ...] = ()
    filters: tuple[Filter, ...] = ()  # run by the one way in before the rate limit
    # Events of other capabilities this one follows (incident closed -> summaries).
    hooks: tuple[Subscription[Any], ...] = ()
    routes: tuple[Route, ...] = ()
    cli: tuple[CliVerbs, ...] = ()
    # Modules declaring `Setting` constants, for `vigil config check`.
    settings: tuple[ModuleType, ...] = ()
    config_checks: tuple[ConfigCheck, ...] = ()
