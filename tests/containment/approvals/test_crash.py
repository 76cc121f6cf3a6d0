"""Crash and restart during execution, in-process: a lapsed lease is taken over by another instance.

The state a crashed instance leaves is made with the same calls it makes (claim with a lease that
then lapses, `send_started_at`, the connector's own send); a second instance's recovery pass runs.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine, request_of
from bot.containment.execution import NOT_REPEATED
from bot.containment.lease import Lease
from bot.containment.recovery import recover
from bot.containment.registry import connectors_from_config
from tests.containment.approvals.approved import approved, audit_of, fast_env, services_for

DEAD = "crashed-instance"


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def rpz_file(tmp_path: Path) -> Path:
    return tmp_path / "rpz" / "vigil.rpz.zone"


@pytest.fixture
def services(store, http, rpz_file):
    return services_for(store, http, fast_env(VIGIL_RPZ_FILE=str(rpz_file)))


async def crashed_after_claim(store, approval, **changes):
    """What an instance that died right after claiming leaves: executing, its lease lapsed."""
    lease = await Lease.claim(
        store,
        approval,
        DEAD,
        0.01,
        expect_state=State.APPROVED,
        state=State.EXECUTING,
        result="executing",
    )
    if changes:
        await lease.change(**changes)
    await asyncio.sleep(0.05)
    return await records.get(store, approval.id)


async def recovered(services, approval_id: str):
    await recover(services)
    await engine(services).idle()
    return await records.get(services.store, approval_id)


def zone_lines(path: Path, name: str) -> list[str]:
    if not path.exists():
        return []
    """The zone's records owned by `name` (written relative to $ORIGIN)."""
    return [line for line in path.read_text().splitlines() if line.split(" ", 1)[0] == name]


async def test_crash_after_approval_before_claim_is_executed_once(store, services, rpz_file):
    approval = await approved(store, "block_domain", "approved-only.example.com")

    final = await recovered(services, approval.id)
    again = await recovered(services, approval.id)

    assert final.state == State.SUCCEEDED and again.version == final.version
    assert len(zone_lines(rpz_file, "approved-only.example.com")) == 1
    assert [a["stage"] for a in await audit_of(store, approval.id)] == ["executing", "succeeded"]


async def test_crash_between_claim_and_send_sends_once_after_restart(store, services, rpz_file):
    approval = await approved(store, "block_domain", "claimed.example.com")
    left = await crashed_after_claim(store, approval)
    assert left.send_started_at is None and left.lease_owner == DEAD

    final = await recovered(services, approval.id)

    assert final.state == State.SUCCEEDED
    assert len(zone_lines(rpz_file, "claimed.example.com")) == 1
    audit = await audit_of(store, approval.id)
    assert [a["stage"] for a in audit] == ["executing", "succeeded"]
    assert "resumed after a restart" in audit[0]["detail"]


async def test_a_live_lease_is_not_taken_over(store, services, rpz_file):
    approval = await approved(store, "block_domain", "live.example.com")
    lease = await Lease.claim(
        store, approval, "live-instance", 60, expect_state=State.APPROVED, state=State.EXECUTING
    )

    assert await recover(services) == 0
    await engine(services).idle()

    still = await records.get(store, approval.id)
    assert still.state == State.EXECUTING and still.lease_owner == "live-instance"
    assert still.version == lease.approval.version
    assert not zone_lines(rpz_file, "live.example.com")


async def test_crash_after_send_of_an_idempotent_block_is_found_not_doubled(
    store, services, rpz_file
):
    approval = await approved(store, "block_domain", "sent.example.com")
    left = await crashed_after_claim(store, approval, send_started_at=time.time(), connector="rpz")
    # The crashed instance's send reached the file before it died.
    connector = connectors_from_config(services).for_action(left.kind)
    await connector.execute(request_of(left))

    final = await recovered(services, approval.id)

    assert final.state == State.SUCCEEDED
    assert len(zone_lines(rpz_file, "sent.example.com")) == 1


async def test_crash_after_send_start_with_nothing_sent_resends_only_when_idempotent(
    store, services, rpz_file
):
    approval = await approved(store, "block_domain", "lost.example.com")
    await crashed_after_claim(store, approval, send_started_at=time.time(), connector="rpz")

    final = await recovered(services, approval.id)

    # RPZ records are a set: writing it again is the same as writing it once.
    assert final.state == State.SUCCEEDED
    assert len(zone_lines(rpz_file, "lost.example.com")) == 1
    assert NOT_REPEATED not in final.result
