"""Two `vigil serve` processes on one PostgreSQL with a 2-second cadence: each due time is
reminded once, counted at the local Teams channel."""

from __future__ import annotations

import asyncio

from bot.devchannel.channel import ChannelConversation, LocalChannel
from bot.incidents import records
from bot.store import open_store
from tests.alerts.serve import Serve, open_channel
from tests.bot.harness import AUDIT_KEY, COMMANDER, card_text, role_env

EXEC = ChannelConversation.channel("Board", "Exec")
EVERY = 2
REMINDERS = 4


def _env(channel: LocalChannel, db_url: str) -> dict[str, str]:
    return {
        **channel.bot_env(),
        **role_env(),
        "VIGIL_DB_URL": db_url,
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        "VIGIL_EXEC_CHANNEL": EXEC.channel_id,
        # Seconds-long cadences are for tests only; the default minimum is 15 minutes.
        "VIGIL_SUMMARY_CADENCE_MIN": "1",
        "VIGIL_SUMMARY_CADENCE_TICK": "0.1",
        "VIGIL_LOG_LEVEL": "INFO",
    }


async def _say(channel: LocalChannel, serve: Serve, text: str) -> str:
    channel.bot_endpoint = serve.url
    personal = ChannelConversation.personal(COMMANDER)
    since = channel.last_seq
    assert await channel.send_message(COMMANDER, personal, text) in (200, 201)
    answer = await channel.wait_for(
        lambda c: c.kind in ("send", "reply") and c.conversation_id == personal.id,
        timeout=30,
        since=since,
    )
    return (answer.activity or {}).get("text") or card_text(answer.activity)


def _reminder_calls(channel: LocalChannel, incident_id: str) -> list:
    found = []
    for call in channel.sent():
        attachments = (call.activity or {}).get("attachments") or []
        if call.kind == "send" and attachments:
            if f"Executive summary due · {incident_id}" in card_text(attachments[0]["content"]):
                found.append(call)
    return found


async def test_two_serve_processes_remind_each_due_time_once(pg_url, tmp_path):
    channel = await open_channel()
    serves = [
        Serve("a", _env(channel, pg_url), tmp_path),
        Serve("b", _env(channel, pg_url), tmp_path),
    ]
    store = None
    try:
        await asyncio.gather(*(serve.start() for serve in serves))
        await _say(channel, serves[0], "whoami")  # the commander's 1:1 chat
        store = await open_store(pg_url)
        incident = await records.create(
            store,
            title="Two instances",
            severity=records.Severity.HIGH,
            opened_by_id=COMMANDER.aad_object_id,
            opened_by_name="Cam Commander",
        )
        answer = await _say(channel, serves[0], f"exec-summary {incident.id} --every {EVERY}s")
        assert f"every {EVERY}s" in answer

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(_reminder_calls(channel, incident.id)) < REMINDERS:
            assert loop.time() < deadline, "the reminders did not come"
            await channel.wait_after(channel.last_seq, None, 1.0)
        answer = await _say(channel, serves[1], f"exec-summary {incident.id} --stop")
        assert "stopped" in answer
        # Both instances keep ticking; nothing more may come for the stopped cadence.
        await channel.wait_after(channel.last_seq, None, 1.0)

        rows = await store.fetchall(
            "SELECT id, due_at, missed, state, activity_id FROM summary_reminders"
            " WHERE incident_id = ? ORDER BY due_at",
            incident.id,
        )
        calls = _reminder_calls(channel, incident.id)
        sent_rows = [row for row in rows if row["activity_id"]]
        assert len(calls) == len(sent_rows) >= REMINDERS
        assert sorted(c.activity_id for c in calls) == sorted(r["activity_id"] for r in sent_rows)
        due_times = [float(row["due_at"]) for row in rows]
        assert len(set(due_times)) == len(due_times), "a due time was claimed twice"
        steps = {round(b - a, 3) for a, b in zip(due_times, due_times[1:], strict=False)}
        assert steps == {float(EVERY)}, "no due time was skipped"
        assert all(row["missed"] == 0 for row in rows)
        for serve in serves:
            serve.stop()  # a graceful stop: every log line is written
        by = [serve.logs().count(f") sent for {incident.id}") for serve in serves]
        assert sum(by) == len(calls)
        print(
            f"\n2 instances (postgresql): {len(calls)} reminders for {len(due_times)} due times,"
            f" every {EVERY}s; sent by a {by[0]}, b {by[1]}"
        )
    finally:
        for serve in serves:
            serve.stop()
        if store is not None:
            await store.close()
        await channel.stop()
