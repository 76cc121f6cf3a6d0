"""Webhook playbooks end to end: a responder starts a run in chat, a SOAR stand-in (its own HMAC
code) receives the signed start and reports steps back over HTTP, and the run card follows."""

from __future__ import annotations

import json
import re
import time

import pytest

from bot.app import start_vigil
from bot.kernel.config import ConfigError, RawConfig
from tests.alerts.webhook import start_with
from tests.bot.harness import ANALYST, RESPONDER, card_of, card_text
from tests.fakes.playbook_soar import PlaybookSoar, signature_of

KEY = "playbook-key-for-tests-0123456789abcdef"
RUN_ID = re.compile(r"PB-\d{8}-\d{3}")


def document(url: str) -> dict:
    return {
        "playbooks": [
            {
                "name": "phishing-triage",
                "title": "Phishing triage",
                "kind": "webhook",
                "url": url,
                "role": "responder",
                "inputs": ["mailbox", "message_id"],
            },
            {
                "name": "wipe-host",
                "title": "Wipe a host",
                "kind": "webhook",
                "url": url,
                "role": "admin",
                "approval": True,
            },
        ]
    }


@pytest.fixture
async def soar():
    stand_in = await PlaybookSoar(KEY).start()
    yield stand_in
    await stand_in.close()


@pytest.fixture
async def bot(store_url, soar):
    env = {"VIGIL_SECRET_PLAYBOOK_PHISHING_TRIAGE_HMAC_KEY": KEY}
    harness = await start_with(store_url, document(soar.url), env)
    soar.events_url = f"{harness.url}/api/playbooks/events"
    try:
        yield harness
    finally:
        await harness.close()


async def run_playbook(bot, soar, extra: str = "") -> tuple[str, str]:
    """Start phishing-triage as the responder; (run id, what Vigil answered)."""
    since = bot.channel.last_seq
    await bot.say(
        RESPONDER, f"playbook run phishing-triage {extra}mailbox=dana@contoso.com message_id=m1"
    )
    answer = await bot.channel.wait_for(
        lambda call: (
            call.kind in ("send", "reply") and "PB-" in (call.activity or {}).get("text", "")
        ),
        since=since,
    )
    text = answer.activity["text"]
    return RUN_ID.search(text)[0], text


async def card_showing(bot, since: int, *words: str) -> dict:
    """The first update of a run card after `since` that shows every word."""
    call = await bot.channel.wait_for(
        lambda call: (
            call.kind == "update"
            and bool(call.activity and call.activity.get("attachments"))
            and all(word in card_text(card_of(call)) for word in words)
        ),
        since=since,
    )
    return card_of(call)


def texts(node) -> list[str]:
    """Every string of a card as the template engine left it (escapes included)."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in texts(value)]
    return [node] if isinstance(node, str) else []


def event(run_id: str, seq: int, step: str, status: str, **more) -> dict:
    return {"run_id": run_id, "seq": seq, "step": step, "status": status, **more}


async def test_a_run_starts_signed_and_shows_three_steps_in_seq_order(bot, soar):
    since = bot.channel.last_seq
    created = await bot.say(RESPONDER, "create-incident high Phishing wave")
    incident = re.search(r"INC-\d{8}-\d{3}", json.dumps(created.activity))[0]
    run_id, answer = await run_playbook(bot, soar, f"{incident} ")
    assert "running" in answer
    [start] = soar.starts
    assert start.idempotency_key == run_id
    assert start.body["run_id"] == run_id
    assert start.body["playbook"] == "phishing-triage"
    assert start.body["inputs"] == {"mailbox": "dana@contoso.com", "message_id": "m1"}
    assert start.body["incident"] == incident
    assert start.body["requested_by"]["aad_object_id"] == RESPONDER.aad_object_id
    assert start.body["events_url"].endswith("/api/playbooks/events")
    assert soar.refused == []

    since = bot.channel.last_seq
    assert (await soar.send(event(run_id, 1, "Fetch message", "completed", output="found 3")))[
        0
    ] == 202
    ask = {"id": "t1", "prompt": "Purge from 3 mailboxes?", "options": ["yes", "no"]}
    assert (await soar.send(event(run_id, 3, "Purge", "waiting", task=ask)))[0] == 202
    assert (await soar.send(event(run_id, 2, "Detonate", "completed", output="phish")))[0] == 202
    card = await card_showing(bot, since, "Fetch message", "Detonate", "Purge")
    shown = card_text(card)
    assert shown.index("Fetch message") < shown.index("Detonate") < shown.index("Purge")
    assert "Purge from 3 mailboxes?" in shown
    assert run_id in shown

    status = await bot.say(RESPONDER, f"playbook status {run_id.lower()}")
    shown = card_text(card_of(status))
    assert shown.index("1. Fetch message") < shown.index("2. Detonate") < shown.index("3. Purge")

    runs = await bot.say(RESPONDER, "playbook runs --open")
    assert run_id in runs.activity["text"]

    timeline = await bot.say(RESPONDER, f"incident timeline {incident}")
    assert f"{run_id} phishing-triage started" in json.dumps(timeline.activity)
    assert "step 2 Detonate: completed" in json.dumps(timeline.activity)

    store = bot.vigil.services.store
    actions = [
        row["action"]
        for row in await store.fetchall("SELECT action FROM audit_log WHERE target = ?", run_id)
    ]
    assert actions.count("playbook.start") == 1
    assert actions.count("playbook.event") == 3


async def test_event_answers(bot, soar):
    run_id, _ = await run_playbook(bot, soar)
    assert (await soar.send(event("PB-20000101-001", 1, "x", "started")))[0] == 404
    assert (await soar.send(event(run_id, 1, "x", "started"), key="not-the-key"))[0] == 401
    stale = str(int(time.time()) - 3600)
    assert (await soar.send(event(run_id, 1, "x", "started"), stamp=stale))[0] == 401
    assert (await soar.send(event(run_id, 1, "x", "started"), stamp="nan"))[0] == 401

    body = json.dumps(event(run_id, 1, "Fetch", "started")).encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Vigil-Timestamp": stamp,
        "X-Vigil-Signature": signature_of(KEY, stamp, body),
    }
    assert (await soar.post(body, headers))[0] == 202
    status, answer = await soar.post(body, headers)
    assert (status, answer["error"]) == (401, "signature already used (replay)")
    # The same seq sent again (a new signature): already held.
    again = str(int(stamp) - 1)  # never the first stamp, whenever the second turns
    assert (await soar.send(event(run_id, 1, "Fetch", "started"), stamp=again))[0] == 200

    assert (await soar.send(raw=b"{not json"))[0] == 400
    assert (await soar.send(raw=b"x" * (600 * 1024)))[0] == 413
    assert (await soar.send(event(run_id, "2", "x", "started")))[1]["field"] == "seq"
    assert (await soar.send(event(run_id, 2, "x", "exploded")))[1]["field"] == "status"
    assert (await soar.send(event(run_id, 2, "", "started")))[1]["field"] == "step"
    assert (await soar.send({"seq": 2}))[1]["field"] == "run_id"

    assert (await soar.send(event(run_id, 9, "Done", "finished")))[0] == 202
    assert (await soar.send(event(run_id, 5, "Late", "completed")))[0] == 409
    runs = await bot.say(RESPONDER, "playbook runs --open")
    assert run_id not in runs.activity["text"]


async def test_hostile_output_is_shown_as_text(bot, soar):
    run_id, _ = await run_playbook(bot, soar)
    since = bot.channel.last_seq
    hostile = "**bold** [click](https://evil.example) ${title} <at>Rob Responder</at> "
    status, _ = await soar.send(event(run_id, 1, "Scan ${runId}", "completed", output=hostile))
    assert status == 202
    card = await card_showing(bot, since, "Scan ${runId}", "${title}", "<at>Rob Responder</at>")
    assert "**bold** [click](https://evil.example)" in card_text(card)
    # Bound as data: the markdown, the mention and the link arrive escaped, as text.
    escaped = r"\*\*bold\*\* \[click\](https://evil.example) $\{title\} \<at\>Rob Responder\</at\>"
    assert any(escaped in text for text in texts(card))
    assert "msteams" not in card or "entities" not in card["msteams"]

    since = bot.channel.last_seq
    big = "A" * (100 * 1024)
    assert (await soar.send(event(run_id, 2, "Big", "completed", output=big)))[0] == 202
    card = await card_showing(bot, since, "Big")
    assert len(json.dumps(card)) < 28 * 1024


async def test_a_start_the_soar_refuses_fails_the_run_once(bot, soar):
    soar.answer_code = 503
    run_id, answer = await run_playbook(bot, soar)
    assert "failed" in answer and "SOAR answered 503" in answer
    assert len(soar.starts) == 1  # nothing retried without a person
    status = await bot.say(RESPONDER, f"playbook status {run_id}")
    assert "failed" in card_text(card_of(status))


async def test_who_may_run_what(bot, soar):
    listed = (await bot.say(RESPONDER, "playbook list")).activity["text"]
    assert "phishing-triage: Phishing triage (inputs: mailbox, message_id)" in listed
    assert "wipe-host" not in listed
    refused = await bot.say(ANALYST, "playbook run phishing-triage mailbox=a message_id=b")
    assert "needs the responder role" in refused.activity["text"]
    missing = await bot.say(RESPONDER, "playbook run phishing-triage mailbox=a")
    assert "needs message_id" in missing.activity["text"]
    unknown = await bot.say(RESPONDER, "playbook run phishing-triage mailbox=a message_id=b x=1")
    assert "no input 'x'" in unknown.activity["text"]
    assert soar.starts == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "logicapp"}, "playbooks[0].kind: 'logicapp' is not supported yet"),
        ({"kind": "stepfunctions"}, "playbooks[0].kind: 'stepfunctions' is not supported yet"),
        ({"kind": "ftp"}, "playbooks[0].kind"),
        ({"url": "http://soar.example.com/hook"}, "playbooks[0].url: expected https"),
        ({"role": "intern"}, "playbooks[0].role"),
        ({"approval": "yes"}, "playbooks[0].approval"),
        ({"name": "bad name!"}, "playbooks[0].name"),
        ({"inputs": "mailbox"}, "playbooks[0].inputs"),
        ({"colour": "red"}, "playbooks[0].colour: unknown key"),
    ],
)
async def test_config_is_checked_at_start_naming_the_key(change, named):
    good = document("https://soar.example.com/hook")["playbooks"][0]
    with pytest.raises(ConfigError, match=re.escape(named)):
        await start_vigil(RawConfig({"playbooks": [{**good, **change}]}, {}, "test.toml"))


async def test_a_name_used_twice_is_refused():
    good = document("https://soar.example.com/hook")["playbooks"][0]
    with pytest.raises(ConfigError, match=re.escape("playbooks[1].name")):
        await start_vigil(RawConfig({"playbooks": [good, good]}, {}, "test.toml"))


async def test_a_soar_that_does_not_answer_fails_the_run_with_the_reason(bot, soar):
    await soar.close()  # the configured URL now refuses connections
    run_id, answer = await run_playbook(bot, soar)
    assert f"{run_id} (phishing-triage): failed: cannot connect to the SOAR" in answer
    listed = (await bot.say(RESPONDER, "playbook runs")).activity["text"]
    assert f"{run_id} phishing-triage: failed" in listed
