"""Publishing an anchor to its sinks: an append-only file, a Teams conversation, an HTTPS endpoint.

Each sink either takes the anchor or raises AnchorNotPublished saying why; one failing sink does
not keep the anchor from the others.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

import cards
from bot.audit.anchor import Anchor, iso
from bot.audit.anchor_settings import ANCHOR_KEY_SECRET, FILE, HTTPS, TEAMS, Sink
from bot.kernel.http_body import read_capped
from bot.kernel.messenger import DeliveryFailed, Message, Messenger
from bot.kernel.retry import Answer, RetryPolicy, Unanswered, with_retries
from bot.kernel.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.secrets.source import (
    CredentialRejected,
    Secret,
    SecretSource,
    SecretUnavailable,
    call_with_rotation,
)

TEMPLATE = "audit_anchor"
TIMEOUT = aiohttp.ClientTimeout(total=15)
MAX_ANSWER = 4096
# An anchor is the same fact however often it is sent, so any 5xx may be tried again.
POLICY = RetryPolicy(
    max_attempts=4, max_wait=20.0, first_backoff=0.5, statuses=frozenset({429, 500, 502, 503, 504})
)


class AnchorNotPublished(Exception):
    """A sink did not take the anchor; the message says why (never a secret)."""


@dataclass
class Outlets:
    """What the sinks publish through: the process's HTTP session, its secret source, and the
    Messenger when running as the service (the CLI has none: Teams sinks are the service's)."""

    http: aiohttp.ClientSession
    secrets: SecretSource
    messenger: Messenger | None = None


async def publish(
    anchor: Anchor, sinks: Sequence[Sink], outlets: Outlets
) -> dict[Sink, str | None]:
    """Each sink -> None when it took the anchor, else why not."""
    results: dict[Sink, str | None] = {}
    for sink in sinks:
        try:
            await publish_one(anchor, sink, outlets)
        except AnchorNotPublished as exc:
            results[sink] = str(exc)
        else:
            results[sink] = None
    return results


async def publish_one(anchor: Anchor, sink: Sink, outlets: Outlets) -> None:
    if sink.kind == FILE:
        await asyncio.to_thread(append_line, sink.target, anchor.line())
    elif sink.kind == TEAMS:
        await _post_card(anchor, sink.target, outlets.messenger)
    elif sink.kind == HTTPS:
        await _post_signed(anchor, sink.target, outlets)
    else:  # parse_sink makes only the kinds above
        raise AnchorNotPublished(f"unknown sink kind {sink.kind!r}")


def append_line(path: str, line: str) -> None:
    """Append one line and sync it: O_APPEND never overwrites what an earlier anchor wrote."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AnchorNotPublished(f"cannot open {path}: {exc.strerror}") from None
    try:
        data = line.encode()
        written = os.write(fd, data)
        if written != len(data):
            raise AnchorNotPublished(f"short write to {path} ({written} of {len(data)} bytes)")
        os.fsync(fd)
    except OSError as exc:
        raise AnchorNotPublished(f"cannot write {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def card_data(anchor: Anchor) -> dict[str, str]:
    return {
        "title": "Audit log head anchored",
        "seq": str(anchor.seq),
        "hash": anchor.hash,
        "mac": anchor.mac,
        "recordTime": iso(anchor.time) or "",
        "anchoredAt": iso(anchor.anchored_at) or "",
        # The line `vigil audit verify --anchors` finds in an export of this channel.
        "text": anchor.token(),
    }


async def _post_card(anchor: Anchor, conversation_id: str, messenger: Messenger | None) -> None:
    if messenger is None:
        raise AnchorNotPublished("a Teams sink is posted by the running service (`vigil serve`)")
    message = Message(card=cards.render(TEMPLATE, card_data(anchor)))
    try:
        await messenger.post(conversation_id, message, paced=True)
    except DeliveryFailed as exc:
        raise AnchorNotPublished(f"Teams did not take the card: {exc}") from None


async def _post_signed(anchor: Anchor, url: str, outlets: Outlets) -> None:
    body = anchor.line().rstrip("\n").encode()

    async def deliver(key: Secret) -> Answer:
        answer = await with_retries(
            POLICY, lambda: _send_once(outlets.http, url, key, body), what="audit anchor sink"
        )
        if answer.status in (401, 403):
            raise CredentialRejected("audit anchor sink", answer.status)
        return answer

    try:
        answer = await call_with_rotation(outlets.secrets, ANCHOR_KEY_SECRET, deliver)
    except SecretUnavailable as exc:
        raise AnchorNotPublished(f"signing key unavailable: {exc}") from None
    except CredentialRejected as exc:
        raise AnchorNotPublished(f"the endpoint refused the signature ({exc.status})") from None
    except Unanswered as exc:
        raise AnchorNotPublished(f"no answer ({exc.reason})") from None
    if not 200 <= answer.status < 300:
        raise AnchorNotPublished(f"the endpoint answered {answer.status}")


async def _send_once(http: aiohttp.ClientSession, url: str, key: Secret, body: bytes) -> Answer:
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(key.reveal(), timestamp, body),
        TIMESTAMP_HEADER: timestamp,
    }
    async with http.post(
        url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
    ) as response:
        await read_capped(response, MAX_ANSWER)  # read, so the connection is reused; unused
        return Answer(response.status, "", response.headers.get("Retry-After", "")[:40])
