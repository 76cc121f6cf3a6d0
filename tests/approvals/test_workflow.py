"""The approval workflow as users meet it: ask in a channel, refresh, refuse, approve, execute."""

from __future__ import annotations

from bot.approvals import records
from tests.approvals.workflow import (
    actions_of,
    ask,
    click,
    is_approval_update,
    start,
)
from tests.bot.harness import ADMIN, ANALYST, APPROVER, RESPONDER, card_text


async def test_block_domain_request_refresh_refusals_approve_and_rpz_record(tmp_path):
    harness = await start(tmp_path)
    try:
        approval_id, activity_id, posted = await ask(
            harness,
            'block-domain evil[.]example.com --reason "phishing kit on **evil**" --expires 7d',
        )
        assert approval_id.startswith("AP-")
        # Posted read-only, refreshed for the requester and the approvers Vigil has seen.
        assert actions_of(posted) == []
        user_ids = posted["refresh"]["userIds"]
        assert RESPONDER.mri in user_ids and APPROVER.mri in user_ids and ADMIN.mri in user_ids
        text = card_text(posted)
        assert "evil.example.com" in text and "phishing kit on **evil**" in text
        assert "Verdict" in text and "approver" in text

        approver_view = await click(
            harness,
            APPROVER,
            "approval.refresh",
            {"approvalId": approval_id},
            activity_id,
            trigger="automatic",
        )
        assert actions_of(approver_view["value"])[:2] == ["Approve", "Reject…"]
        requester_view = await click(
            harness,
            RESPONDER,
            "approval.refresh",
            {"approvalId": approval_id},
            activity_id,
            trigger="automatic",
        )
        assert "Approve" not in actions_of(requester_view["value"])
        assert "Cancel request" in actions_of(requester_view["value"])

        # A refresh invoke whose verb is approve only renders.
        rendered = await click(
            harness,
            APPROVER,
            "approval.approve",
            {"approvalId": approval_id},
            activity_id,
            trigger="automatic",
        )
        assert rendered["type"] == "application/vnd.microsoft.card.adaptive"
        store = harness.vigil.services.store
        assert (await records.get(store, approval_id)).state == "pending"

        own = await click(
            harness, RESPONDER, "approval.approve", {"approvalId": approval_id}, activity_id
        )
        assert "you requested this, someone else must approve" in own["value"]
        analyst = await click(
            harness, ANALYST, "approval.approve", {"approvalId": approval_id}, activity_id
        )
        assert "needs role approver" in analyst["value"]
        no_reason = await click(
            harness,
            APPROVER,
            "approval.reject",
            {"approvalId": approval_id, "reason": "  "},
            activity_id,
        )
        assert "reason is needed" in no_reason["value"]
        assert (await records.get(store, approval_id)).state == "pending"

        since = harness.channel.last_seq
        decided = await click(
            harness, APPROVER, "approval.approve", {"approvalId": approval_id}, activity_id
        )
        assert decided["type"] == "application/vnd.microsoft.card.adaptive"
        await harness.channel.wait_for(is_approval_update(approval_id, "Done"), since=since)
        zone = (tmp_path / "rpz" / "vigil.rpz.zone").read_text()
        assert "evil.example.com" in zone
        late = await click(
            harness, ADMIN, "approval.approve", {"approvalId": approval_id}, activity_id
        )
        assert "already approved by Apu Approver" in late["value"]
        final = await records.get(store, approval_id)
        assert final.state == "succeeded" and final.approver_ids == [APPROVER.aad_object_id]
    finally:
        await harness.close()
