"""What execution, rollback and recovery share: this process's engine, the connector call, and
following a sent action until the connector gives a final answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from bot.containment.approvals import records
from bot.containment.approvals.records import Approval, StaleApproval
from bot.containment.connector import Action, Connector, ConnectorError, Outcome, Request, Result
from bot.containment.execution_settings import ExecutionSettings
from bot.containment.journal import EXECUTOR, record_step
from bot.containment.lease import Lease
from bot.kernel.rbac import Actor
from bot.kernel.services import Services, Slot
from bot.store import Store

log = logging.getLogger(__name__)

# How a caller of `follow` asks about an action it sent: the latest id known -> an answer or None.
Check = Callable[[str], Awaitable[Result | None]]
FINAL = frozenset({Outcome.SUCCEEDED, Outcome.FAILED})
# Sending twice has the effect of sending once: the SOAR webhook carries the approval id as its
# idempotency key and the receiver de-duplicates; an RPZ record is a set member.
IDEMPOTENT_CONNECTORS = frozenset({"soar", "rpz"})
STILL_CHECKING = "status unknown — still checking"


@dataclass
class Engine:
    """This process's execution state: its lease owner id, settings and the tasks it runs."""

    owner: str
    settings: ExecutionSettings
    tasks: set[asyncio.Task] = field(default_factory=set)
    running: set[str] = field(default_factory=set)

    def spawn(self, key: str, work: Coroutine[Any, Any, Any]) -> bool:
        """Run `work` in the background unless `key` already runs here; False when it does."""
        if key in self.running:
            work.close()
            return False
        task = asyncio.create_task(work, name=f"containment {key}")
        self.tasks.add(task)
        self.running.add(key)

        def done(finished: asyncio.Task) -> None:
            self.tasks.discard(finished)
            self.running.discard(key)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("containment %s failed", key, exc_info=finished.exception())

        task.add_done_callback(done)
        return True

    async def claim(self, store: Store, approval: Approval, **changes: Any) -> Lease | None:
        """This instance's lease on `approval`, written with `changes`; None when another
        instance or a decision moved the record on first."""
        try:
            return await Lease.claim(
                store, approval, self.owner, self.settings.lease_seconds, **changes
            )
        except StaleApproval:
            return None

    async def claim_and_carry(
        self,
        store: Store,
        approval: Approval,
        carry: Callable[[Lease], Awaitable[Approval]],
        **changes: Any,
    ) -> Approval:
        """Claim `approval` (written with `changes`) and `carry` it out under the lease; the
        record as it ended, or as whoever moved it on first left it."""
        lease = await self.claim(store, approval, **changes)
        if lease is None:
            return await records.get(store, approval.id)
        return await carry(lease)

    async def idle(self) -> None:
        """Wait until nothing runs here (tests and the benchmark use it)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def shutdown(self) -> None:
        """Cancel what runs here; each releases its lease so another instance takes over now."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


ENGINE: Slot[Engine] = Slot("containment.engine")


def engine(services: Services) -> Engine:
    return services.provide(
        ENGINE, lambda: Engine(uuid.uuid4().hex[:12], ExecutionSettings.load(services.raw_config))
    )


def request_of(approval: Approval) -> Request:
    """What the connector gets: plain data from the record, the approval id as idempotency key."""
    options = approval.options
    return Request(
        approval_id=approval.id,
        action=Action(approval.action),
        target=approval.target,
        reason=approval.reason,
        requester=approval.requester_name,
        approvers=tuple(str(entry.get("name", "")) for entry in approval.approvals),
        incident_id=approval.incident_id,
        selective=bool(options.get("selective")),
        expires_at=block_expires_at(approval),
        machine_id=str(options.get("machine_id") or ""),
    )


def block_expires_at(approval: Approval) -> float | None:
    """When a block with `--expires` lapses: its lifetime counted from when it was sent.

    The card promises "7d after it is applied", so a request approved late still gets its whole
    lifetime (and never an expiry already past). Before the send, or on a record that kept only
    the absolute time, the time stored with the request is the best known.
    """
    options = approval.options
    seconds = options.get("block_expires_seconds")
    sent = approval.send_started_at
    if _number(seconds) and _number(sent):
        return float(sent) + float(seconds)
    expires = options.get("block_expires_at")
    return float(expires) if _number(expires) else None


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def connector_for(services: Services, approval: Approval) -> Connector:
    """The configured connector for the action; ConnectorError says what to configure."""
    from bot.containment.registry import connectors_from_config

    return connectors_from_config(services).for_action(Action(approval.action))


async def ready_to_send(
    services: Services,
    approval: Approval,
    *,
    stage: str,
    text: str,
    actor: Actor = EXECUTOR,
    action: str = "containment.execute",
) -> Connector | Result:
    """The connector to send with, once the step is recorded; else a failed result saying why
    nothing was sent. Nothing is sent that the audit log cannot record."""
    try:
        await record_step(
            services, approval, stage=stage, text=text, actor=actor, action=action, strict=True
        )
    except Exception as exc:
        return Result(Outcome.FAILED, f"{exc}; not sent")
    try:
        return connector_for(services, approval)
    except ConnectorError as exc:
        return Result(Outcome.FAILED, str(exc))


async def call(work: Coroutine[Any, Any, Result]) -> Result:
    """The connector's answer; a ConnectorError is a refusal, anything else leaves it unknown."""
    try:
        return await work
    except ConnectorError as exc:
        return Result(Outcome.FAILED, str(exc) or type(exc).__name__)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("connector call failed")
        return Result(Outcome.UNKNOWN, f"connector error ({type(exc).__name__})")


async def follow(
    services: Services,
    connector: Connector,
    request: Request,
    result: Result,
    *,
    since: float,
    lease: Lease | None = None,
    check: Check | None = None,
) -> Result:
    """Poll a pending or unknown action with backoff until it is final or the give-up time.

    With an id, `poll` it; without one (a timeout before any answer) ask `find_sent`. Nothing is
    ever sent again from here. `check` replaces both (a rollback asks its own way).
    """
    settings = engine(services).settings
    external_id = result.external_id
    delay = settings.poll_initial
    while True:
        remaining = since + settings.give_up_seconds - time.time()
        if remaining <= 0:
            return Result(Outcome.FAILED, give_up_text(settings), external_id=external_id)
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, settings.poll_max)
        if lease is not None:
            lease.check()
        try:
            if check is not None:
                latest: Result | None = await check(external_id)
            elif external_id:
                latest = await connector.poll(request, external_id)
            else:
                latest = await connector.find_sent(request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Still unknown: the answer may come next time; the give-up time bounds the wait.
            log.warning("approval %s: status check failed (%s)", request.approval_id, exc)
            continue
        if latest is None:
            continue
        if latest.external_id and latest.external_id != external_id:
            external_id = latest.external_id
            if lease is not None:
                await lease.change(external_id=external_id)
        if latest.outcome in FINAL:
            return latest if latest.external_id else replace(latest, external_id=external_id)


def merged_detail(previous: dict[str, Any], result: Result, *, sent: bool) -> dict[str, Any]:
    """What the record keeps: the latest outcome, and the request sent with its answer.

    `sent`: `result` answers the send itself. Status checks afterwards go under `last_check`,
    so the request that changed the world stays on the record (and in the audit).
    """
    detail = dict(previous)
    detail["outcome"] = result.outcome.value
    detail["detail"] = result.detail
    if result.external_id:
        detail["external_id"] = result.external_id
    answer: dict[str, Any] = {}
    if result.http_status is not None:
        answer["http_status"] = result.http_status
    if result.request_summary:
        answer["request"] = result.request_summary
    if result.response_digest:
        answer["response_digest"] = result.response_digest
    if sent:
        detail.update(answer)
    elif answer:
        detail["last_check"] = answer
        for name, value in answer.items():
            detail.setdefault(name, value)  # nothing from the send (a timeout): the best known
    if result.provenance is not None:
        detail["provenance"] = {
            "connector": result.provenance.connector,
            "scope": result.provenance.scope,
            "credential_id": result.provenance.credential_id,
        }
    return detail


def give_up_text(settings: ExecutionSettings) -> str:
    minutes = settings.give_up_minutes
    return f"unknown after {minutes:g} minute{'' if minutes == 1 else 's'}; check the console"


def given_up(settings: ExecutionSettings, since: float | None) -> bool:
    return time.time() >= (since or time.time()) + settings.give_up_seconds
