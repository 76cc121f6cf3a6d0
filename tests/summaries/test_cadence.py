"""Exec-summary cadences as a commander meets them: `--every` / `--stop` in chat, reminders with
Post / Edit / Skip, close ends the cadence and offers a final summary, restart keeps it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bot.audit.log import tail
from bot.devchannel.channel import ChannelConversation, ChannelUser
from bot.incidents import records, timeline
from bot.incidents.records import Severity
from bot.summaries import reminders
from bot.summaries.posting import CLAIM_LEASE
from bot.summaries.reminder_buttons import POST_VERB, SKIP_VERB
from tests.bot.harness import (
    ADMIN,
    ANALYST,
    APPROVER,
    COMMANDER,
    NOBODY,
    Harness,
    card_of,
    card_text,
)

EXEC = ChannelConversation.channel("Board", "Exec")
ENV = {
    "VIGIL_EXEC_CHANNEL": EXEC.channel_id,
    # Seconds-long cadences are for tests only; the default minimum is 15 minutes.
    "VIGIL_SUMMARY_CADENCE_MIN": "1",
    "VIGIL_SUMMARY_CADENCE_TICK": "0.1",
}


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, ENV)
    try:
        status = await harness.channel.send_conversation_update(EXEC, [], bot_added=True)
        assert status in (200, 201)
        await harness.say(COMMANDER, "whoami")  # the 1:1 chat reminders go to
        yield harness
    finally:
        await harness.close()


def _store(bot: Harness):
    assert bot.vigil is not None
    return bot.vigil.services.store


async def _incident(bot: Harness, *, scribe: ChannelUser | None = None) -> str:
    incident = await records.create(
        _store(bot),
        title="Phishing wave finance",
        severity=Severity.HIGH,
        opened_by_id=COMMANDER.aad_object_id,
        opened_by_name="Cam Commander",
    )
    if scribe is not None:
        await records.update(
            _store(bot), incident.id, scribe_id=scribe.aad_object_id, scribe_name="Ann Analyst"
        )
    return incident.id


async def _cadence(bot: Harness, incident_id: str) -> dict[str, Any] | None:
    return await _store(bot).fetchone(
        "SELECT * FROM summary_cadences WHERE incident_id = ? AND state = 'active'", incident_id
    )


async def _make_due(bot: Harness, incident_id: str, late: float = 1.0) -> float:
    """Move the running cadence's due time into the past, as time passing would."""
    due = time.time() - late
    changed = await _store(bot).execute(
        "UPDATE summary_cadences SET next_due = ? WHERE incident_id = ? AND state = 'active'",
        due,
        incident_id,
    )
    assert changed == 1
    return due


def _is_reminder(incident_id: str, heading: str = "Executive summary due"):
    def match(call) -> bool:
        attachments = (call.activity or {}).get("attachments") or []
        if call.kind != "send" or not attachments:
            return False
        return f"{heading} · {incident_id}" in card_text(attachments[0]["content"])

    return match


def _reminder_cards(bot: Harness, incident_id: str, heading: str = "Executive summary due"):
    return [c for c in bot.channel.sent() if _is_reminder(incident_id, heading)(c)]


def _exec_cards(bot: Harness, incident_id: str) -> list:
    found = []
    for call in bot.channel.sent():
        attachments = (call.activity or {}).get("attachments") or []
        if (call.conversation_id or "").startswith(EXEC.id) and attachments:
            if f"Executive summary · {incident_id}" in card_text(attachments[0]["content"]):
                found.append(call)
    return found


async def _await_reminder(bot: Harness, incident_id: str, since: int, **kw: Any):
    call = await bot.channel.wait_for(_is_reminder(incident_id, **kw), timeout=15, since=since)
    # The row is marked sent just after Teams took the card.
    for _ in range(200):
        row = await _store(bot).fetchone(
            "SELECT id, state, activity_id, missed FROM summary_reminders WHERE activity_id = ?",
            call.activity_id,
        )
        if row is not None:
            break
        await asyncio.sleep(0.05)
    assert row is not None and row["state"] == "sent"
    return call, row


async def _click(bot: Harness, user: ChannelUser, verb: str, data: Any, reply_to: str = "x"):
    status, body = await bot.channel.send_card_action(
        user, ChannelConversation.personal(user), verb=verb, data=data, reply_to_id=reply_to
    )
    assert status == 200, body
    return body


def _answer_text(body: dict[str, Any]) -> str:
    if body.get("type") == "application/vnd.microsoft.card.adaptive":
        return card_text(body["value"])
    return str(body.get("value"))


async def _audits(bot: Harness, prefix: str) -> list:
    return [r for r in await tail(_store(bot), 10_000) if r.action.startswith(prefix)]


# --- set, change, stop through chat -------------------------------------------------------


async def test_every_sets_changes_and_stop_ends_the_cadence(bot):
    incident_id = await _incident(bot)
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every 2h")
    text = call.activity["text"]
    assert "every 2h" in text and "Next reminder" in text and "1:1 chat" in text
    first = await _cadence(bot, incident_id)
    assert first is not None and first["every_seconds"] == 7200
    assert first["commander_id"] == COMMANDER.aad_object_id
    assert first["conversation_id"] == ChannelConversation.personal(COMMANDER).id
    assert 7100 < float(first["next_due"]) - time.time() <= 7200

    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h30m")
    assert "changed to every 1h30m" in call.activity["text"]
    changed = await _cadence(bot, incident_id)
    assert changed["id"] == first["id"] and changed["every_seconds"] == 5400
    assert changed["version"] > first["version"]

    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --stop")
    assert "stopped" in call.activity["text"]
    assert await _cadence(bot, incident_id) is None
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --stop")
    assert "no summary cadence running" in call.activity["text"]

    kinds = [e.text for e in await timeline.entries(_store(bot), incident_id)]
    assert any("set to every 2h" in t for t in kinds)
    assert any("changed to every 1h30m" in t for t in kinds)
    assert any("stopped" in t for t in kinds)
    audited = [r for r in await _audits(bot, "command:exec-summary") if r.target == incident_id]
    assert [r.result_detail for r in audited] == [
        "cadence set every 7200s",
        "cadence changed every 5400s",
        "cadence stopped",
        "no cadence",
    ]


async def test_the_scribe_may_set_it_and_others_are_refused_and_audited(bot):
    incident_id = await _incident(bot, scribe=ANALYST)
    call = await bot.say(ANALYST, f"exec-summary {incident_id} --every 1h")
    # The reminder goes to the commander, named in the scribe's answer.
    assert "every 1h" in call.activity["text"] and "Cam Commander" in call.activity["text"]
    await records.update(_store(bot), incident_id, scribe_id="")
    call = await bot.say(ANALYST, f"exec-summary {incident_id} --stop")
    assert "Only the incident commander" in call.activity["text"]
    call = await bot.say(NOBODY, f"exec-summary {incident_id} --stop")
    assert "needs the analyst role" in call.activity["text"]
    assert await _cadence(bot, incident_id) is not None
    refused = [r for r in await _audits(bot, "command:exec-summary") if r.result == "refused"]
    assert len(refused) == 2
    assert any("not the commander or scribe" in r.result_detail for r in refused)


@pytest.mark.parametrize(
    "every",
    ["abc", "0s", "2d", "25h", "-1h", "1h-", "99999999999h", "1.5h", "h", "<at>x</at>", "''"],
)
async def test_bad_durations_get_a_clear_answer_and_store_nothing(bot, every):
    incident_id = await _incident(bot)
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every {every}")
    assert "--every" in call.activity["text"]
    assert await _cadence(bot, incident_id) is None


async def test_a_closed_incident_gets_no_cadence(bot):
    incident_id = await _incident(bot)
    await records.update(_store(bot), incident_id, status="closed", closed_at=time.time())
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every 2h")
    assert "is closed" in call.activity["text"]
    assert await _cadence(bot, incident_id) is None


# --- due runs ---------------------------------------------------------------------------


async def test_a_due_run_sends_exactly_one_reminder_and_moves_next_due(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    since = bot.channel.last_seq
    due = await _make_due(bot, incident_id)
    call, row = await _await_reminder(bot, incident_id, since)
    assert call.conversation_id == ChannelConversation.personal(COMMANDER).id
    card = card_of(call)
    assert "Phishing wave finance" in card_text(card)
    titles = [a["title"] for a in card["actions"]]
    assert titles == ["Post", "Edit…", "Skip"]
    edit = card["actions"][1]
    assert edit["type"] == "Action.Submit"
    assert edit["data"]["msteams"] == {"type": "imBack", "value": f"exec-summary {incident_id}"}
    # Further ticks pass (the job runs every 0.1 s); the run was claimed once.
    await bot.channel.wait_after(bot.channel.last_seq, None, 1.0)
    assert len(_reminder_cards(bot, incident_id)) == 1
    cadence = await _cadence(bot, incident_id)
    assert float(cadence["next_due"]) == pytest.approx(due + 3600)
    assert row["missed"] == 0
    sent = [r for r in await _audits(bot, "summary.reminder.sent") if r.target == incident_id]
    assert len(sent) == 1 and sent[0].origin == "scheduler"


async def test_after_downtime_missed_runs_become_one_reminder(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    await bot.stop_bot()
    due = await _make_due_offline(bot, incident_id, late=5 * 3600 + 60)
    since = bot.channel.last_seq
    await bot.start_bot()
    call, row = await _await_reminder(bot, incident_id, since)
    assert row["missed"] == 5
    assert "5 earlier run(s)" in card_text(card_of(call))
    await bot.channel.wait_after(bot.channel.last_seq, None, 1.0)
    assert len(_reminder_cards(bot, incident_id)) == 1
    cadence = await _cadence(bot, incident_id)
    assert float(cadence["next_due"]) == pytest.approx(due + 6 * 3600)
    assert float(cadence["next_due"]) > time.time()


async def _make_due_offline(bot: Harness, incident_id: str, late: float) -> float:
    from bot.store import open_store

    store = await open_store(bot.db_url)
    try:
        due = time.time() - late
        await store.execute(
            "UPDATE summary_cadences SET next_due = ? WHERE incident_id = ? AND state = 'active'",
            due,
            incident_id,
        )
        return due
    finally:
        await store.close()


async def test_restart_keeps_the_cadence(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 2h")
    before = await _cadence(bot, incident_id)
    await bot.restart_bot()
    after = await _cadence(bot, incident_id)
    assert after == before
    since = bot.channel.last_seq
    await _make_due(bot, incident_id)
    await _await_reminder(bot, incident_id, since)


async def test_a_failed_send_is_retried_not_lost(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    since = bot.channel.last_seq
    bot.channel.inject_faults(500, 1)
    await _make_due(bot, incident_id)
    _, row = await _await_reminder(bot, incident_id, since)
    stored = await _store(bot).fetchone(
        "SELECT attempts FROM summary_reminders WHERE id = ?", row["id"]
    )
    assert stored["attempts"] == 2
    faulted = [a for a in bot.channel.attempts() if a.seq > since and a.status == 500]
    assert len(faulted) == 1
    assert len(_reminder_cards(bot, incident_id)) == 1


# --- the buttons ---------------------------------------------------------------------------


async def _due_reminder(bot: Harness, incident_id: str):
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    since = bot.channel.last_seq
    await _make_due(bot, incident_id)
    return await _await_reminder(bot, incident_id, since)


async def test_post_posts_once_to_the_exec_channel_and_double_clicks_do_not_repeat(bot):
    incident_id = await _incident(bot)
    await timeline.add_timeline(_store(bot), incident_id, "Cam", "note", "next: reset passwords")
    call, row = await _due_reminder(bot, incident_id)
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Posted to the exec channel by Cam Commander" in _answer_text(body)
    assert not body["value"].get("actions")  # read-only once posted
    [posted] = _exec_cards(bot, incident_id)
    assert "reset passwords" in card_text(card_of(posted))
    again = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Already posted" in _answer_text(again)
    assert len(_exec_cards(bot, incident_id)) == 1
    kinds = [e.kind for e in await timeline.entries(_store(bot), incident_id)]
    assert kinds.count("summary") == 1
    clicks = [r for r in await _audits(bot, f"action:{POST_VERB}") if r.target == incident_id]
    assert [r.result for r in clicks] == ["ok", "refused"]


async def _posting_since(bot: Harness, reminder_id: str, incident_id: str, at: float) -> None:
    """An instance took the Post click at `at` and stopped before it recorded the message."""
    store = _store(bot)
    await store.execute(
        "UPDATE summary_reminders SET state = 'posting', decided_by_name = 'Cam Commander',"
        " decided_at = ? WHERE id = ?",
        at,
        reminder_id,
    )
    await store.execute(
        "INSERT INTO exec_summaries (id, incident_id, posted_at, posted_by_id, posted_by_name,"
        " channel_id, activity_id, impact, data) VALUES (?, ?, ?, 'x', 'Cam Commander', ?, '',"
        " '', '{}')",
        reminder_id,
        incident_id,
        at,
        EXEC.channel_id,
    )


async def test_a_post_cut_off_by_a_stopped_instance_can_be_posted_again_once(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    await _posting_since(bot, row["id"], incident_id, time.time())
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "is posting this summary right now" in _answer_text(body)
    assert _exec_cards(bot, incident_id) == []

    await _store(bot).execute(
        "UPDATE summary_reminders SET decided_at = ? WHERE id = ?",
        time.time() - CLAIM_LEASE - 1,
        row["id"],
    )
    await _store(bot).execute(
        "UPDATE exec_summaries SET posted_at = ? WHERE id = ?",
        time.time() - CLAIM_LEASE - 1,
        row["id"],
    )
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Posted to the exec channel by Cam Commander" in _answer_text(body)
    assert len(_exec_cards(bot, incident_id)) == 1
    again = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Already posted" in _answer_text(again)
    assert len(_exec_cards(bot, incident_id)) == 1


async def test_skip_records_the_skip_and_later_clicks_are_told(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    body = await _click(bot, COMMANDER, SKIP_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Skipped by Cam Commander" in _answer_text(body)
    entries = await timeline.entries(_store(bot), incident_id)
    assert any(e.kind == "cadence" and "skipped" in e.text for e in entries)
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "Skipped by Cam Commander" in _answer_text(body)
    assert _exec_cards(bot, incident_id) == []
    clicks = [r for r in await _audits(bot, "action:summary.reminder") if r.target == incident_id]
    assert [(r.action, r.result) for r in clicks] == [
        (f"action:{SKIP_VERB}", "ok"),
        (f"action:{POST_VERB}", "refused"),
    ]


async def test_other_people_cannot_post_or_skip_and_are_audited(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    for user, verb in ((ANALYST, POST_VERB), (ANALYST, SKIP_VERB), (NOBODY, POST_VERB)):
        body = await _click(bot, user, verb, {"reminderId": row["id"]}, call.activity_id)
        text = _answer_text(body)
        assert "Only the incident commander" in text or "needs the analyst role" in text
    assert _exec_cards(bot, incident_id) == []
    stored = await reminders.get(_store(bot), row["id"])
    assert stored is not None and stored.state == "sent"
    refused = [r for r in await _audits(bot, "action:summary.reminder") if r.result == "refused"]
    assert len(refused) == 3


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"reminderId": 12},
        {"reminderId": None},
        {"reminderId": ["a"]},
        {"reminderId": {"$ne": ""}},
        {"reminderId": "../../etc/passwd"},
        {"reminderId": "x" * 100_000},
        {"reminderId": "' OR 1=1 --"},
        {"reminderId": "0" * 32},  # well formed, unknown
        {"reminderId": "${reminderId}"},
    ],
)
async def test_hostile_button_data_gets_a_clear_answer(bot, data):
    incident_id = await _incident(bot)
    await _due_reminder(bot, incident_id)
    for verb in (POST_VERB, SKIP_VERB):
        body = await _click(bot, COMMANDER, verb, data)
        assert "reminder" in _answer_text(body)
    assert _exec_cards(bot, incident_id) == []
    refused = [r for r in await _audits(bot, "action:summary.reminder") if r.result == "refused"]
    assert len(refused) == 2


async def test_a_legacy_submit_is_routed_and_checked_like_the_invoke(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    since = bot.channel.last_seq
    status = await bot.channel.send_submit(
        ANALYST,
        ChannelConversation.personal(ANALYST),
        {"reminderId": row["id"], "verb": POST_VERB},
        call.activity_id,
    )
    assert status == 200
    answer = await bot.channel.wait_for(lambda c: c.kind in ("send", "reply"), since=since)
    assert "Only the incident commander" in (answer.activity or {}).get("text", "")
    assert _exec_cards(bot, incident_id) == []


async def test_stale_reminders_answer_why(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --stop")
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, call.activity_id)
    assert "cadence of" in _answer_text(body) and "was stopped" in _answer_text(body)
    assert _exec_cards(bot, incident_id) == []

    # A newer reminder replaces an older one still open.
    first_call, first = await _due_reminder(bot, incident_id)
    since = bot.channel.last_seq
    await _make_due(bot, incident_id)
    await _await_reminder(bot, incident_id, since)
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": first["id"]})
    assert "newer reminder replaced" in _answer_text(body)
    assert _exec_cards(bot, incident_id) == []


async def test_close_ends_the_cadence_and_offers_a_final_summary(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f"exec-summary {incident_id} --every 2h")
    since = bot.channel.last_seq
    await bot.say(COMMANDER, f'incident close {incident_id} --summary "Contained, no data loss"')
    assert await _cadence(bot, incident_id) is None
    final = await bot.channel.wait_for(
        _is_reminder(incident_id, "Final executive summary"), since=since
    )
    assert final.conversation_id == ChannelConversation.personal(COMMANDER).id
    card = card_of(final)
    assert [a["title"] for a in card["actions"]] == ["Post", "Edit…", "Skip"]
    assert "Closed" in card_text(card)
    row = await _store(bot).fetchone(
        "SELECT id FROM summary_reminders WHERE activity_id = ?", final.activity_id
    )
    body = await _click(bot, COMMANDER, POST_VERB, {"reminderId": row["id"]}, final.activity_id)
    assert "Posted to the exec channel" in _answer_text(body)
    [posted] = _exec_cards(bot, incident_id)
    assert "not planned" in card_text(card_of(posted))
    stops = [r for r in await _audits(bot, "summary.cadence.stop") if r.target == incident_id]
    assert len(stops) == 1 and stops[0].result_detail == "incident closed"
    # No further scheduled reminder comes for the closed incident.
    await _store(bot).execute(
        "UPDATE summary_cadences SET next_due = ? WHERE incident_id = ?", 0, incident_id
    )
    await bot.channel.wait_after(bot.channel.last_seq, None, 0.5)
    assert _reminder_cards(bot, incident_id) == []


async def test_close_without_a_cadence_or_summary_offers_nothing(bot):
    incident_id = await _incident(bot)
    await bot.say(COMMANDER, f'incident close {incident_id} --summary "False positive"')
    await bot.channel.wait_after(bot.channel.last_seq, None, 0.5)
    assert _reminder_cards(bot, incident_id, "Final executive summary") == []


async def test_edit_starts_the_exec_summary_dialog(bot):
    incident_id = await _incident(bot)
    call, _ = await _due_reminder(bot, incident_id)
    edit = card_of(call)["actions"][1]["data"]["msteams"]["value"]
    # Teams sends an imBack button's value as the user's message.
    answer = await bot.say(COMMANDER, edit)
    assert f"Executive summary · {incident_id}" in card_text(card_of(answer))
    # That was the exec summary dialog: it is waiting for the commander's edits now.
    cancelled = await bot.say(COMMANDER, "cancel")
    assert cancelled.activity["text"] == "Cancelled."


async def test_a_refresh_invoke_only_renders_and_never_posts(bot):
    incident_id = await _incident(bot)
    call, row = await _due_reminder(bot, incident_id)
    for user in (NOBODY, COMMANDER):
        status, body = await bot.channel.send_card_action(
            user,
            ChannelConversation.personal(user),
            verb=POST_VERB,
            data={"reminderId": row["id"]},
            reply_to_id=call.activity_id,
            trigger="automatic",
        )
        assert status == 200
        assert body["type"] == "application/vnd.microsoft.card.adaptive"
        assert not body["value"].get("actions")
    assert _exec_cards(bot, incident_id) == []
    stored = await reminders.get(_store(bot), row["id"])
    assert stored is not None and stored.state == "sent"


async def test_without_a_1to1_chat_reminders_go_to_the_incident_channel(bot):
    incident_id = await _incident(bot)
    # The commander is someone Vigil never chatted with.
    await records.update(
        _store(bot), incident_id, commander_id=APPROVER.aad_object_id, commander_name="Apu"
    )
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    assert "no chat with Apu" in call.activity["text"]
    assert await _cadence(bot, incident_id) is None

    room = ChannelConversation.channel("SOC", "incident-room")
    await bot.say(ADMIN, "whoami", room)  # Vigil learns the channel
    await records.update(_store(bot), incident_id, channel_id=room.channel_id)
    call = await bot.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
    assert "to Apu in the incident channel" in call.activity["text"]
    since = bot.channel.last_seq
    await _make_due(bot, incident_id)
    reminder, _ = await _await_reminder(bot, incident_id, since)
    assert reminder.conversation_id.startswith(room.channel_id)


async def test_a_reminder_that_keeps_failing_is_given_up_and_audited(store_url):
    harness = await Harness.start(store_url, {**ENV, "VIGIL_SUMMARY_REMINDER_ATTEMPTS": "2"})
    try:
        await harness.say(COMMANDER, "whoami")
        incident_id = await _incident(harness)
        await harness.say(COMMANDER, f"exec-summary {incident_id} --every 1h")
        harness.channel.inject_faults(500, 2)
        await _make_due(harness, incident_id)
        for _ in range(200):
            failed = await _store(harness).fetchone(
                "SELECT attempts, last_error FROM summary_reminders"
                " WHERE incident_id = ? AND state = 'failed'",
                incident_id,
            )
            if failed is not None:
                break
            await asyncio.sleep(0.05)
        assert failed is not None and failed["attempts"] == 2
        assert "500" in failed["last_error"]
        sent = await _audits(harness, "summary.reminder.sent")
        gave_up = [r for r in sent if r.result == "error"]
        assert len(gave_up) == 1 and "given up" in gave_up[0].result_detail
        assert _reminder_cards(harness, incident_id) == []
        # The cadence itself goes on: the next due time gets its own reminder.
        assert await _cadence(harness, incident_id) is not None
    finally:
        await harness.close()
