"""Execution of approved actions in-process: exactly one send, the record, audit, timeline, card.

Blocks go to the RPZ file (the local default); isolation goes to the Defender fake.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.records import State
from bot.containment.engine import engine
from bot.incidents import records as incidents
from bot.incidents.timeline import entries
from bot.kernel.rbac import Actor, Role
from tests.containment.approvals.approved import (
    APPROVER,
    REQUESTER,
    approved,
    audit_of,
    fast_env,
    services_for,
)

RESPONDER = Actor(
    "aaaaaaaa-0000-4000-8000-000000000009", "Rae Responder", frozenset({Role.RESPONDER})
)


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


def zone_lines(path: Path, name: str) -> list[str]:
    """The zone's records owned by `name` (written relative to $ORIGIN)."""
    return [line for line in path.read_text().splitlines() if line.split(" ", 1)[0] == name]


async def test_block_domain_is_executed_once_and_recorded(store, services, rpz_file):
    incident = await incidents.create(
        store,
        title="Beaconing",
        severity=incidents.Severity.HIGH,
        opened_by_id=REQUESTER[0],
        opened_by_name=REQUESTER[1],
    )
    approval = await approved(store, "block_domain", "evil.example.com", incident_id=incident.id)

    done = await execution.execute(services, approval)

    assert done.state == State.SUCCEEDED
    assert done.finished_at is not None and done.send_started_at is not None
    assert done.lease_owner == "" and done.lease_until is None
    assert done.connector == "rpz"
    assert done.result_detail["provenance"]["connector"] == "rpz"
    assert done.external_id
    assert zone_lines(rpz_file, "evil.example.com")
    stored = await records.get(store, approval.id)
    assert stored.state == State.SUCCEEDED and stored.version == done.version

    audit = await audit_of(store, approval.id)
    assert [entry["stage"] for entry in audit] == ["executing", "succeeded"]
    for entry in audit:
        assert entry["audit_action"] == "containment.execute"
        assert entry["requester"] == REQUESTER[1]
        assert entry["approvers"] == [APPROVER[1]]
        assert entry["origin"] == "scheduler"
    assert audit[-1]["connector"] == "rpz"
    assert audit[-1]["external_id"] == done.external_id

    timeline = [e for e in await entries(store, incident.id) if e.kind == "containment"]
    assert [e.text.split(":")[0] for e in timeline][-1].startswith("block-domain evil.example.com")
    assert any("executing block-domain evil.example.com" in e.text for e in timeline)
    assert "succeeded" in timeline[-1].text


async def test_a_second_execute_of_the_same_approval_sends_nothing(store, services, rpz_file):
    approval = await approved(store, "block_domain", "twice.example.com")

    first, second = await asyncio.gather(
        execution.execute(services, approval), execution.execute(services, approval)
    )

    assert {first.state, second.state} <= {State.SUCCEEDED.value, State.EXECUTING.value}
    assert len(zone_lines(rpz_file, "twice.example.com")) == 1
    audit = await audit_of(store, approval.id)
    assert [entry["stage"] for entry in audit] == ["executing", "succeeded"]
    again = await execution.execute(services, await records.get(store, approval.id))
    assert again.state == State.SUCCEEDED
    assert len(await audit_of(store, approval.id)) == 2


async def test_no_connector_configured_fails_with_the_setting_to_use(store, http, rpz_file):
    services = services_for(
        store,
        http,
        fast_env(VIGIL_CONTAINMENT_BLOCK_CONNECTOR="none", VIGIL_RPZ_FILE=str(rpz_file)),
    )
    approval = await approved(store, "block_ip", "203.0.113.9")

    done = await execution.execute(services, approval)

    assert done.state == State.FAILED
    assert "VIGIL_CONTAINMENT_BLOCK_CONNECTOR" in done.result
    assert done.send_started_at is None  # nothing was sent
    assert not rpz_file.exists() or "203.0.113.9" not in rpz_file.read_text()
    audit = await audit_of(store, approval.id)
    assert audit[-1]["stage"] == "failed" and audit[-1]["result"] == "error"


async def test_start_runs_in_the_background_and_returns_at_once(store, services, rpz_file):
    approval = await approved(store, "block_domain", "background.example.com")

    execution.start(services, approval)
    execution.start(services, approval)  # a second start on this instance is ignored

    assert len(engine(services).tasks) == 1
    await engine(services).idle()
    assert (await records.get(store, approval.id)).state == State.SUCCEEDED
    assert len(zone_lines(rpz_file, "background.example.com")) == 1


async def test_rollback_removes_the_block_once(store, services, rpz_file):
    approval = await approved(store, "block_domain", "undo.example.com")
    done = await execution.execute(services, approval)
    assert zone_lines(rpz_file, "undo.example.com")

    first, second = await asyncio.gather(
        execution.rollback(services, done, RESPONDER), execution.rollback(services, done, RESPONDER)
    )

    final = await records.get(store, approval.id)
    assert final.state == State.SUCCEEDED
    assert final.rollback_state == "succeeded"
    assert final.rollback_by_name == RESPONDER.name and final.rollback_at is not None
    assert not zone_lines(rpz_file, "undo.example.com")
    rollbacks = [
        a for a in await audit_of(store, approval.id) if a["audit_action"] == "containment.rollback"
    ]
    assert [a["stage"] for a in rollbacks] == ["rollback executing", "rollback succeeded"]
    assert {a["actor"] for a in rollbacks} == {RESPONDER.name}
    assert {a["origin"] for a in rollbacks} == {"teams"}
    # A later click finds it done and changes nothing.
    again = await execution.rollback(services, final, RESPONDER)
    assert again.version == final.version


async def test_rollback_of_a_failed_action_does_nothing(store, http, rpz_file):
    services = services_for(
        store,
        http,
        fast_env(VIGIL_CONTAINMENT_BLOCK_CONNECTOR="none", VIGIL_RPZ_FILE=str(rpz_file)),
    )
    failed = await execution.execute(
        services, await approved(store, "block_url", "http://x.test/a")
    )
    assert failed.state == State.FAILED

    after = await execution.rollback(services, failed, RESPONDER)

    assert after.rollback_state == "" and after.version == failed.version


async def test_the_audit_record_holds_no_secret(store, services):
    approval = await approved(store, "block_domain", "audit.example.com")
    await execution.execute(services, approval)
    text = json.dumps(await audit_of(store, approval.id))
    assert "execution-test-audit-key" not in text
