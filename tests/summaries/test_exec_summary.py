"""`exec-summary` as a commander meets it in Teams: the dialog, the exec channel post, refusals."""

from __future__ import annotations

import json
import time

import pytest

from bot.devchannel.channel import ChannelConversation
from bot.incidents import add_timeline, records, timeline
from bot.kernel.rbac import Actor, Role
from bot.summaries.draft import build_draft
from bot.summaries.posting import CLAIM_LEASE, SummaryError, post_summary
from tests.bot.harness import ANALYST, COMMANDER, NOBODY, RESPONDER, card_of, card_text
from tests.summaries.conftest import (
    EXEC,
    audit_records,
    incident,
    messages_in,
    summary_cards,
    turn,
)

TIMELINE = [
    ("containment", "Isolate endpoint WS-FIN-0231 (APR-1): approved by Apu Approver"),
    ("containment", "isolate-endpoint WS-FIN-0231 succeeded: isolated"),
    ("containment", "block-ip 198.51.100.23 succeeded: blocked"),
    ("note", "done: checked dc-01 and 10.20.30.40 for the loader"),
    ("note", "next: forensic image of WS-FIN-0231"),
    ("note", "just chatter, not an action"),
]


async def _with_timeline(harness, entries=TIMELINE, **kw):
    found = await incident(harness, **kw)
    for kind, text in entries:
        await add_timeline(harness.vigil.services.store, found.id, "Cam Commander", kind, text)
    return found


async def _through_to_confirm(bot, incident_id, *, names_answer="no"):
    """Start the dialog, edit each part, and stop at the confirmation; returns the preview."""
    first = await turn(bot, COMMANDER, f"exec-summary {incident_id}", "Draft executive summary")
    draft = card_text(card_of(first))
    await bot.channel.wait_for(lambda c: "Status line?" in ((c.activity or {}).get("text") or ""))
    await turn(bot, COMMANDER, "Contained, monitoring", "The impact is unknown")
    await turn(bot, COMMANDER, "One finance workstation ran attacker code", "Actions taken?")
    await turn(bot, COMMANDER, "ok", "Next steps?")
    await turn(bot, COMMANDER, "Forensic image of WS-FIN-0231; Reset passwords", "next update")
    await turn(bot, COMMANDER, "in 2h", "Internal names are shown by their role")
    preview = await turn(bot, COMMANDER, names_answer, "This is what the exec channel will see")
    return draft, card_text(card_of(preview))


async def test_edit_and_confirm_posts_one_card_to_the_exec_channel_and_a_timeline_copy(bot):
    found = await _with_timeline(bot)
    draft, preview = await _through_to_confirm(bot, found.id)
    # The draft is shown in the chat where it was asked, not in the exec channel.
    assert "unknown — please provide" in draft and "Isolated endpoint" in draft
    assert summary_cards(bot) == []
    done = await turn(bot, COMMANDER, "post", "Posted the executive summary")
    assert found.id in done.activity["text"]
    [card] = summary_cards(bot)
    text = card_text(card)
    assert found.id in text and "Contained, monitoring" in text
    assert "One finance workstation ran attacker code" in text
    # Internal names became roles; indicators are defanged.
    assert "WS-FIN-0231" not in text and "a finance workstation" in text
    assert "Isolated endpoint a finance workstation" in text
    assert "a domain controller" in text and "an internal address" in text
    assert "10.20.30.40" not in text and "dc-01" not in text
    assert "198.51.100[.]23" in text
    assert "Forensic image of a finance workstation" in text and "Reset passwords" in text
    assert "Prepared by Cam Commander" in text
    store = bot.vigil.services.store
    copies = [e for e in await timeline.entries(store, found.id) if e.kind == "summary"]
    assert len(copies) == 1 and "a finance workstation" in copies[0].text
    [posted] = [r for r in await audit_records(bot, "summary.post") if r.result == "ok"]
    assert posted.target == found.id and posted.actor_name == COMMANDER.name
    assert json.loads(posted.parameters)["kept_internal_names"] == []
    # The edited impact is remembered for the next draft.
    again = await turn(bot, COMMANDER, f"exec-summary {found.id}", "Draft executive summary")
    assert "One finance workstation ran attacker code" in card_text(card_of(again))
    await turn(bot, COMMANDER, "cancel", "Cancelled")
    assert len(summary_cards(bot)) == 1


async def test_kept_names_stay_and_are_audited(sqlite_bot):
    bot = sqlite_bot
    found = await _with_timeline(bot)
    _, preview = await _through_to_confirm(bot, found.id, names_answer="yes")
    assert "WS-FIN-0231" in preview
    await turn(bot, COMMANDER, "post", "Posted the executive summary")
    [card] = summary_cards(bot)
    text = card_text(card)
    assert "Isolated endpoint WS-FIN-0231" in text and "10.20.30.40" in text
    assert "198.51.100[.]23" in text  # indicators are defanged whatever was kept
    [posted] = [r for r in await audit_records(bot, "summary.post") if r.result == "ok"]
    kept = json.loads(posted.parameters)["kept_internal_names"]
    assert {"WS-FIN-0231", "10.20.30.40", "dc-01"} <= set(kept)


async def test_cancel_posts_nothing(sqlite_bot):
    bot = sqlite_bot
    found = await _with_timeline(bot)
    await _through_to_confirm(bot, found.id)
    await turn(bot, COMMANDER, "cancel", "Cancelled")
    assert summary_cards(bot) == []
    entries = await timeline.entries(bot.vigil.services.store, found.id)
    assert not [e for e in entries if e.kind == "summary"]
    # A "no" at the confirmation is a cancel too, and the dialog is over either way.
    await _through_to_confirm(bot, found.id)
    await turn(bot, COMMANDER, "no", "Nothing was posted")
    assert summary_cards(bot) == []


async def test_the_dialog_survives_a_restart(sqlite_bot):
    bot = sqlite_bot
    found = await _with_timeline(bot)
    await turn(bot, COMMANDER, f"exec-summary {found.id}", "Status line?")
    await turn(bot, COMMANDER, "Contained", "The impact is unknown")
    await bot.restart_bot()
    await turn(bot, COMMANDER, "skip", "Actions taken?")
    await turn(bot, COMMANDER, "none", "Next steps?")
    await turn(bot, COMMANDER, "ok", "next update")
    await turn(bot, COMMANDER, "tomorrow-ish", "Say a time like")
    await turn(bot, COMMANDER, "none", "Internal names")
    await turn(bot, COMMANDER, "no", "Post it to the exec channel?")
    await turn(bot, COMMANDER, "post", "Posted")
    # Sending `post` again is a new command, not a second post.
    await turn(bot, COMMANDER, "post", "I don't know")
    [card] = summary_cards(bot)
    text = card_text(card)
    assert "Being assessed." in text and "No actions recorded yet." in text
    assert "not planned" in text


async def test_non_commanders_are_refused_and_audited_but_the_scribe_may(sqlite_bot):
    bot = sqlite_bot
    found = await _with_timeline(bot)
    call = await turn(bot, ANALYST, f"exec-summary {found.id}", "Only commanders")
    assert "Cam Commander" in call.activity["text"]
    call = await turn(bot, NOBODY, f"exec-summary {found.id}", "needs the analyst role")
    refused = [r for r in await audit_records(bot, "command:exec-summary") if r.result == "refused"]
    assert {r.actor_name for r in refused} == {ANALYST.name, NOBODY.name}
    await records.update(
        bot.vigil.services.store, found.id, scribe_id=RESPONDER.aad_object_id, scribe_name="Rob"
    )
    await turn(bot, RESPONDER, f"exec-summary {found.id}", "Status line?")
    await turn(bot, RESPONDER, "cancel", "Cancelled")
    assert summary_cards(bot) == []


async def test_unknown_and_malformed_incidents_get_clear_answers(sqlite_bot):
    bot = sqlite_bot
    await turn(bot, COMMANDER, "exec-summary INC-20200101-999", "There is no incident")
    await turn(bot, COMMANDER, "exec-summary ../../etc", "is not an incident id")
    await turn(bot, COMMANDER, "exec-summary", "name the incident")
    found = await incident(bot)
    await turn(bot, COMMANDER, f"exec-summary {found.id} --every 2h --stop", "not both")


async def test_the_exec_channel_refuses_commands_and_card_actions(bot):
    since = bot.channel.last_seq
    for text in ("help", "exec-summary INC-20240502-001", "check-ip 198.51.100.23", "hello"):
        call = await turn(bot, COMMANDER, text, "only receives executive summaries", EXEC)
        assert call.activity.get("attachments") is None
    status, body = await bot.channel.send_card_action(
        COMMANDER, EXEC, verb="alert.ack", data={"alertId": "a1"}, reply_to_id="1"
    )
    assert status == 200 and "only receives executive summaries" in json.dumps(body)
    refused = await audit_records(bot, "exec-channel:")
    assert [r.action for r in refused] == ["exec-channel:command"] * 4 + ["exec-channel:action"]
    assert all(r.result == "refused" and r.conversation == EXEC.id for r in refused)
    # Nothing but refusals was said there.
    texts = [m.get("text") or "" for m in messages_in(bot, EXEC, since)]
    assert texts and all("only receives executive summaries" in t for t in texts)


async def test_hostile_timeline_text_stays_data(sqlite_bot):
    bot = sqlite_bot
    hostile = (
        'done: **CEO fired** [click](javascript:alert(1)) <at>All</at> ${title} "}]}, '
        '{"type":"Action.OpenUrl","url":"https://evil.example.com"} ' + "x" * 20_000
    )
    found = await _with_timeline(bot, [("note", hostile)], title="${impact} <b>bold</b>")
    await turn(bot, COMMANDER, f"exec-summary {found.id}", "Status line?")
    for answer, expect in (
        ("ok", "The impact is unknown"),
        ("**urgent** <at>Board</at>", "Actions taken?"),
        ("ok", "Next steps?"),
        ("ok", "next update"),
        ("ok", "Post it to the exec channel?"),
    ):
        await turn(bot, COMMANDER, answer, expect)
    await turn(bot, COMMANDER, "post", "Posted")
    [card] = summary_cards(bot)
    raw = json.dumps(card)
    assert "Action.OpenUrl" not in json.dumps(card.get("actions", []))
    assert "actions" not in card and len(raw) < 28 * 1024
    assert "\\\\*\\\\*CEO fired\\\\*\\\\*" in raw  # markdown escaped, shown literally
    text = card_text(card)
    assert "**CEO fired** [click](javascript:alert(1)) <at>All</at> ${title}" in text
    assert "${impact} <b>bold</b>" in text and "**urgent**" in text
    # The answer's mention markup went at the one way in, as every message's does.
    assert "<at>Board</at>" not in text
    assert "evil[.]example[.]com" in text


async def test_not_configured_is_a_clear_answer(sqlite_url):
    from tests.bot.harness import Harness

    harness = await Harness.start(sqlite_url)
    try:
        found = await incident(harness)
        call = await turn(harness, COMMANDER, f"exec-summary {found.id}", "not configured")
        assert "VIGIL_EXEC_CHANNEL" in call.activity["text"]
        [record] = await audit_records(harness, "command:exec-summary")
        assert record.result == "refused"
    finally:
        await harness.close()


async def test_not_installed_in_the_exec_channel_posts_nothing(sqlite_url):
    from tests.bot.harness import Harness
    from tests.summaries.conftest import exec_env

    harness = await Harness.start(sqlite_url, exec_env())
    try:
        found = await _with_timeline(harness, [("note", "done: contained")])
        await turn(harness, COMMANDER, f"exec-summary {found.id}", "Status line?")
        for answer, expect in (
            ("ok", "impact is unknown"),
            ("skip", "Actions taken?"),
            ("ok", "Next steps?"),
            ("ok", "next update"),
            ("in 90m", "Internal names are shown"),
            ("no", "Post it"),
        ):
            await turn(harness, COMMANDER, answer, expect)
        await turn(harness, COMMANDER, "post", "not installed in the exec channel")
        assert summary_cards(harness) == []
        [record] = await audit_records(harness, "summary.post")
        assert record.result == "error"
    finally:
        await harness.close()


async def test_the_incident_channel_works_without_naming_the_incident(sqlite_bot):
    bot = sqlite_bot
    found = await _with_timeline(bot)
    room = ChannelConversation.channel("SOC", "incident-20240502-phish")
    await records.update(bot.vigil.services.store, found.id, channel_id=room.channel_id)
    await turn(bot, COMMANDER, "exec-summary", "Status line?", room)
    await turn(bot, COMMANDER, "cancel", "Cancelled", room)


async def test_the_dialog_in_the_incident_channel_with_the_mention_in_every_answer(sqlite_bot):
    """Teams puts `<at>Vigil</at>` in front of every channel message, the answers included;
    an answer's lines stay apart (one action a line)."""
    bot = sqlite_bot
    found = await _with_timeline(bot)
    room = ChannelConversation.channel("SOC", "incident-20240502-phish")
    await records.update(bot.vigil.services.store, found.id, channel_id=room.channel_id)

    async def say(text: str, expect: str):
        return await turn(bot, COMMANDER, text, expect, room, mention=True)

    await say("exec-summary", "Status line?")
    await say("Contained, monitoring", "The impact is unknown")
    await say("One finance workstation ran attacker code", "Actions taken?")
    await say("Blocked the phishing domain\nReset finance passwords", "Next steps?")
    await say("ok", "next update")
    await say("in 2h", "Internal names are shown by their role")
    await say("no", "This is what the exec channel will see")
    await say("post", "Posted the executive summary")
    [card] = summary_cards(bot)
    text = card_text(card)
    assert "Contained, monitoring" in text and "One finance workstation ran attacker code" in text
    assert "<at>" not in text and "Vigil" not in text
    lines = _strings_of(card)
    assert "- Blocked the phishing domain" in lines and "- Reset finance passwords" in lines


def _strings_of(card) -> list[str]:
    if isinstance(card, dict):
        return [text for value in card.values() for text in _strings_of(value)]
    if isinstance(card, list):
        return [text for value in card for text in _strings_of(value)]
    return [card] if isinstance(card, str) else []


async def _claim_left(bot, incident_id: str, key: str, claimed_at: float) -> None:
    """A post key claimed by an instance that never recorded the message id (it stopped)."""
    await bot.vigil.services.store.execute(
        "INSERT INTO exec_summaries (id, incident_id, posted_at, posted_by_id, posted_by_name,"
        " channel_id, activity_id, impact, data) VALUES (?, ?, ?, 'x', 'Old Instance', ?, '',"
        " '', '{}')",
        key,
        incident_id,
        claimed_at,
        EXEC.channel_id,
    )


async def test_a_post_cut_off_mid_way_is_posted_once_later_and_never_claimed_as_done(sqlite_bot):
    bot = sqlite_bot
    services = bot.vigil.services
    found = await _with_timeline(bot)
    draft = await build_draft(services.store, found.id, prepared_by=COMMANDER.name)
    actor = Actor(COMMANDER.aad_object_id, COMMANDER.name, frozenset({Role.COMMANDER}))
    now = time.time()
    await _claim_left(bot, found.id, "in-flight", now)
    await _claim_left(bot, found.id, "cut-off", now - CLAIM_LEASE - 1)

    # A claim still within its lease may be a post in flight: not repeated, and not "posted".
    with pytest.raises(SummaryError, match="being posted right now"):
        await post_summary(services, draft, actor, key="in-flight")
    assert summary_cards(bot) == []

    # Past the lease the claimer is gone: the summary is posted, once.
    activity_id = await post_summary(services, draft, actor, key="cut-off")
    assert activity_id
    assert len(summary_cards(bot)) == 1
    assert await post_summary(services, draft, actor, key="cut-off") == activity_id
    assert len(summary_cards(bot)) == 1
    results = [r.result for r in await audit_records(bot, "summary.post")]
    assert results.count("ok") == 1 and "refused" in results


async def test_pii_is_redacted_before_addresses_are_defanged(sqlite_url):
    """With `pii = ["email", "phone"]`, an address in the timeline never reaches the exec channel,
    defanged or not: PII redaction runs first, and the text says what was there."""
    from tests.bot.harness import Harness
    from tests.summaries.conftest import exec_env, install_in_exec_channel

    env = exec_env(VIGIL_REDACT_PII="email,phone")
    harness = await Harness.start(sqlite_url, env)
    try:
        await install_in_exec_channel(harness)
        entries = [("note", "done: phished user bob.smith@evil.example called +1 202 555 0143")]
        found = await _with_timeline(harness, entries)
        await _through_to_confirm(harness, found.id)
        await turn(harness, COMMANDER, "post", "Posted the executive summary")
        [card] = summary_cards(harness)
        text = card_text(card)
        assert "bob.smith" not in text and "evil" not in text and "0143" not in text
        assert "[redacted e-mail]" in text and "[redacted phone]" in text
    finally:
        await harness.close()
