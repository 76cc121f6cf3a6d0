"""The job that anchors the audit head on a cadence (`VIGIL_AUDIT_ANCHOR_EVERY`), one instance
at a time.

The schedule is a kv document (next due time, last head published). Each due time is taken by
one instance through `claim_once` on that time, so several instances anchor it once; the taker
publishes, then moves the due time on. A sink is not sent a head it already took (an idle log
posts nothing); a failed sink makes the next try come sooner.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from bot.audit.anchor import AnchorRefused, NothingToAnchor, current_anchor
from bot.audit.anchor_settings import AnchorSettings, Sink, anchor_settings
from bot.audit.anchor_sinks import Outlets, publish
from bot.audit.trail import AUDIT_KEY_SECRET
from bot.kernel.services import Services
from bot.secrets.source import SecretUnavailable

log = logging.getLogger(__name__)

NAMESPACE, KEY = "audit-anchor", "schedule"
CLAIM_SECONDS = 600.0  # longer than one round's publishing can take (timeouts and retries)
RETRY_SECONDS = 60.0
TICK_MAX = 30.0


def anchor_job(services: Services) -> Any:
    """The background coroutine for bot/app.py; settings are checked here, at start-up."""
    settings = anchor_settings(services)
    return _run(services, settings)


async def _run(services: Services, settings: AnchorSettings) -> None:
    if not settings.sinks:
        return  # anchoring is off
    tick = min(float(settings.every), TICK_MAX)
    while True:
        try:
            await anchor_if_due(services, settings, time.time())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("audit anchor round failed")
        await asyncio.sleep(tick)


async def anchor_if_due(services: Services, settings: AnchorSettings, now: float) -> bool:
    """When due, take the due time (one instance does) and publish the head to the sinks that
    have not taken it yet; True when this instance took the due time."""
    store = services.store
    found = await store.kv_read(NAMESPACE, [KEY])
    schedule = found[KEY][0] if KEY in found else {}
    due = float(schedule.get("next_due", 0.0))
    # The job never sets a due time more than one period ahead; a later one was written by
    # someone else with database access, to stop the anchors: anchor now.
    due = due if due <= now + settings.every else now
    if due > now or not await store.claim_once(NAMESPACE, repr(due), CLAIM_SECONDS):
        return False
    sent: dict[str, str] = dict(schedule.get("sent") or {})
    try:
        key = await services.secrets.get(AUDIT_KEY_SECRET)
        anchor = await current_anchor(store, key.reveal().encode(), now)
    except NothingToAnchor:
        failed = False  # nothing recorded yet, so nothing to lose
    except (SecretUnavailable, AnchorRefused) as exc:
        log.warning("audit head not anchored: %s", exc)
        failed = True
    else:
        head = f"{anchor.seq}:{anchor.hash}"
        # Per sink, so a sink that is down is retried without re-posting to the others.
        due_sinks = [sink for sink in settings.sinks if sent.get(_sink_id(sink)) != head]
        outlets = Outlets(services.http, services.secrets, services.messenger)
        results = await publish(anchor, due_sinks, outlets)
        for sink, why in results.items():
            if why is None:
                sent[_sink_id(sink)] = head
            else:
                log.warning("audit head %s not anchored to %s: %s", anchor.seq, sink, why)
        failed = any(why is not None for why in results.values())
    wait = min(settings.every, RETRY_SECONDS) if failed else settings.every
    await store.kv_write(NAMESPACE, KEY, {"next_due": now + wait, "sent": sent}, None)
    return True


def _sink_id(sink: Sink) -> str:
    """A sink's name in the schedule: a digest, so a URL's query never sits in the database."""
    return hashlib.sha256(f"{sink.kind}:{sink.target}".encode()).hexdigest()[:16]
