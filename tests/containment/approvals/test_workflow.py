"""The approval workflow as users meet it: ask in a channel, refresh, refuse, approve, execute."""

from __future__ import annotations

from bot.containment.approvals import records
from bot.incidents import records as incident_records
from bot.incidents import timeline
from tests.bot.harness import ADMIN, ANALYST, APPROVER, RESPONDER, card_text
from tests.containment.approvals.workflow import (
    SOC,
    actions_of,
    answer_to,
    ask,
    click,
    is_approval_update,
    start,
)


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


async def test_incident_timeline_rollback_and_the_contain_dialog(tmp_path):
    harness = await start(tmp_path)
    store = harness.vigil.services.store
    try:
        incident = await incident_records.create(
            store,
            title="Phishing wave",
            severity=incident_records.Severity.HIGH,
            opened_by_id=RESPONDER.aad_object_id,
            opened_by_name=RESPONDER.name,
        )
        approval_id, activity_id, posted = await ask(
            harness, f"block-domain kit.evil.example --reason kit --incident {incident.id}"
        )
        assert incident.id in card_text(posted)
        since = harness.channel.last_seq
        data = {"approvalId": approval_id}
        await click(harness, APPROVER, "approval.approve", data, activity_id)
        await harness.channel.wait_for(is_approval_update(approval_id, "Done"), since=since)
        viewer = await click(
            harness, RESPONDER, "approval.refresh", data, activity_id, trigger="automatic"
        )
        assert actions_of(viewer["value"]) == ["Rollback"]
        analyst = await click(harness, ANALYST, "approval.rollback", data, activity_id)
        assert "responder" in analyst["value"]
        started = await click(harness, RESPONDER, "approval.rollback", data, activity_id)
        assert "Rolling back" in started["value"]
        await harness.channel.wait_for(is_approval_update(approval_id, "Rolled back"), since=since)
        assert "kit.evil.example" not in (tmp_path / "rpz" / "vigil.rpz.zone").read_text()
        again = await click(harness, RESPONDER, "approval.rollback", data, activity_id)
        assert "rollback already" in again["value"]
        texts = [
            e.text for e in await timeline.entries(store, incident.id) if e.kind == "containment"
        ]
        assert any("containment requested" in t for t in texts)
        assert any("approved by Apu Approver" in t for t in texts)

        # The dialog asks step by step and makes the same request.
        assert "What should be contained" in await answer_to(harness, RESPONDER, "contain")
        assert "block-domain" in await answer_to(harness, RESPONDER, "dialog.evil.example")
        assert "Why" in await answer_to(harness, RESPONDER, "yes")
        assert "Incident" in await answer_to(harness, RESPONDER, "seen in phishing mail")
        assert "How long" in await answer_to(harness, RESPONDER, "none")
        since = harness.channel.last_seq
        await harness.channel.send_message(RESPONDER, SOC, "7d")
        await harness.channel.wait_for(
            lambda c: (
                c.kind in ("send", "reply") and "dialog.evil.example" in card_text(c.activity)
            ),
            since=since,
        )
        made = await records.listing(store, states=(records.State.PENDING,))
        assert [a.target for a in made] == ["dialog.evil.example"]
        assert made[0].reason == "seen in phishing mail"
        assert made[0].options["block_expires_seconds"] == 7 * 86400
        # `cancel` leaves a dialog without a request.
        await answer_to(harness, RESPONDER, "contain")
        assert "Cancelled" in await answer_to(harness, RESPONDER, "cancel")
    finally:
        await harness.close()
