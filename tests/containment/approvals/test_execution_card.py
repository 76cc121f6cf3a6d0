"""Execution as people in the channel see it: the card moves to its final state in place, shows
the connector's reason on failure, and Rollback runs the inverse through the same card.
"""

from __future__ import annotations

from pathlib import Path

from bot.containment.approvals import records
from tests.bot.harness import APP_ID, APP_PASSWORD, APPROVER, RESPONDER
from tests.containment.approvals.workflow import ask, click, is_approval_update, start
from tests.fakes.mde import MdeFake

HOST = "ws-fin-042.corp.example.com"


def joined(bundle: Path, *files: str) -> Path:
    bundle.write_text("".join(Path(name).read_text() for name in files))
    return bundle


def zone_text(tmp_path: Path) -> str:
    path = tmp_path / "rpz" / "vigil.rpz.zone"
    return path.read_text() if path.exists() else ""


async def test_block_succeeds_on_the_card_and_rollback_removes_it(tmp_path):
    harness = await start(tmp_path)
    try:
        approval_id, activity_id, _ = await ask(
            harness, "block-domain c2.evil.example --reason 'beaconing'"
        )
        since = harness.channel.last_seq
        await click(harness, APPROVER, "approval.approve", {"approvalId": approval_id}, activity_id)
        await harness.channel.wait_for(
            is_approval_update(approval_id, "blocked in RPZ"), since=since
        )
        assert "c2.evil.example CNAME ." in zone_text(tmp_path)

        since = harness.channel.last_seq
        await click(
            harness, RESPONDER, "approval.rollback", {"approvalId": approval_id}, activity_id
        )
        await harness.channel.wait_for(
            is_approval_update(approval_id, "Rolled back by Rob Responder"), since=since
        )
        assert "c2.evil.example" not in zone_text(tmp_path)
        stored = await records.get(harness.vigil.services.store, approval_id)
        assert stored.state == "succeeded" and stored.rollback_state == "succeeded"
    finally:
        await harness.close()


async def test_a_defender_refusal_is_shown_on_the_card_with_its_reason(tmp_path):
    fake = await MdeFake(app_id=APP_ID, app_password=APP_PASSWORD).start(tmp_path)
    fake.add_machine(HOST)
    fake.permissions.discard("Machine.Isolate")
    harness = await start(tmp_path)
    try:
        bundle = joined(tmp_path / "bundle.pem", harness.channel.ca_file, fake.ca_path)
        harness.extra_env.update(
            {
                "VIGIL_CA_BUNDLE": str(bundle),
                "VIGIL_MDE_URL": fake.url,
                "VIGIL_AAD_AUTHORITY": fake.authority,
                "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "mde",
            }
        )
        await harness.restart_bot()
        approval_id, activity_id, _ = await ask(
            harness, f"isolate-endpoint {HOST} --reason 'beaconing to evil.example.com'"
        )
        since = harness.channel.last_seq
        await click(harness, APPROVER, "approval.approve", {"approvalId": approval_id}, activity_id)

        await harness.channel.wait_for(
            is_approval_update(approval_id, "Approved, but the action failed"), since=since
        )
        update = await harness.channel.wait_for(
            is_approval_update(approval_id, "Machine.Isolate"), since=since
        )
        assert update.kind == "update"
        assert len(fake.requests("/isolate", "POST")) == 1
        stored = await records.get(harness.vigil.services.store, approval_id)
        assert stored.state == "failed" and stored.result_detail["http_status"] == 403
    finally:
        await harness.close()
        await fake.close()
