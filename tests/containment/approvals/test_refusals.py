"""Refusals and hostile input: each answered to the clicker, audited, and nothing changes."""

from __future__ import annotations

import json
import time

from bot.audit.log import tail
from bot.containment.approvals import records
from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ADMIN, APPROVER, NOBODY, RESPONDER, card_of, card_text
from tests.containment.approvals.workflow import (
    SOC,
    actions_of,
    answer_to,
    ask,
    click,
    is_approval_update,
    start,
)

SHA256 = "a" * 64


async def _audit(harness, action: str) -> list:
    entries = await tail(harness.vigil.services.store, 500)
    return [e for e in entries if e.action == action]


async def test_crown_jewel_needs_two_distinct_approvers(tmp_path):
    harness = await start(tmp_path, VIGIL_CROWN_JEWELS="*.bank.example, tag:crown")
    try:
        approval_id, activity_id, posted = await ask(
            harness, "block-domain login.bank.example --reason 'lookalike kit'"
        )
        text = card_text(posted)
        assert "Crown jewel (matches *.bank.example)" in text and "0 of 2" in text
        data = {"approvalId": approval_id}
        since = harness.channel.last_seq
        first = await click(harness, APPROVER, "approval.approve", data, activity_id)
        assert "1 of 2" in card_text(first["value"])
        assert "Approve" not in actions_of(first["value"])
        await harness.channel.wait_for(is_approval_update(approval_id, "1 of 2"), since=since)
        again = await click(harness, APPROVER, "approval.approve", data, activity_id)
        assert "second, different approver" in again["value"]
        store = harness.vigil.services.store
        assert (await records.get(store, approval_id)).state == "pending"
        second = await click(harness, ADMIN, "approval.approve", data, activity_id)
        assert second["type"] == "application/vnd.microsoft.card.adaptive"
        await harness.channel.wait_for(is_approval_update(approval_id, "Done"), since=since)
        final = await records.get(store, approval_id)
        assert final.approver_ids == [APPROVER.aad_object_id, ADMIN.aad_object_id]
        assert final.decided_by_name == "Apu Approver and Ada Admin"
        refused = await _audit(harness, "action:approval.approve")
        assert any(
            e.result == "refused" and "already-approved" in e.result_detail for e in refused
        ), refused
    finally:
        await harness.close()


async def test_expired_request_refuses_and_the_job_updates_the_card(tmp_path):
    harness = await start(tmp_path)
    try:
        approval_id, activity_id, _ = await ask(harness, "block-ip 203.0.113.7 --reason scan")
        store = harness.vigil.services.store
        since = harness.channel.last_seq
        past = time.time() - 5
        await store.execute("UPDATE approvals SET expires_at = ? WHERE id = ?", past, approval_id)
        answer = await click(
            harness, APPROVER, "approval.approve", {"approvalId": approval_id}, activity_id
        )
        assert "expired at" in answer["value"]
        await harness.channel.wait_for(is_approval_update(approval_id, "Expired"), since=since)
        assert (await records.get(store, approval_id)).state == "expired"
        assert len(await _audit(harness, "approval.expired")) == 1
        refusals = [e for e in await _audit(harness, "action:approval.approve")]
        assert (
            refusals
            and refusals[-1].result == "refused"
            and "expired" in refusals[-1].result_detail
        )
    finally:
        await harness.close()


async def test_hostile_and_malformed_card_actions(tmp_path):
    harness = await start(tmp_path)
    try:
        approval_id, activity_id, _ = await ask(harness, "block-ip 203.0.113.9 --reason scan")
        other_id, _, _ = await ask(harness, "block-ip 203.0.113.10 --reason scan", ADMIN)
        cases = [
            {},
            {"approvalId": 5},
            {"approvalId": ["AP-20240502-0001"]},
            {"approvalId": None},
            {"approvalId": "AP-nope"},
            {"approvalId": "AP-20990101-0001"},
            {"approvalId": "A" * 100_000},
            {"approvalId": approval_id + "' OR 1=1 --"},
        ]
        for data in cases:
            for verb in ("approval.approve", "approval.reject", "approval.cancel"):
                body = await click(harness, APPROVER, verb, data, activity_id)
                assert body["type"] == "application/vnd.microsoft.activity.message", (verb, data)
                assert "Traceback" not in json.dumps(body)
        unknown = await click(harness, APPROVER, "approval.delete", {"approvalId": approval_id}, "")
        assert "no longer supported" in unknown["value"]
        # Another approval's id on this card: the policy applies to that approval (its requester).
        own = await click(harness, ADMIN, "approval.approve", {"approvalId": other_id}, activity_id)
        assert "you requested this" in own["value"]
        reason = {"approvalId": approval_id, "reason": {"text": "nested"}}
        bad_reason = await click(harness, APPROVER, "approval.reject", reason, activity_id)
        assert "reason is needed" in bad_reason["value"]
        nobody = await click(harness, NOBODY, "approval.approve", {"approvalId": approval_id}, "")
        assert "role" in nobody["value"]
        store = harness.vigil.services.store
        assert (await records.get(store, approval_id)).state == "pending"
        assert (await records.get(store, other_id)).state == "pending"
        huge = "R" * 5000
        rejected = await click(
            harness, APPROVER, "approval.reject", {"approvalId": approval_id, "reason": huge}, ""
        )
        assert "Rejected" in card_text(rejected["value"])
        assert len((await records.get(store, approval_id)).decision_note) == 1000
    finally:
        await harness.close()


async def test_request_input_is_checked_before_any_card(tmp_path):
    harness = await start(tmp_path)
    try:
        usage = await answer_to(harness, RESPONDER, "block-domain evil.example.com")
        assert "--reason is required" in usage and "Usage:" in usage
        internal = await answer_to(harness, RESPONDER, "block-ip 10.1.2.3 --reason test")
        assert "internal" in internal and "--internal" in internal
        md5 = await answer_to(harness, RESPONDER, f"block-hash {'b' * 32} --reason x")
        assert "MD5 is not accepted" in md5
        bad = await answer_to(harness, RESPONDER, "block-domain not_a_domain --reason x")
        assert "domain" in bad
        expires = await answer_to(
            harness, RESPONDER, "block-ip 203.0.113.5 --reason x --expires 1y"
        )
        assert "--expires" in expires
        incident = await answer_to(
            harness, RESPONDER, "block-ip 203.0.113.5 --reason x --incident INC-20990101-001"
        )
        assert "There is no incident INC-20990101-001" in incident
        isolate = await answer_to(harness, RESPONDER, "isolate-endpoint ws-1 --reason x")
        assert "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR" in isolate
        analyst = await answer_to(harness, APPROVER, "block-ip 203.0.113.5 --reason x")
        assert "responder role" in analyst
        assert await records.listing(harness.vigil.services.store) == []
        audited = await _audit(harness, "command:block-ip")
        assert any(e.result == "refused" and "internal" in e.result_detail for e in audited)

        # (<at> tags in a typed message are mentions, stripped by the handler before commands.)
        hostile = "<b>x</b> [x](javascript:alert(1)) ${approvalId} **bold** {{DATE(2017-02-14)}}"
        approval_id, _, posted = await ask(
            harness, f"block-ip 10.1.2.3 --internal --reason '{hostile}' --expires 12h"
        )
        text = card_text(posted)
        assert hostile in text
        assert "Internal target: blocking 10.1.2.3" in text
        stored = await records.get(harness.vigil.services.store, approval_id)
        assert (
            stored.options["internal"] is True and stored.options["block_expires_seconds"] == 43200
        )
        unquoted = await ask(
            harness, "block-url hxxps://evil[.]example/kit --reason kit seen in mail"
        )
        stored = await records.get(harness.vigil.services.store, unquoted[0])
        assert stored.reason == "kit seen in mail" and stored.target == "https://evil.example/kit"
        # A DNS blocklist cannot block files: the answer names the setting to change.
        hashed = await answer_to(harness, RESPONDER, f"block-hash {SHA256.upper()} --reason x")
        assert "VIGIL_CONTAINMENT_BLOCK_CONNECTOR" in hashed
    finally:
        await harness.close()


async def test_reject_cancel_list_show_and_legacy_submit(tmp_path):
    harness = await start(tmp_path)
    personal = ChannelConversation.personal(RESPONDER)
    try:
        await harness.say(RESPONDER, "whoami", personal)
        first, first_activity, _ = await ask(harness, "block-ip 203.0.113.21 --reason one")
        second, _, _ = await ask(harness, "block-ip 203.0.113.22 --reason two")
        third, third_activity, _ = await ask(harness, "block-ip 203.0.113.23 --reason three")
        listed = await answer_to(harness, APPROVER, "approvals list --pending")
        assert first in listed and second in listed and third in listed
        shown = await harness.say(APPROVER, f"approvals show {first.lower()}", SOC)
        assert actions_of(card_of(shown))[:2] == ["Approve", "Reject…"]
        refused = await answer_to(harness, APPROVER, f"approvals cancel {second}")
        assert "only Rob Responder can cancel" in refused

        since = harness.channel.last_seq
        rejected = await click(
            harness,
            APPROVER,
            "approval.reject",
            {"approvalId": first, "reason": "false positive"},
            first_activity,
        )
        assert "false positive" in card_text(rejected["value"])
        await harness.channel.wait_for(is_approval_update(first, "Rejected"), since=since)

        cancelled = await answer_to(harness, RESPONDER, f"approvals cancel {second}")
        assert "cancelled" in cancelled
        await harness.channel.wait_for(is_approval_update(second, "Cancelled"), since=since)

        # Legacy Action.Submit: a refusal goes to the clicker's 1:1 chat, not the channel.
        since = harness.channel.last_seq
        data = {"approvalId": third, "verb": "approval.approve"}
        assert await harness.channel.send_submit(RESPONDER, SOC, data, third_activity) == 200
        private = await harness.channel.wait_for(
            lambda c: c.kind == "send" and (c.conversation_id or "") == personal.id, since=since
        )
        assert "you requested this" in (private.activity or {}).get("text", "")
        assert await harness.channel.send_submit(APPROVER, SOC, data, third_activity) == 200
        await harness.channel.wait_for(is_approval_update(third, "Done"), since=since)
        channel_texts = [
            (c.activity or {}).get("text") or ""
            for c in harness.channel.sent(SOC.id)
            if c.seq > since and c.kind in ("send", "reply")
        ]
        assert not any("you requested this" in t for t in channel_texts)
        everything = await answer_to(harness, ADMIN, "approvals list")
        assert "rejected" in everything and "cancelled" in everything
    finally:
        await harness.close()


async def test_the_contain_dialog_audits_its_refusals_and_asks_before_an_internal_block(tmp_path):
    harness = await start(tmp_path)
    try:
        # A bad expiry typed in the dialog: refused, nothing stored, audited like the command.
        await answer_to(harness, RESPONDER, "contain")
        await answer_to(harness, RESPONDER, "dialog.evil.example")
        await answer_to(harness, RESPONDER, "yes")
        await answer_to(harness, RESPONDER, "seen in mail")
        await answer_to(harness, RESPONDER, "none")
        refused = await answer_to(harness, RESPONDER, "1y")
        assert "--expires" in refused and "Nothing was requested" in refused
        # An internal address is refused, then asked for only after an explicit `internal`.
        for confirm in ("no", "internal"):
            await answer_to(harness, RESPONDER, "contain 10.1.2.3")
            await answer_to(harness, RESPONDER, "yes")
            await answer_to(harness, RESPONDER, "lateral movement")
            await answer_to(harness, RESPONDER, "none")
            assert "10.1.2.3 is internal" in await answer_to(harness, RESPONDER, "none")
            assert await records.listing(harness.vigil.services.store) == []
            answered = await answer_to(harness, RESPONDER, confirm)
            if confirm == "no":
                assert "Nothing was requested" in answered
        assert "Internal target" in answered
        [made] = await records.listing(harness.vigil.services.store)
        assert made.target == "10.1.2.3" and made.options["internal"] is True
        domain = [e for e in await _audit(harness, "command:block-domain") if e.result == "refused"]
        assert any("usage:" in e.result_detail and "--expires" in e.result_detail for e in domain)
        ip = [e for e in await _audit(harness, "command:block-ip") if e.result == "refused"]
        assert any("internal" in e.result_detail for e in ip)
    finally:
        await harness.close()
