"""A running Vigil behind the local Teams channel, in-process, for black-box tests over HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.app import Vigil, build_app, start_vigil
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel, RecordedCall
from bot.kernel.config import RawConfig
from bot.store import Store, open_store

APP_ID = "11111111-2222-4333-8444-555555555555"
APP_PASSWORD = "local-test-password-not-a-secret"
AUDIT_KEY = "audit-key-for-tests-0123456789abcdef"

ADMIN = ChannelUser.named("Ada Admin")
ANALYST = ChannelUser.named("Ann Analyst")
RESPONDER = ChannelUser.named("Rob Responder")
APPROVER = ChannelUser.named("Apu Approver")
COMMANDER = ChannelUser.named("Cam Commander")
NOBODY = ChannelUser.named("Nora Norole")


def role_env() -> dict[str, str]:
    return {
        "VIGIL_ROLE_ADMIN": ADMIN.aad_object_id,
        "VIGIL_ROLE_ANALYST": ANALYST.aad_object_id,
        "VIGIL_ROLE_RESPONDER": RESPONDER.aad_object_id,
        "VIGIL_ROLE_APPROVER": APPROVER.aad_object_id,
        "VIGIL_ROLE_COMMANDER": COMMANDER.aad_object_id,
    }


@dataclass
class Harness:
    """The channel, the bot's HTTP server and the env it was started with."""

    channel: LocalChannel
    db_url: str
    extra_env: Mapping[str, str] = field(default_factory=dict)
    wrap_store: Callable[[Store], Store] | None = None  # e.g. a CountingStore around the store
    given_store: Store | None = None
    vigil: Vigil | None = None
    runner: web.AppRunner | None = None
    url: str = ""

    @classmethod
    async def start(
        cls,
        db_url: str,
        extra_env: Mapping[str, str] | None = None,
        wrap_store: Callable[[Store], Store] | None = None,
    ) -> Harness:
        channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
        await channel.start()
        harness = cls(channel, db_url, dict(extra_env or {}), wrap_store)
        await harness.start_bot()
        return harness

    def env(self) -> dict[str, str]:
        return {
            **self.channel.bot_env(),
            "VIGIL_DB_URL": self.db_url,
            "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
            **role_env(),
            **self.extra_env,
        }

    async def start_bot(self) -> None:
        store = None
        if self.wrap_store is not None:
            store = self.wrap_store(await open_store(self.db_url))
            # Vigil closes only a store it opened; an open store's thread keeps pytest from exiting.
            self.given_store = store
        self.vigil = await start_vigil(RawConfig({}, self.env()), store=store)
        self.runner = web.AppRunner(build_app(self.vigil), shutdown_timeout=5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.channel.bot_endpoint = self.url

    async def stop_bot(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        if self.given_store is not None:
            await self.given_store.close()
            self.given_store = None

    async def restart_bot(self) -> None:
        await self.stop_bot()
        await self.start_bot()

    async def close(self) -> None:
        await self.stop_bot()
        await self.channel.stop()

    async def say(
        self,
        user: ChannelUser,
        text: str,
        conversation: ChannelConversation | None = None,
        **kw: Any,
    ) -> RecordedCall:
        """Send a message and wait for the bot's first answer in that conversation."""
        conversation = conversation or ChannelConversation.personal(user)
        since = self.channel.last_seq
        status = await self.channel.send_message(user, conversation, text, **kw)
        assert status in (200, 201), status
        return await self.channel.wait_for(
            lambda call: (
                call.kind in ("send", "reply")
                and (call.conversation_id or "").startswith(conversation.id)
            ),
            since=since,
        )


def card_of(call: RecordedCall) -> dict[str, Any]:
    attachments = (call.activity or {}).get("attachments") or []
    assert attachments, f"no card in {call.activity}"
    assert attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachments[0]["content"]


def card_text(card: Any) -> str:
    """Every string in a card, joined and markdown-unescaped: what a reader of the card sees."""
    return re.sub(r"\\(.)", r"\1", _strings(card))


def _strings(card: Any) -> str:
    if isinstance(card, dict):
        return " ".join(_strings(value) for value in card.values())
    if isinstance(card, list):
        return " ".join(_strings(value) for value in card)
    return card if isinstance(card, str) else ""
