"""Execution through the signed SOAR webhook, end to end against the local receiver: each action
acted on once, "pending" answers polled by re-posting the same idempotency key, rollback under
`<id>:rollback`, and a crash after the send re-sent safely only because the receiver de-duplicates.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine, request_of
from bot.containment.lease import Lease
from bot.containment.recovery import recover
from bot.containment.registry import connectors_from_config
from bot.kernel.rbac import Actor, Role
from tests.containment.approvals.approved import approved, audit_of, fast_env, services_for
from tests.fakes.soar_receiver import SoarReceiver

KEY = "soar-execution-test-hmac-key-0123456789"
RESPONDER = Actor(
    "aaaaaaaa-0000-4000-8000-00000000000b", "Ria Responder", frozenset({Role.RESPONDER})
)


@pytest.fixture
async def receiver():
    started = await SoarReceiver([KEY]).start()
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


@pytest.fixture
def services(store, http, receiver):
    env = fast_env(
        VIGIL_CONTAINMENT_ISOLATE_CONNECTOR="soar",
        VIGIL_CONTAINMENT_BLOCK_CONNECTOR="soar",
        VIGIL_SOAR_WEBHOOK_URL=receiver.url,
        VIGIL_SECRET_SOAR_WEBHOOK_HMAC_KEY=KEY,
        VIGIL_SOAR_MAX_BACKOFF="0.05",
        VIGIL_SOAR_TIMEOUT="2",
    )
    return services_for(store, http, env)


def posts(receiver: SoarReceiver, key: str) -> list[dict]:
    return [d.body for d in receiver.deliveries if d.key == key]


@pytest.mark.parametrize(
    ("action", "target"),
    [("isolate_endpoint", "ws-fin-042"), ("block_domain", "evil.example.com")],
)
async def test_action_and_rollback_are_each_acted_on_once(
    store, services, receiver, action, target
):
    approval = await approved(store, action, target, incident_id="")

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED and done.external_id == "SOAR-1"
    assert list(receiver.actions) == [approval.id]
    sent = receiver.actions[approval.id]
    assert sent["kind"] == "execute" and sent["action"] == action and sent["target"] == target
    assert sent["approvers"] == ["Apu Approver"] and sent["requester"] == "Rob Responder"
    assert done.result_detail["provenance"]["connector"] == "soar"
    assert done.result_detail["request"]["idempotency_key"] == approval.id

    rolled = await execution.rollback(services, done, RESPONDER)

    assert rolled.rollback_state == "succeeded", rolled.rollback_result
    key = f"{approval.id}:rollback"
    assert list(receiver.actions) == [approval.id, key]
    assert receiver.actions[key]["kind"] == "rollback"
    assert receiver.actions[key]["external_id"] == "SOAR-1"
    assert len(posts(receiver, key)) == 1
    audit = await audit_of(store, approval.id)
    assert [a["stage"] for a in audit] == [
        "executing",
        "succeeded",
        "rollback executing",
        "rollback succeeded",
    ]
    assert all(a["connector"] == "soar" for a in audit[1:])
    assert not receiver.refused


async def test_pending_is_polled_by_reposting_the_same_key_until_succeeded(
    store, services, receiver
):
    receiver.status = "pending"
    receiver.pending_polls = 2
    approval = await approved(store, "block_ip", "203.0.113.7")

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED, done.result
    assert len(receiver.actions) == 1  # acted on once
    assert len(posts(receiver, approval.id)) == 3  # the send, then two status reads
    assert done.result_detail["http_status"] == 200
    # The request that changed the world stays on the record; the checks are `last_check`.
    assert done.result_detail["request"]["body"]["kind"] == "execute"
    stages = [a["stage"] for a in await audit_of(store, approval.id)]
    assert stages == ["executing", "pending", "succeeded"]


async def test_a_pending_rollback_is_asked_under_its_own_key(store, services, receiver):
    approval = await approved(store, "block_domain", "pending-rollback.example.com")
    done = await execution.execute(services, approval)
    receiver.status = "pending"
    receiver.pending_polls = 1

    rolled = await execution.rollback(services, done, RESPONDER)

    key = f"{approval.id}:rollback"
    assert rolled.rollback_state == "succeeded", rolled.rollback_result
    assert len(posts(receiver, key)) == 2 and len(posts(receiver, approval.id)) == 1
    assert list(receiver.actions) == [approval.id, key]


async def test_a_4xx_fails_the_action_and_keeps_it_auditable(store, services, receiver):
    receiver.fault(status=422, body={"detail": "target not managed here"})
    approval = await approved(store, "isolate_endpoint", "ws-unknown-1")

    done = await execution.execute(services, approval)

    assert done.state == State.FAILED
    assert "422" in done.result and "target not managed here" in done.result
    assert not receiver.actions
    audit = await audit_of(store, approval.id)
    assert audit[-1]["stage"] == "failed" and audit[-1]["response_status"] == 422


async def test_crash_after_send_is_resent_and_the_receiver_acts_once(store, services, receiver):
    approval = await approved(store, "isolate_endpoint", "ws-crash-7")
    lease = await Lease.claim(
        store,
        approval,
        "crashed-instance",
        0.01,
        expect_state=State.APPROVED,
        state=State.EXECUTING,
        result="executing",
    )
    left = await lease.change(send_started_at=time.time(), connector="soar")
    # The crashed instance's post reached the receiver; its answer was lost with the instance.
    connector = connectors_from_config(services).for_action(left.kind)
    first = await connector.execute(request_of(left))
    assert first.external_id == "SOAR-1"
    await asyncio.sleep(0.05)

    assert await recover(services) == 1
    await engine(services).idle()

    final = await records.get(store, approval.id)
    assert final.state == State.SUCCEEDED and final.external_id == "SOAR-1"
    assert len(posts(receiver, approval.id)) == 2  # sent again after the restart...
    assert list(receiver.actions) == [approval.id]  # ...and acted on once, by its key
    audit = await audit_of(store, approval.id)
    assert [a["stage"] for a in audit] == ["succeeded"]
