"""`POST /api/alerts/{source}`: authenticate, bound, normalise, store, and only then answer 202.

Answers: 202 with ids when something new was stored, 200 with the same ids for a re-send, 401
for bad or missing credentials, 413/400/422 for bodies that are too big, unreadable or invalid.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.alerts import repository
from bot.alerts.auth import REPLAYED, AlertAuth, AuthRefused
from bot.alerts.group_commit import GroupCommit, Replayed
from bot.alerts.keys import AlertKeys
from bot.alerts.model import Alert, Entity, InvalidAlert
from bot.alerts.normalise import SOURCES, normalise
from bot.alerts.settings import AlertSettings
from bot.kernel.request_body import BodyRejected, parse_json, read_raw
from bot.kernel.services import Services, Slot
from bot.kernel.storable import (
    Unstorable,
    exact,
    json_is_storable,
    storable_data,
    storable_text,
)

log = logging.getLogger(__name__)

WAKE: Slot[asyncio.Event] = Slot("alerts.wake")


def wake_event(services: Services) -> asyncio.Event:
    """Set after each stored post so this instance's router starts at once instead of polling."""
    return services.provide(WAKE, asyncio.Event)


def alert_webhook(services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /api/alerts/{source}`, bound to this Vigil's ports."""
    settings = AlertSettings.load(services.raw_config)
    auth = AlertAuth(
        AlertKeys(services.secrets, settings.key_ttl), services.store, settings.max_skew
    )
    commit = GroupCommit(services.store)

    async def handle(request: web.Request) -> web.Response:
        source = request.match_info.get("source", "")
        if source not in SOURCES:
            return _answer(404, {"error": f"unknown source; known: {', '.join(SOURCES)}"})
        try:
            body = await read_raw(request, settings.max_body)
            how = await auth.check(source, request.headers, body, claim=False)  # type: ignore[arg-type]
            document = parse_json(body)
            results = normalise(source, document, settings.elastic_fields)
            if not json_is_storable(body):
                results = storable(results)
        except AuthRefused as exc:
            log.info("alert post refused for %s: %s", source, exc.reason)
            return _answer(exc.status, {"error": exc.reason})
        except BodyRejected as exc:
            return _answer(exc.status, {"error": exc.reason})
        except InvalidAlert as exc:
            return _answer(422, {"error": str(exc), "field": exc.field})
        good = [item for item in results if isinstance(item, Alert)]
        bad = [_rejected(item) for item in results if isinstance(item, InvalidAlert)]
        if not good:
            first = bad[0] if bad else {"field": "body", "error": "no alerts"}
            return _answer(422, {"error": first["error"], "field": first["field"], "rejected": bad})
        # The signature is claimed in the same commit as the alerts: a replay stores nothing.
        claim = auth.replay_key(source, request.headers) if how == "hmac" else None  # type: ignore[arg-type]
        try:
            stored = await commit.save(good, claim)
        except Replayed:
            log.info("alert post refused for %s: %s", source, REPLAYED)
            return _answer(401, {"error": REPLAYED})
        wake_event(services).set()
        fresh = any(item.outcome != "duplicate" for item in stored)
        log.debug("stored %d alerts from %s (%s)", len(stored), source, how)
        return _answer(
            202 if fresh else 200,
            {
                "ids": [item.id for item in stored],
                "accepted": [_accepted(item) for item in stored],
                "rejected": bad,
            },
        )

    return handle


def storable(results: list[Alert | InvalidAlert]) -> list[Alert | InvalidAlert]:
    """Each alert's text made storable (bot/kernel/storable.py) before it goes near the store;
    an alert whose id cannot be stored as sent is refused, naming it ("[2].id" in a list).

    After normalising, not before: an id derived from the content (a fingerprint) is then
    derived from the content as sent, so two different alerts never share one."""
    many = len(results) > 1
    made: list[Alert | InvalidAlert] = []
    for index, item in enumerate(results):
        if isinstance(item, InvalidAlert):
            made.append(item)
            continue
        field = f"[{index}].id" if many else "id"
        try:
            made.append(_storable_alert(item, field))
        except Unstorable as exc:
            made.append(InvalidAlert(exc.field, "the alert's id holds a lone surrogate or NUL"))
    return made


def _storable_alert(alert: Alert, id_field: str) -> Alert:
    return dataclasses.replace(
        alert,
        source_id=exact(alert.source_id, id_field),
        title=storable_text(alert.title),
        rule=storable_text(alert.rule),
        category=storable_text(alert.category),
        description=storable_text(alert.description),
        link=storable_text(alert.link),
        entities=[Entity(e.type, storable_text(e.value)) for e in alert.entities],
        warnings=[storable_text(warning) for warning in alert.warnings],
        raw=storable_data(alert.raw),
        labels=storable_data(alert.labels),
        group=storable_text(alert.group),
        severity_word=storable_text(alert.severity_word),
    )


def _accepted(item: repository.Stored) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": item.id, "outcome": item.outcome}
    if item.alert.warnings:
        answer["warnings"] = item.alert.warnings[:10]
    return answer


def _rejected(error: InvalidAlert) -> dict[str, str]:
    return {"field": error.field, "error": str(error)}


def _answer(status: int, payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=status)
