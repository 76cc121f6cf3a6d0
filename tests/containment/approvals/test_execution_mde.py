"""Execution against the Defender for Endpoint fake: isolation polled to a final state, refusals,
timeouts that stay unknown and are never sent twice, crash reconciliation, rollback, provenance.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import STILL_CHECKING, engine, request_of
from bot.containment.execution import NOT_REPEATED
from bot.containment.lease import Lease
from bot.containment.recovery import recover
from bot.containment.registry import connectors_from_config
from bot.kernel.rbac import Actor, Role
from tests.containment.approvals.approved import approved, audit_of, fast_env, services_for
from tests.fakes.mde import MDE_SCOPE, MdeFake

HOST = "ws-fin-042.corp.example.com"
RESPONDER = Actor(
    "aaaaaaaa-0000-4000-8000-00000000000a", "Rae Responder", frozenset({Role.RESPONDER})
)


@pytest.fixture
async def fake(tmp_path):
    started = await MdeFake(polls_to_finish=2).start(tmp_path)
    started.add_machine(HOST)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def tls_http(fake):
    async with fake.client_session() as session:
        yield session


@pytest.fixture
def make(store, tls_http, fake):
    def services(**extra: str):
        env = fast_env(
            **fake.vigil_env(),
            VIGIL_CA_BUNDLE=fake.ca_path,
            VIGIL_CONTAINMENT_ISOLATE_CONNECTOR="mde",
            VIGIL_MDE_TIMEOUT="1",
            VIGIL_MDE_MAX_RETRY_AFTER="1",
            **extra,
        )
        return services_for(store, tls_http, env)

    return services


def isolations(fake: MdeFake) -> int:
    return len(fake.requests("/isolate", "POST"))


async def isolate_request(store):
    return await approved(store, "isolate_endpoint", HOST)


async def test_isolation_is_polled_to_succeeded_with_provenance(store, make, fake):
    services = make()
    approval = await isolate_request(store)

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED, done.result
    assert isolations(fake) == 1
    action = fake.actions[done.external_id]
    assert action["type"] == "Isolate" and action["status"] == "Succeeded"
    assert approval.id in action["requestorComment"]
    provenance = done.result_detail["provenance"]
    assert provenance == {"connector": "mde", "scope": MDE_SCOPE, "credential_id": fake.app_id}
    # The isolate request and MDE's 201 stay on the record; the polls are the last check.
    assert done.result_detail["http_status"] == 201
    assert done.result_detail["request"]["path"].endswith("/isolate")
    assert done.result_detail["last_check"]["http_status"] == 200
    assert len(done.result_detail["response_digest"]) == 64
    audit = await audit_of(store, approval.id)
    assert [a["stage"] for a in audit] == ["executing", "pending", "succeeded"]
    final = audit[-1]
    assert final["scope"] == MDE_SCOPE and final["credential_id"] == fake.app_id
    assert final["connector"] == "mde" and final["external_id"] == done.external_id
    assert final["request"]["body"]["IsolationType"] == "Full"
    assert final["response_status"] == 201
    assert fake.app_password not in json.dumps(audit)


async def test_a_refusal_fails_with_mde_reason_and_is_not_retried(store, make, fake):
    fake.permissions.discard("Machine.Isolate")
    services = make()
    approval = await isolate_request(store)

    done = await execution.execute(services, approval)

    assert done.state == State.FAILED
    assert "Machine.Isolate" in done.result, done.result
    assert done.result_detail["http_status"] == 403
    assert isolations(fake) == 1
    audit = await audit_of(store, approval.id)
    assert audit[-1]["stage"] == "failed" and audit[-1]["result"] == "error"
    assert audit[-1]["response_status"] == 403


async def test_timeout_is_unknown_then_found_and_followed_never_resent(store, make, fake):
    # MDE does the isolation but the answer comes after Vigil stopped waiting.
    fake.fault("POST", "/isolate", status=201, delay=2, apply_first=True)
    services = make()
    approval = await isolate_request(store)

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED, done.result
    assert isolations(fake) == 1
    assert [a["type"] for a in fake.actions.values()] == ["Isolate"]
    assert done.external_id in fake.actions
    audit = await audit_of(store, approval.id)
    assert [a["stage"] for a in audit] == ["executing", "unknown", "succeeded"]
    assert STILL_CHECKING in audit[1]["detail"]


async def test_unknown_past_the_give_up_time_fails_without_a_second_send(store, make, fake):
    # The request timed out and MDE never shows it: the console is the only place to look.
    fake.fault("POST", "/isolate", status=503, delay=2)
    services = make(VIGIL_CONTAINMENT_GIVE_UP_MINUTES="0.02")
    approval = await isolate_request(store)

    done = await execution.execute(services, approval)

    assert done.state == State.FAILED
    assert done.result == "unknown after 0.02 minutes; check the console"
    assert isolations(fake) == 1
    assert len(fake.requests("/machineactions", "GET")) >= 1


async def test_crash_after_send_is_found_and_followed_not_repeated(store, make, fake):
    services = make()
    approval = await isolate_request(store)
    lease = await Lease.claim(
        store, approval, "dead", 0.01, expect_state=State.APPROVED, state=State.EXECUTING
    )
    await lease.change(send_started_at=time.time(), connector="mde")
    # The crashed instance's isolate reached MDE; its answer was never recorded.
    connector = connectors_from_config(services).for_action(lease.approval.kind)
    await connector.execute(request_of(lease.approval))
    await asyncio.sleep(0.05)

    await recover(services)
    await engine(services).idle()

    final = await records.get(store, approval.id)
    assert final.state == State.SUCCEEDED, final.result
    assert isolations(fake) == 1
    assert final.external_id in fake.actions


async def test_crash_after_send_start_with_nothing_at_mde_is_not_repeated(store, make, fake):
    services = make()
    approval = await isolate_request(store)
    lease = await Lease.claim(
        store, approval, "dead", 0.01, expect_state=State.APPROVED, state=State.EXECUTING
    )
    await lease.change(send_started_at=time.time(), connector="mde")
    await asyncio.sleep(0.05)

    await recover(services)
    await engine(services).idle()

    final = await records.get(store, approval.id)
    assert final.state == State.FAILED and final.result == NOT_REPEATED
    assert isolations(fake) == 0
    assert (await audit_of(store, approval.id))[-1]["detail"].endswith(NOT_REPEATED)


async def test_a_live_execution_keeps_its_lease_against_another_instance(store, make, fake):
    fake.polls_to_finish = 12  # several lease lengths of polling
    first = make(VIGIL_CONTAINMENT_LEASE_SECONDS="1")
    second = make(VIGIL_CONTAINMENT_LEASE_SECONDS="1")
    approval = await isolate_request(store)

    running = asyncio.create_task(execution.execute(first, approval))
    for _ in range(1000):  # until the first instance has claimed it
        if (await records.get(store, approval.id)).state == State.EXECUTING:
            break
        await asyncio.sleep(0.01)
    taken = 0
    while not running.done():
        taken += await recover(second)
        await asyncio.sleep(0.1)
    await engine(second).idle()

    assert running.result().state == State.SUCCEEDED
    assert taken == 0
    assert isolations(fake) == 1
    assert len([a for a in await audit_of(store, approval.id) if a["stage"] == "executing"]) == 1


async def test_rollback_unisolates_once(store, make, fake):
    services = make()
    done = await execution.execute(services, await isolate_request(store))
    assert done.state == State.SUCCEEDED

    await asyncio.gather(
        execution.rollback(services, done, RESPONDER),
        execution.rollback(services, done, RESPONDER),
    )

    final = await records.get(store, done.id)
    assert final.rollback_state == "succeeded", final.rollback_result
    assert len(fake.requests("/unisolate", "POST")) == 1
    assert final.result_detail["rollback"]["provenance"]["scope"] == MDE_SCOPE
    stages = [a["stage"] for a in await audit_of(store, done.id)]
    assert stages[-2:] == ["rollback executing", "rollback succeeded"]


async def test_a_late_approved_block_gets_its_whole_lifetime_in_defender(store, make, fake):
    services = make(VIGIL_CONTAINMENT_BLOCK_CONNECTOR="mde")
    asked = time.time() - 7200
    options = {"block_expires_seconds": 3600, "block_expires_at": asked + 3600}
    approval = await approved(store, "block_domain", "late.example.com", options=options)

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED, done.result
    [indicator] = fake.indicators.values()
    expected = request_of(done).expires_at
    assert expected == done.send_started_at + 3600 == done.lapse_at
    sent = indicator["expirationTime"]
    assert sent == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expected))
