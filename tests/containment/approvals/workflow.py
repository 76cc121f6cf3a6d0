"""Shared steps of the workflow tests: a harness with the RPZ connector, asking, clicking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.devchannel.channel import ChannelConversation, ChannelUser
from tests.bot.harness import ADMIN, APPROVER, RESPONDER, Harness, card_of, card_text

SOC = ChannelConversation.channel("SOC", "Containment")


def workflow_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "rpz",
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "none",
        "VIGIL_RPZ_FILE": str(tmp_path / "rpz" / "vigil.rpz.zone"),
        "VIGIL_CONTAINMENT_POLL_INITIAL": "0.05",
        "VIGIL_CONTAINMENT_POLL_MAX": "0.2",
        "VIGIL_APPROVAL_EXPIRY_INTERVAL": "1",
        **extra,
    }


async def start(tmp_path: Path, db_url: str | None = None, **extra: str) -> Harness:
    harness = await Harness.start(
        db_url or f"sqlite:///{tmp_path}/vigil.db", workflow_env(tmp_path, **extra)
    )
    # People the bot has seen are who the card's refresh lists.
    for user in (RESPONDER, APPROVER, ADMIN):
        await harness.say(user, "whoami", SOC)
    return harness


async def ask(harness: Harness, text: str, user: ChannelUser = RESPONDER) -> tuple[str, str, dict]:
    """Send a request; (approval id, card activity id, posted card)."""
    since = harness.channel.last_seq
    await harness.channel.send_message(user, SOC, text)
    call = await harness.channel.wait_for(
        lambda c: c.kind in ("send", "reply") and _is_approval(c.activity), since=since
    )
    card = card_of(call)
    return card["refresh"]["action"]["data"]["approvalId"], call.activity_id or "", card


async def answer_to(
    harness: Harness, user: ChannelUser, text: str, *, mention: bool = False
) -> str:
    """The text of the bot's first message after `text` (with `mention`: after `@Vigil text`)."""
    call = await harness.say(user, text, SOC, mention=mention)
    activity = call.activity or {}
    if activity.get("attachments"):
        return card_text(card_of(call))
    return str(activity.get("text") or "")


async def click(
    harness: Harness,
    user: ChannelUser,
    verb: str,
    data: dict[str, Any],
    activity_id: str,
    trigger: str = "manual",
) -> dict[str, Any]:
    status, body = await harness.channel.send_card_action(
        user, SOC, verb=verb, data=data, reply_to_id=activity_id or "1", trigger=trigger
    )
    assert status == 200, (status, body)
    return body


def actions_of(card: dict[str, Any]) -> list[str]:
    return [str(a.get("title")) for a in card.get("actions", [])]


def _is_approval(activity: dict[str, Any] | None) -> bool:
    for attachment in (activity or {}).get("attachments") or []:
        content = attachment.get("content") or {}
        verb = ((content.get("refresh") or {}).get("action") or {}).get("verb")
        if verb == "approval.refresh":
            return True
    return False


def is_approval_update(approval_id: str, state_text: str):
    def matches(call: Any) -> bool:
        if call.kind != "update" or not _is_approval(call.activity):
            return False
        text = card_text(call.activity)
        return approval_id in text and state_text in text

    return matches
