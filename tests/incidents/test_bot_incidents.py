"""create-incident and the incident commands as a Teams user meets them, against a Graph fake."""

from __future__ import annotations

import re
import time

from bot.incidents import records
from tests.bot.harness import ADMIN, ANALYST, COMMANDER, NOBODY, RESPONDER, card_of, card_text
from tests.incidents.conftest import SOC

CREATE = 'create-incident high "Phishing wave finance" --ioc evil.example.com'


async def _use_team(bot):
    call = await bot.say(ADMIN, "incident-team use this", SOC)
    assert SOC.team_aad_group_id in call.activity["text"]


async def _create(bot, text=CREATE, user=ANALYST):
    call = await bot.say(user, text, SOC)
    match = re.search(r"INC-\d{8}-\d{3}", call.activity.get("text") or "")
    assert match, call.activity
    return match[0], call


async def test_one_line_create_makes_the_channel_and_posts_the_card_there(bot, graph):
    await _use_team(bot)
    since = bot.channel.last_seq
    incident_id, call = await _create(bot)
    day = time.strftime("%Y%m%d", time.gmtime())
    assert incident_id.startswith(f"INC-{day}-")
    [sent] = graph.created()
    assert sent.path == f"/v1.0/teams/{SOC.team_aad_group_id}/channels"
    assert sent.body["displayName"] == f"incident-{day}-phishing-wave-finance"
    assert len(sent.body["displayName"]) <= 50
    assert sent.body["membershipType"] == "standard"
    assert incident_id in sent.body["description"]
    assert graph.token_requests == 1
    # The requester gets the card and a link to the channel.
    assert (
        "incident-" in call.activity["text"]
        and "https://teams.microsoft.com" in call.activity["text"]
    )
    assert incident_id in card_text(card_of(call))
    # The card was posted into the new channel as a new thread.
    created = await bot.channel.wait_for(lambda c: c.kind == "create", since=since)
    channel_id = graph.channels[SOC.team_aad_group_id][0]["id"]
    assert created.conversation_id.startswith(channel_id + ";messageid=")
    text = card_text(created.activity["attachments"][0]["content"])
    assert incident_id in text and "Phishing wave finance" in text
    stored = await records.get(bot.vigil.services.store, incident_id)
    assert stored.indicators == ["evil.example.com"]
    assert stored.channel_id == channel_id and stored.card_activity_id


async def test_name_collision_appends_a_number(bot, graph):
    await _use_team(bot)
    await _create(bot)
    graph.conflict_status = 409
    await _create(bot)
    names = [c.body["displayName"] for c in graph.calls]
    assert names[1] == names[0] and graph.calls[1].status == 409
    assert names[2] == names[0] + "-2"
    assert [c.status for c in graph.calls] == [201, 409, 201]


async def test_throttling_is_retried_with_retry_after(bot, graph):
    await _use_team(bot)
    graph.fail_next(429, 2, retry_after=0.01)
    incident_id, _ = await _create(bot)
    assert [c.status for c in graph.calls] == [429, 429, 201]
    stored = await records.get(bot.vigil.services.store, incident_id)
    assert stored.channel_id


async def test_graph_failure_keeps_the_incident_and_offers_a_retry(bot, graph):
    await _use_team(bot)
    graph.fail_next(500)
    incident_id, call = await _create(bot)
    card = card_of(call)
    assert "Graph answered 500" in card_text(card)
    retry = [a for a in card["actions"] if a.get("verb") == "incident.retry_channel"]
    assert retry and retry[0]["data"] == {"incidentId": incident_id}
    status, body = await bot.channel.send_card_action(
        ANALYST,
        SOC,
        verb="incident.retry_channel",
        data={"incidentId": incident_id},
        reply_to_id="1",
    )
    assert status == 200
    assert "Open incident channel" in card_text(body["value"])
    stored = await records.get(bot.vigil.services.store, incident_id)
    assert stored.channel_id and not stored.channel_error


async def test_no_team_configured_says_how_to_fix_it(bot, graph):
    incident_id, call = await _create(bot)
    assert "incident-team use this" in call.activity["text"]
    assert graph.calls == []


async def test_incident_commands_in_the_channel_and_by_id(bot, graph):
    await _use_team(bot)
    incident_id, _ = await _create(bot)
    stored = await records.get(bot.vigil.services.store, incident_id)
    from bot.devchannel.channel import ChannelConversation

    room = ChannelConversation(
        "channel",
        stored.channel_id,
        SOC.tenant_id,
        team_id=SOC.team_id,
        team_aad_group_id=SOC.team_aad_group_id,
        team_name="SOC",
        channel_id=stored.channel_id,
        channel_name=stored.channel_name,
    )
    await bot.say(COMMANDER, "ping", room)  # Vigil now knows Cam by name
    show = await bot.say(RESPONDER, "incident show", room)
    assert incident_id in card_text(card_of(show))
    refused = await bot.say(RESPONDER, "incident status contained", room)
    assert "Only the incident commander" in refused.activity["text"]
    ok = await bot.say(ANALYST, "incident status contained", room)
    assert "triage → contained" in ok.activity["text"]
    await bot.say(ANALYST, "incident assign commander Cam Commander", room)
    refused = await bot.say(ANALYST, "incident severity critical", room)
    assert "Cam Commander" in refused.activity["text"]
    await bot.say(COMMANDER, f"incident severity critical {incident_id}")
    await bot.say(ANALYST, "check evil.example.com 10.9.8.7", room)
    note = await bot.say(RESPONDER, "incident note Isolated WS-FIN-0231", room)
    assert "Noted" in note.activity["text"]
    listed = await bot.say(ANALYST, "incident list --open")
    assert incident_id in listed.activity["text"]
    timeline = card_text(card_of(await bot.say(ANALYST, f"incident timeline {incident_id}")))
    assert "Isolated WS-FIN-0231" in timeline and "Severity high → critical" in timeline
    assert "evil[.]example[.]com" in timeline  # the enrichment run, defanged
    closed = await bot.say(COMMANDER, 'incident close --summary "Contained, no data loss"', room)
    assert "Closed" in closed.activity["text"]
    assert incident_id not in (await bot.say(ANALYST, "incident list --open")).activity["text"]
    export = (await bot.say(ANALYST, f"incident export {incident_id}")).activity["text"]
    assert export.startswith(f"# {incident_id}: Phishing wave finance")
    kinds = re.findall(r"\| [^|]+ \| [^|]+ \| (\w+) \|", export)
    assert kinds[1:3] == ["opened", "indicators"]  # after the header row
    assert {"status", "assign", "severity", "note", "enrichment", "closed"} <= set(kinds)
    # The card in the channel was kept current.
    updates = [c for c in bot.channel.sent() if c.kind == "update"]
    assert updates and "CRITICAL" in card_text(updates[-1].activity)


async def test_refusals_and_malformed_input(bot, graph):
    assert "needs the analyst role" in (await bot.say(NOBODY, CREATE, SOC)).activity["text"]
    refused = await bot.say(ANALYST, "incident-team use this", SOC)
    assert "needs the admin role" in refused.activity["text"]
    for text, expected in [
        ("create-incident urgent Something", "severity must be one of"),
        ("create-incident high", "missing title"),
        ('create-incident high "x" --ioc', "--ioc needs a value"),
        ("incident show", "name the incident"),
        ("incident show INC-20990101-001", "There is no incident"),
        ("incident dance", "unknown action"),
        ("incident list extra", "list takes no arguments"),
        ("incident-team use that", "incident-team use this"),
        ("incident export INC-1 --format pdf", "--format must be one of"),
    ]:
        answer = (await bot.say(ANALYST if "team" not in text else ADMIN, text, SOC)).activity
        assert expected in answer["text"], (text, answer["text"])
    hostile = await bot.say(ANALYST, 'create-incident low "<at>x</at> **b** \u202e🔥"', SOC)
    assert "INC-" in hostile.activity["text"]
    status, body = await bot.channel.send_card_action(
        ANALYST,
        SOC,
        verb="incident.retry_channel",
        data={"incidentId": "'; DROP TABLE"},
        reply_to_id="1",
    )
    assert status == 200 and "names no incident" in body["value"]


async def test_create_incident_dialog(bot, graph):
    await _use_team(bot)
    conversation = SOC
    assert "Title" in (await bot.say(ANALYST, "create-incident", conversation)).activity["text"]
    assert (
        "Severity" in (await bot.say(ANALYST, "Ransomware on FS01", conversation)).activity["text"]
    )
    retry = await bot.say(ANALYST, "very bad", conversation)
    assert "one of" in retry.activity["text"]
    await bot.say(ANALYST, "critical", conversation)
    await bot.say(ANALYST, "none", conversation)
    done = await bot.say(ANALYST, "evil.example.com 203.0.113.7", conversation)
    assert "INC-" in done.activity["text"]
    [sent] = graph.created()
    assert sent.body["displayName"].endswith("-ransomware-on-fs01")


async def test_create_incident_dialog_in_a_channel_with_the_mention_in_every_answer(bot, graph):
    """Teams puts `<at>Vigil</at>` in front of every channel message, the answers included."""
    await _use_team(bot)

    async def say(text: str) -> str:
        return (await bot.say(ANALYST, text, SOC, mention=True)).activity.get("text") or ""

    assert "Title" in await say("create-incident")
    assert "Severity" in await say("Ransomware on FS01")
    assert "one of" in await say("very bad")
    assert "description" in await say("high")
    assert "Related indicators" in await say("Encrypted shares on FS01")
    done = await say("evil.example.com")
    incident_id = re.search(r"INC-\d{8}-\d{3}", done)
    assert incident_id, done
    opened = await records.get(bot.vigil.services.store, incident_id[0])
    assert opened.title == "Ransomware on FS01" and opened.severity == records.Severity.HIGH
    assert opened.description == "Encrypted shares on FS01"
    assert "Vigil" not in opened.title + opened.description
    [sent] = graph.created()
    assert sent.body["displayName"].endswith("-ransomware-on-fs01")
