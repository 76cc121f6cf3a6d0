"""The delivery worker each instance runs: route stored alerts, then post or update due cards.

Sends to one conversation go one at a time, paced to Teams' limits; conversations proceed in
parallel under the tenant budget. Cards are rendered from the store at send time, so an update
always shows the latest count and re-doing one is harmless (idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from typing import Any

import cards
from bot import conversation_refs
from bot.alerts import outbox, repository
from bot.alerts.dedupe import Window
from bot.alerts.ingest import wake_event
from bot.alerts.pacing import CONVERSATION_LIMITS, TENANT_LIMITS, Pace
from bot.alerts.pipeline import route_pending
from bot.alerts.presentation import alert_card_data, digest_card_data
from bot.alerts.routing import Routes
from bot.alerts.settings import AlertSettings
from bot.connector import RETRYABLE, BotConnector, ConnectorError, PayloadTooLarge
from bot.services import Services

log = logging.getLogger(__name__)

CLAIM_BATCH = 100
IDLE_POLL = 0.5


class DeliveryWorker:
    def __init__(self, services: Services, routes: Routes, settings: AlertSettings) -> None:
        self.services = services
        self.store = services.store
        self.routes = routes
        self.window = Window(settings.dedupe_window, settings.digest_after)
        self.owner = "w-" + uuid.uuid4().hex[:12]
        self.paces: dict[str, Pace] = defaultdict(lambda: Pace(CONVERSATION_LIMITS))
        self.tenant_pace = Pace(TENANT_LIMITS)
        self.tenant_lock = asyncio.Lock()
        self._connector: BotConnector | None = None

    @property
    def connector(self) -> BotConnector:
        if self._connector is None:
            shared = self.services.connector
            if shared is None:
                raise RuntimeError("no Bot Connector client")
            # Few quick retries here; longer waits go back to the outbox so the lease is short.
            self._connector = BotConnector(shared.http, shared.tokens, max_attempts=3, max_wait=20)
        return self._connector

    async def run(self) -> None:
        wake = wake_event(self.services)
        while True:
            try:
                busy = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert delivery step failed; retrying")
                busy = False
                await asyncio.sleep(1.0)
            if not busy:
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), timeout=IDLE_POLL)
                except TimeoutError:
                    pass

    async def step(self) -> bool:
        """Route what is waiting, deliver what is due; True when there was work."""
        routed = await route_pending(self.store, self.routes, self.window)
        rows = await outbox.claim(self.store, self.owner, CLAIM_BATCH)
        by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_conversation[row["conversation_id"]].append(row)
        await asyncio.gather(*(self._conversation(c, g) for c, g in by_conversation.items()))
        return bool(routed or rows)

    async def _conversation(self, conversation_id: str, groups: list[dict[str, Any]]) -> None:
        for group in groups:
            await self._paced(conversation_id)
            try:
                await self.deliver(group["id"])
            except Exception:
                log.exception("delivering card %s failed", group["id"])

    async def _paced(self, conversation_id: str) -> None:
        pace = self.paces[conversation_id]
        # One sleep suffices: only this conversation's task records into its pace.
        if (delay := pace.wait()) > 0:
            await asyncio.sleep(delay)
        async with self.tenant_lock:
            if (delay := self.tenant_pace.wait()) > 0:
                await asyncio.sleep(delay)
            self.tenant_pace.record()
        pace.record()

    async def deliver(self, group_id: str) -> None:
        group = await outbox.current(self.store, group_id)
        if group is None:
            return
        ref = await conversation_refs.get(self.store, group["conversation_id"])
        if ref is None or not ref.get("serviceUrl"):
            await outbox.dead(self.store, group, self.owner, "no saved conversation reference")
            return
        try:
            await self._send(group, ref["serviceUrl"], compact=bool(group["compact"]))
        except PayloadTooLarge:
            if group["compact"]:
                await outbox.dead(self.store, group, self.owner, "413 even in compact form")
                return
            await outbox.set_compact(self.store, group_id)
            try:
                await self._send(group, ref["serviceUrl"], compact=True)
            except PayloadTooLarge:
                await outbox.dead(self.store, group, self.owner, "413 even in compact form")
            except ConnectorError as exc:
                await self._failed(group, exc)
        except ConnectorError as exc:
            await self._failed(group, exc)

    async def _send(self, group: dict[str, Any], service_url: str, compact: bool) -> None:
        activity = await self._activity(group, compact)
        conversation = group["conversation_id"]
        if group["activity_id"]:
            await self.connector.update(service_url, conversation, group["activity_id"], activity)
        else:
            activity_id = await self.connector.send(service_url, conversation, activity)
            await outbox.posted(self.store, group["id"], self.owner, activity_id)
        await outbox.delivered(self.store, group["id"], self.owner, int(group["version"]))

    async def _failed(self, group: dict[str, Any], exc: ConnectorError) -> None:
        if exc.status in RETRYABLE or exc.status == 0:
            if await outbox.retry_later(self.store, group, self.owner, str(exc)):
                log.warning("alert card %s is a dead letter: %s", group["id"], exc)
            return
        await outbox.dead(self.store, group, self.owner, str(exc))
        log.warning("alert card %s is a dead letter: %s", group["id"], exc)

    async def _activity(self, group: dict[str, Any], compact: bool) -> dict[str, Any]:
        redact = self.services.redactor.redact_data
        if group["kind"] == "digest":
            card = cards.render(
                "alert_digest", redact(digest_card_data(group, self.window.seconds))
            )
        else:
            found = await repository.get(self.store, group["latest_alert_id"])
            if found is None:
                raise ConnectorError(0, "alert missing")
            card = cards.render("alert", redact(alert_card_data(found[0], group, compact)))
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }


def delivery_job(services: Services) -> Any:
    """The background coroutine for bot/app.py: settings and routes are checked at start-up."""
    worker = DeliveryWorker(
        services, Routes.load(services.raw_config), AlertSettings.load(services.raw_config)
    )
    return worker.run()
