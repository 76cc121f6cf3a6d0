"""The delivery worker each instance runs: route stored alerts, then post or update due cards.

Claimed cards queue per conversation; each conversation sends one card at a time at the send
time the shared pace reserved for it, so the Teams limits hold for all instances together.
Right before a send the worker checks it still holds the card's lease; a new message id is
recorded the moment the channel returns it. Cards are rendered from the store at send time, so
an update always shows the latest count and repeating one is harmless (idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from typing import Any

import cards
from bot.alerts import mentions, outbox, repository
from bot.alerts.dedupe import Window
from bot.alerts.ingest import wake_event
from bot.alerts.pipeline import route_pending
from bot.alerts.presentation import alert_card_data, digest_card_data, with_mentions
from bot.alerts.routing import Routes
from bot.alerts.settings import AlertSettings
from bot.kernel.messenger import (
    ConversationUnknown,
    DeliveryFailed,
    Message,
    MessageTooLarge,
    Messenger,
)
from bot.kernel.pacing import SharedPace
from bot.kernel.services import Services

log = logging.getLogger(__name__)

CLAIM_BATCH = 25
# Cards one instance holds at most: enough to keep the bot-wide budget busy, while the rest stay
# claimable by other instances instead of waiting here for this instance's send times.
MAX_HELD = 50
IDLE_POLL = 0.5
BUSY_PAUSE = 0.05
PREPARE_AHEAD = 0.3
# Alerts read to draw one card: a group notification holds at most Alertmanager's batch.
CARD_MEMBERS = 1000
# How long a stopping worker waits for posts in flight to be recorded.
POST_GRACE = 20.0


class DeliveryWorker:
    def __init__(self, services: Services, routes: Routes, settings: AlertSettings) -> None:
        self.services = services
        self.store = services.store
        self.routes = routes
        self.window = Window(settings.dedupe_window, settings.digest_after)
        self.owner = "w-" + uuid.uuid4().hex[:12]
        self.pace = SharedPace(self.store)
        self.held: set[str] = set()
        self.queues: dict[str, deque[str]] = {}
        self.senders: dict[str, asyncio.Task[None]] = {}
        self.posting: set[asyncio.Task[None]] = set()
        self._messenger: Messenger | None = None

    @property
    def messenger(self) -> Messenger:
        if self._messenger is None:
            shared = self.services.messenger
            if shared is None:
                raise RuntimeError("no Messenger")
            # Few quick retries here; longer waits go back to the outbox.
            self._messenger = shared.retrying_briefly()
        return self._messenger

    async def run(self) -> None:
        wake = wake_event(self.services)
        heartbeat = asyncio.create_task(self._renew_leases())
        try:
            while True:
                try:
                    busy = await self.step()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("alert delivery step failed; retrying")
                    busy = False
                    await asyncio.sleep(1.0)
                if busy:
                    # Under a stream of posts, let more arrive before the next pass: routing a
                    # batch costs little more than routing one (about 10% less CPU per post).
                    await asyncio.sleep(BUSY_PAUSE)
                else:
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=IDLE_POLL)
        finally:
            await self._stop(heartbeat)

    async def step(self) -> bool:
        """Route what is waiting and claim what is due; True when there was work."""
        routed = await route_pending(self.store, self.routes, self.window)
        room = min(CLAIM_BATCH, MAX_HELD - len(self.held))
        rows = await outbox.claim(self.store, self.owner, room) if room > 0 else []
        for row in rows:
            self._queue(row["conversation_id"], row["id"])
        return bool(routed or rows)

    def _queue(self, conversation_id: str, group_id: str) -> None:
        self.held.add(group_id)
        self.queues.setdefault(conversation_id, deque()).append(group_id)
        if conversation_id not in self.senders:
            self.senders[conversation_id] = asyncio.create_task(self._drain(conversation_id))

    async def _drain(self, conversation_id: str) -> None:
        queue = self.queues[conversation_id]
        try:
            while queue:
                group_id = queue.popleft()
                try:
                    await self._paced(conversation_id, group_id)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivering card %s failed", group_id)
                finally:
                    self.held.discard(group_id)
        finally:
            # No await between the empty check and here, so no card can be queued unseen.
            del self.senders[conversation_id]
            del self.queues[conversation_id]

    async def _paced(self, conversation_id: str, group_id: str) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time() + await self.pace.reserve(conversation_id)
        # Read and render a little before the send time, so the send itself leaves on time.
        await asyncio.sleep(max(0.0, at - PREPARE_AHEAD - loop.time()))
        if not await outbox.hold(self.store, group_id, self.owner):
            log.info("card %s: lease lost while waiting for its send time", group_id)
            return
        await self.deliver(group_id, at)

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(outbox.RENEW_EVERY)
            try:
                await outbox.renew(self.store, self.owner, sorted(self.held))
            except Exception:
                log.exception("renewing alert card leases failed")

    async def _stop(self, heartbeat: asyncio.Task[None]) -> None:
        tasks = [heartbeat, *self.senders.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.posting:
            # Let posts already made reach their record before the store closes.
            await asyncio.wait(self.posting, timeout=POST_GRACE)
        with contextlib.suppress(Exception):
            await outbox.release(self.store, self.owner)

    async def deliver(self, group_id: str, at: float | None = None) -> None:
        """Post or update one card, sending at loop time `at` when given."""
        group = await outbox.current(self.store, group_id)
        if group is None:
            return
        try:
            message = await self._message(group, compact=bool(group["compact"]))
            if at is not None:
                await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))
            await self._send(group, message)
        except ConversationUnknown:
            await outbox.dead(self.store, group, self.owner, "no saved conversation reference")
        except MessageTooLarge:
            if group["compact"]:
                await outbox.dead(self.store, group, self.owner, "413 even in compact form")
                return
            # The compact form goes back through the outbox, so its send is paced too.
            await outbox.set_compact(self.store, group_id)
            await outbox.retry_later(self.store, group, self.owner, "413: compact next", 0.0)
        except DeliveryFailed as exc:
            await self._failed(group, exc)

    async def _send(self, group: dict[str, Any], message: Message) -> None:
        conversation = group["conversation_id"]
        if group["activity_id"]:
            await self.messenger.update(conversation, group["activity_id"], message)
        else:
            # Shielded: stopping the worker must not fall between the post and its record.
            posting = asyncio.create_task(self._post(group["id"], conversation, message))
            self.posting.add(posting)
            posting.add_done_callback(self.posting.discard)
            await asyncio.shield(posting)
        await outbox.delivered(self.store, group["id"], self.owner, int(group["version"]))

    async def _post(self, group_id: str, conversation: str, message: Message) -> None:
        activity_id = await self.messenger.post(conversation, message)
        # The only statement between the post and its record: the duplicate-post window.
        await outbox.posted(self.store, group_id, activity_id)
        log.info("alert card %s posted as message %s by %s", group_id, activity_id, self.owner)

    async def _failed(self, group: dict[str, Any], exc: DeliveryFailed) -> None:
        if exc.retryable:
            if await outbox.retry_later(self.store, group, self.owner, str(exc)):
                log.warning("alert card %s is a dead letter: %s", group["id"], exc)
            return
        await outbox.dead(self.store, group, self.owner, str(exc))
        log.warning("alert card %s is a dead letter: %s", group["id"], exc)

    async def _message(self, group: dict[str, Any], compact: bool) -> Message:
        # Card data is redacted before render as well: render cuts long text, and a secret cut
        # short no longer matches (the Messenger redacts the whole card again on the way out).
        redact = self.services.redactor.redact_data
        if group["kind"] == "digest":
            card = cards.render(
                "alert_digest", redact(digest_card_data(group, self.window.seconds))
            )
        else:
            found = await repository.get(self.store, group["latest_alert_id"])
            if found is None:
                raise DeliveryFailed("alert missing", retryable=True)
            members = await repository.on_card(self.store, group["id"], CARD_MEMBERS)
            data = alert_card_data(found[0], group, compact, members)
            card = cards.render(self.routes.template_for(group["route"]), redact(data))
            wanted = mentions.wanted_by(group)
            card = with_mentions(card, await mentions.resolve(self.store, wanted))
        return Message(card=card)


def delivery_job(services: Services) -> Any:
    """The background coroutine for bot/app.py: settings and routes are checked at start-up."""
    worker = DeliveryWorker(
        services, Routes.load(services.raw_config), AlertSettings.load(services.raw_config)
    )
    return worker.run()
