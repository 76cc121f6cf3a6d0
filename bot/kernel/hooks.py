"""Declared events between capabilities: one publishes a typed event, the others subscribed to
its type at start-up. The publisher never imports a subscriber (incident closed -> summaries),
and a subscriber's failure never undoes the publisher's work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from bot.kernel.services import Services

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True)
class Subscription(Generic[E]):
    """`handler` runs for every published event of type `event`, after the publisher's work."""

    event: type[E]
    handler: Callable[[Services, E], Awaitable[None]]


class Hooks:
    """The subscriptions of a running Vigil, by event type, in the order they were declared."""

    def __init__(self, subscriptions: Iterable[Subscription[Any]] = ()) -> None:
        self._handlers: dict[type, list[Callable[[Services, Any], Awaitable[None]]]] = {}
        for subscription in subscriptions:
            self._handlers.setdefault(subscription.event, []).append(subscription.handler)

    def handlers(self, event: type) -> tuple[Callable[[Services, Any], Awaitable[None]], ...]:
        return tuple(self._handlers.get(event, ()))


async def publish(services: Services, event: object) -> None:
    """Run the event's subscribers one after another; one that fails is logged and the rest run."""
    for handler in services.hooks.handlers(type(event)):
        try:
            await handler(services, event)
        except asyncio.CancelledError:
            raise
        except Exception:
            name = f"{handler.__module__}.{handler.__qualname__}"
            log.exception("%s: subscriber %s failed", type(event).__name__, name)
