"""`POST /api/playbooks/events`: a SOAR reports a run's progress, signed with the playbook's key.

The run is found first (its playbook names the key), then the signature is checked. Answers:
202 accepted, 200 for a seq the run already holds, 401 for a bad, stale or replayed signature,
404 for an unknown run, 409 after `finished`, 400/413/422 for bodies that are unreadable, too
big or invalid (naming the field). Stored before answered; the card follows.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.kernel.request_body import BodyRejected, parse_json, read_raw
from bot.kernel.services import Services
from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, parse_timestamp, sign
from bot.kernel.storable import storable_data, storable_text
from bot.playbooks import records, runs
from bot.playbooks.records import EVENT_STATUSES, Event, RepeatedSeq, RunFinished, RunNotFound
from bot.secrets.source import SecretUnavailable

log = logging.getLogger(__name__)

REPLAY_SCOPE = "playbooks.sig"
MAX_STEP = 200
MAX_OUTPUT = 8000  # stored; the card shows a few hundred characters of it
MAX_SEQ = 1_000_000


class Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def events_webhook(services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler for `POST /api/playbooks/events`, bound to this Vigil's ports."""
    settings = runs.settings(services)
    playbooks = runs.configured(services)

    async def handle(request: web.Request) -> web.Response:
        try:
            body = await read_raw(request, settings.max_body)
            document = parse_json(body)
        except BodyRejected as exc:
            return _answer(exc.status, {"error": exc.reason})
        if not isinstance(document, dict):
            return _answer(422, {"error": "expected a JSON object", "field": "body"})
        run_id = document.get("run_id")
        if not isinstance(run_id, str) or not run_id:
            return _answer(422, {"error": "expected the run's id", "field": "run_id"})
        canonical = records.normalise_id(run_id)
        try:
            run = await records.get(services.store, canonical or "")
        except RunNotFound:
            return _answer(404, {"error": "unknown run"})
        playbook = playbooks.find(run.playbook)
        if playbook is None:
            return _answer(404, {"error": "the run's playbook is no longer configured"})
        try:
            key = await services.secrets.get(playbook.key_secret)
        except SecretUnavailable:
            return _answer(503, {"error": "signing key unavailable"})
        refusal = _signature_problem(request, body, key.reveal(), settings.max_skew)
        if refusal:
            log.info("playbook event for %s refused: %s", run.id, refusal)
            return _answer(401, {"error": refusal})
        try:
            event = _event(run.id, document)
        except Invalid as exc:
            return _answer(422, {"error": exc.reason, "field": exc.field})
        # Twice the skew: a signature stays acceptable for max_skew either side of now.
        signature = request.headers[SIGNATURE_HEADER].strip()
        if not await services.store.claim_once(
            REPLAY_SCOPE, f"{run.id}:{signature}", 2.0 * settings.max_skew
        ):
            return _answer(401, {"error": "signature already used (replay)"})
        try:
            await records.add_event(services.store, event)
        except RunFinished:
            return _answer(409, {"error": "the run has finished"})
        except RepeatedSeq:
            return _answer(200, {"run_id": run.id, "seq": event.seq, "outcome": "repeated"})
        await runs.record_event(services, run, event)
        return _answer(202, {"run_id": run.id, "seq": event.seq, "outcome": "accepted"})

    return handle


def _signature_problem(request: web.Request, body: bytes, key: str, max_skew: int) -> str:
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    stamp = request.headers.get(TIMESTAMP_HEADER, "")
    if not signature:
        return f"signature missing ({SIGNATURE_HEADER} and {TIMESTAMP_HEADER})"
    sent = parse_timestamp(stamp)
    if sent is None:
        return f"{TIMESTAMP_HEADER} missing or not epoch seconds"
    if abs(time.time() - sent) > max_skew:
        return f"{TIMESTAMP_HEADER} is more than {max_skew}s away (stale)"
    if not hmac.compare_digest(sign(key, stamp, body), signature):
        return "bad signature"
    return ""


def _event(run_id: str, document: dict[str, Any]) -> Event:
    seq = document.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise Invalid("seq", f"expected a whole number from 0 to {MAX_SEQ}")
    step = document.get("step")
    if not isinstance(step, str) or not step.strip():
        raise Invalid("step", "expected the step's name")
    status = document.get("status")
    if status not in EVENT_STATUSES:
        raise Invalid("status", f"expected one of {', '.join(EVENT_STATUSES)}")
    output = document.get("output", "")
    if output is None:
        output = ""
    elif not isinstance(output, str):
        output = json.dumps(output, ensure_ascii=False)[: MAX_OUTPUT + 1]
    task = document.get("task") or {}
    if not isinstance(task, dict):
        raise Invalid("task", "expected an object")
    if task and not isinstance(task.get("prompt", ""), str):
        raise Invalid("task.prompt", "expected text")
    return Event(
        run_id=run_id,
        seq=seq,
        step=storable_text(" ".join(step.split())[:MAX_STEP]),
        status=status,
        output=storable_text(output[:MAX_OUTPUT]),
        task=storable_data(task),
        at=time.time(),
    )


def _answer(status: int, payload: dict[str, Any]) -> web.Response:
    return web.json_response(payload, status=status)
