"""Declared events (bot/kernel/hooks.py): subscribers run in the declared order, only for their
event type, and one that fails neither stops the next nor reaches the publisher."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp

from bot.app import build_services
from bot.kernel.commands import CommandRegistry
from bot.kernel.config import RawConfig
from bot.kernel.hooks import Hooks, Subscription, publish
from bot.kernel.rbac import RoleMap
from bot.store import open_store


@dataclass(frozen=True)
class Rang:
    bell: str


@dataclass(frozen=True)
class Other:
    pass


async def test_subscribers_run_in_order_and_a_failure_stays_with_its_subscriber(
    sqlite_url, tmp_path, caplog
):
    heard: list[str] = []

    async def first(services, event: Rang) -> None:
        heard.append(f"first {event.bell}")
        raise RuntimeError("first subscriber broke")

    async def second(services, event: Rang) -> None:
        heard.append(f"second {event.bell}")

    async def other(services, event: Other) -> None:
        heard.append("other")

    hooks = Hooks(
        [Subscription(Rang, first), Subscription(Other, other), Subscription(Rang, second)]
    )
    store = await open_store(sqlite_url)
    raw = RawConfig({}, {"VIGIL_SECRETS_DIR": str(tmp_path)})
    try:
        async with aiohttp.ClientSession() as http:
            services = build_services(raw, store, http, CommandRegistry([]), RoleMap(), hooks)
            with caplog.at_level(logging.ERROR, logger="bot.kernel.hooks"):
                await publish(services, Rang("noon"))
            await services.secrets.close()
    finally:
        await store.close()
    assert heard == ["first noon", "second noon"]
    assert "Rang: subscriber" in caplog.text and "first" in caplog.text
    assert "first subscriber broke" in caplog.text
