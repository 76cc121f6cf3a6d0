"""A rollback whose instance died is resumed once its lease lapses: repeated when repeatable
(RPZ), looked for on the machine before an MDE release is sent again, never run twice.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine, request_of
from bot.containment.lease import Lease
from bot.containment.recovery import recover
from bot.containment.registry import connectors_from_config
from tests.containment.approvals.approved import approved, audit_of, fast_env, services_for
from tests.fakes.mde import MdeFake

DEAD = "crashed-instance"
HOST = "ws-fin-042.corp.example.com"


async def crashed_rollback(store, approval, *, seconds: float = 0.01):
    """What an instance that died right after winning the Rollback click leaves behind."""
    await Lease.claim(
        store,
        approval,
        DEAD,
        seconds,
        expect_state=State.SUCCEEDED,
        rollback=True,
        rollback_state="executing",
        rollback_by_name="Rae Responder",
        rollback_at=time.time(),
        rollback_result="rolling back",
    )
    await asyncio.sleep(0.05)
    return await records.get(store, approval.id)


async def recovered(services, approval_id: str):
    await recover(services)
    await engine(services).idle()
    return await records.get(services.store, approval_id)


# --- RPZ: repeatable ----------------------------------------------------------------------------


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


@pytest.fixture
def rpz_file(tmp_path: Path) -> Path:
    return tmp_path / "rpz" / "vigil.rpz.zone"


@pytest.fixture
def rpz_services(store, http, rpz_file):
    return services_for(store, http, fast_env(VIGIL_RPZ_FILE=str(rpz_file)))


def has_record(path: Path, name: str) -> bool:
    return any(line.split(" ", 1)[0] == name for line in path.read_text().splitlines())


async def test_a_dead_rpz_rollback_is_run_again_once(store, rpz_services, rpz_file):
    done = await execution.execute(
        rpz_services, await approved(store, "block_domain", "undo.example.com")
    )
    assert done.state == State.SUCCEEDED and has_record(rpz_file, "undo.example.com")
    left = await crashed_rollback(store, done)
    assert left.rollback_state == "executing" and left.lease_owner == DEAD

    final = await recovered(rpz_services, done.id)
    again = await recovered(rpz_services, done.id)

    assert final.rollback_state == "succeeded", final.rollback_result
    assert final.rollback_by_name == "Rae Responder"  # who asked for it stays on the record
    assert final.lease_owner == "" and final.lease_until is None
    assert again.version == final.version
    assert not has_record(rpz_file, "undo.example.com")
    stages = [a["stage"] for a in await audit_of(store, done.id)]
    assert stages == ["executing", "succeeded", "rollback succeeded"]


async def test_a_live_rollback_lease_is_not_taken_over(store, rpz_services, rpz_file):
    done = await execution.execute(
        rpz_services, await approved(store, "block_domain", "busy.example.com")
    )
    left = await crashed_rollback(store, done, seconds=60)

    assert await recover(rpz_services) == 0
    await engine(rpz_services).idle()

    still = await records.get(store, done.id)
    assert still.rollback_state == "executing" and still.version == left.version
    assert has_record(rpz_file, "busy.example.com")


async def test_a_rollback_past_the_give_up_time_is_marked_failed_not_run(store, http, rpz_file):
    services = services_for(
        store,
        http,
        fast_env(VIGIL_RPZ_FILE=str(rpz_file), VIGIL_CONTAINMENT_GIVE_UP_MINUTES="0.01"),
    )
    done = await execution.execute(
        services, await approved(store, "block_domain", "late.example.com")
    )
    await crashed_rollback(store, done)
    await asyncio.sleep(0.7)  # past 0.6 s of give-up time

    final = await recovered(services, done.id)

    assert final.rollback_state == "failed" and "check the console" in final.rollback_result
    assert has_record(rpz_file, "late.example.com")


# --- MDE unisolate: look before sending again ---------------------------------------------------


@pytest.fixture
async def fake(tmp_path):
    started = await MdeFake(polls_to_finish=2).start(tmp_path)
    started.add_machine(HOST)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def mde_services(store, fake):
    session = fake.client_session()
    env = fast_env(**fake.vigil_env(), VIGIL_CA_BUNDLE=fake.ca_path, VIGIL_MDE_TIMEOUT="2")
    try:
        yield services_for(store, session, env)
    finally:
        await session.close()


def releases(fake: MdeFake) -> int:
    return len(fake.requests("/unisolate", "POST"))


async def isolated(store, services):
    done = await execution.execute(services, await approved(store, "isolate_endpoint", HOST))
    assert done.state == State.SUCCEEDED, done.result
    return done


async def test_a_release_sent_before_the_crash_is_found_and_followed(store, mde_services, fake):
    done = await isolated(store, mde_services)
    left = await crashed_rollback(store, done)
    # The dead instance's unisolate reached Defender; its answer died with it.
    connector = connectors_from_config(mde_services).for_action(left.kind)
    sent = await connector.rollback(request_of(left), left.external_id)
    assert releases(fake) == 1

    final = await recovered(mde_services, done.id)

    assert final.rollback_state == "succeeded", final.rollback_result
    assert releases(fake) == 1  # never sent twice
    assert fake.actions[sent.external_id]["status"] == "Succeeded"
    assert final.result_detail["rollback"]["external_id"] == sent.external_id


async def test_a_release_never_sent_is_sent_once_after_the_crash(store, mde_services, fake):
    done = await isolated(store, mde_services)
    await crashed_rollback(store, done)

    final = await recovered(mde_services, done.id)

    assert final.rollback_state == "succeeded", final.rollback_result
    assert releases(fake) == 1
    unisolate = [a for a in fake.actions.values() if a["type"] == "Unisolate"]
    assert len(unisolate) == 1 and done.id in unisolate[0]["requestorComment"]


async def test_a_rollback_known_to_be_pending_is_polled_not_resent(store, mde_services, fake):
    done = await isolated(store, mde_services)
    left = await crashed_rollback(store, done)
    connector = connectors_from_config(mde_services).for_action(left.kind)
    sent = await connector.rollback(request_of(left), left.external_id)
    detail = {
        **left.result_detail,
        "rollback": {"outcome": "pending", "external_id": sent.external_id},
    }
    await records.transition(store, left, result_detail=detail)

    final = await recovered(mde_services, done.id)

    assert final.rollback_state == "succeeded" and releases(fake) == 1
    polled = fake.requests(f"/machineactions/{sent.external_id}", "GET")
    assert polled, "the known machine action is polled"
