"""Blocks with `--expires` are removed when they expire (the RPZ zone has no expiry of its own):
once, by one instance, recorded as an automatic lapse on the record, card and audit.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.presentation import rollback_text
from bot.containment.approvals.records import State
from bot.containment.engine import engine
from bot.containment.recovery import recover
from bot.kernel.rbac import Actor, Role
from tests.containment.approvals.approved import approved, audit_of, fast_env, services_for


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(trust_env=False) as session:
        yield session


@pytest.fixture
def rpz_file(tmp_path: Path) -> Path:
    return tmp_path / "rpz" / "vigil.rpz.zone"


@pytest.fixture
def make(store, http, rpz_file):
    return lambda: services_for(store, http, fast_env(VIGIL_RPZ_FILE=str(rpz_file)))


def has_record(path: Path, name: str) -> bool:
    return any(line.split(" ", 1)[0] == name for line in path.read_text().splitlines())


async def blocked(store, services, target: str, expires_in: float | None):
    options = {} if expires_in is None else {"block_expires_at": time.time() + expires_in}
    approval = await approved(store, "block_domain", target, options=options)
    done = await execution.execute(services, approval)
    assert done.state == State.SUCCEEDED, done.result
    return done


async def recovered(services, approval_id: str):
    await recover(services)
    await engine(services).idle()
    return await records.get(services.store, approval_id)


async def test_an_expired_rpz_block_is_removed_once_and_recorded(store, make, rpz_file):
    services = make()
    done = await blocked(store, services, "short.example.com", 0.5)
    assert done.lapse_at == done.options["block_expires_at"]

    early = await recovered(services, done.id)
    assert early.rollback_state == "" and has_record(rpz_file, "short.example.com")

    await asyncio.sleep(max(0.0, done.lapse_at - time.time()) + 0.05)
    final = await recovered(services, done.id)
    again = await recovered(services, done.id)

    assert not has_record(rpz_file, "short.example.com")
    assert final.rollback_state == "succeeded"
    assert final.rollback_by_name == "Vigil (block expired)"
    assert final.rollback_result.startswith("expired block removed")
    assert final.result_detail["rollback"]["lapse"] is True
    assert rollback_text(final).startswith("Expired block removed")
    assert again.version == final.version
    audit = await audit_of(store, done.id)
    assert [a["stage"] for a in audit] == [
        "executing",
        "succeeded",
        "rollback executing",
        "rollback succeeded",
    ]
    assert audit[-1]["actor"] == "Vigil (block expired)" and audit[-1]["origin"] == "scheduler"
    assert "expired block" in audit[-1]["detail"]


async def test_two_instances_remove_each_expired_block_once(store, make, rpz_file):
    first, second = make(), make()
    assert engine(first).owner != engine(second).owner
    done = [await blocked(store, first, f"lapse{n}.example.com", 0.2) for n in range(5)]
    await asyncio.sleep(0.3)

    await asyncio.gather(recover(first), recover(second), recover(first), recover(second))
    await asyncio.gather(engine(first).idle(), engine(second).idle())

    for approval in done:
        final = await records.get(store, approval.id)
        assert final.rollback_state == "succeeded", final.rollback_result
        stages = [a["stage"] for a in await audit_of(store, approval.id)]
        assert stages.count("rollback succeeded") == 1
        assert stages.count("rollback executing") == 1
        assert not has_record(rpz_file, approval.target)


async def test_blocks_without_expiry_or_rolled_back_are_left_alone(store, make, rpz_file):
    services = make()
    forever = await blocked(store, services, "forever.example.com", None)
    assert forever.lapse_at is None
    undone = await blocked(store, services, "undone.example.com", 0.2)
    responder = Actor("aaaaaaaa-0000-4000-8000-00000000000c", "Rae", frozenset({Role.RESPONDER}))
    undone = await execution.rollback(services, undone, responder)
    assert undone.rollback_state == "succeeded"
    await asyncio.sleep(0.3)

    await recovered(services, forever.id)

    assert (await records.get(store, forever.id)).rollback_state == ""
    assert has_record(rpz_file, "forever.example.com")
    after = await records.get(store, undone.id)
    assert after.rollback_by_name == "Rae" and after.version == undone.version


async def test_the_lifetime_counts_from_when_the_block_is_applied(store, make, rpz_file):
    # Asked for with --expires 1h, approved two hours later: the card promised "1h after it is
    # applied", so the block lives an hour from the send, not from the request (long past).
    services = make()
    asked = time.time() - 7200
    options = {"block_expires_seconds": 3600, "block_expires_at": asked + 3600}
    approval = await approved(store, "block_domain", "late.example.com", options=options)
    done = await execution.execute(services, approval)
    assert done.state == State.SUCCEEDED, done.result
    assert done.lapse_at == done.send_started_at + 3600

    kept = await recovered(services, done.id)

    assert kept.rollback_state == ""
    assert has_record(rpz_file, "late.example.com")
