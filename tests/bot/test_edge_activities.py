"""An authenticated activity without what Vigil needs is refused at the edge: 400 naming the
field, one log line, no traceback; an invoke Vigil does not implement gets 501 the same way; a
turn that fails anyway is logged once."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import ANALYST

CONVERSATION = ChannelConversation.personal(ANALYST)


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(activity: dict[str, Any]) -> None:
        target = activity
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _set(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def edit(activity: dict[str, Any]) -> None:
        target = activity
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _card_action(value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(activity: dict[str, Any]) -> None:
        activity.update(type="invoke", name="adaptiveCard/action", value=value)

    return edit


# case: (edit of a good message, the field the answer must name)
MALFORMED = {
    "no recipient": (_drop("recipient"), "recipient"),
    "recipient not an object": (_set("bot", "recipient"), "recipient"),
    "no conversation": (_drop("conversation"), "conversation"),
    "no conversation.id": (_drop("conversation", "id"), "conversation.id"),
    "empty conversation.id": (_set("", "conversation", "id"), "conversation.id"),
    "number conversation.id": (_set(5, "conversation", "id"), "conversation.id"),
    "no from": (_drop("from"), "from"),
    "no from.id": (_drop("from", "id"), "from.id"),
    "list from.id": (_set([1], "from", "id"), "from.id"),
    "number activity id": (_set(7, "id"), "id"),
    "object replyToId": (_set({"a": 1}, "replyToId"), "replyToId"),
    "number aadObjectId": (_set(5, "from", "aadObjectId"), "from.aadObjectId"),
    "number tenantId": (_set(5, "conversation", "tenantId"), "conversation.tenantId"),
    "no serviceUrl": (_drop("serviceUrl"), "serviceUrl"),
    "number text": (_set(12, "text"), "text"),
    "card action value a string": (_card_action("approve"), "value"),
    "card action value a list": (_card_action([{"verb": "x"}]), "value"),
    "lone surrogate in conversation.id": (
        _set("a:1\ud800", "conversation", "id"),
        "conversation.id",
    ),
    "NUL in the activity id": (_set("17\x00", "id"), "id"),
    # Found by bench/fuzz.py: such an id made a connector URL too long, failing the turn's reply.
    "control characters in conversation.id": (
        _set("a:1\x08\x0c", "conversation", "id"),
        "conversation.id",
    ),
    "conversation.id of 5,000 characters": (
        _set("a:" + "x" * 5000, "conversation", "id"),
        "conversation.id",
    ),
    "member id of 5,000 characters": (
        _set([{"id": "29:" + "x" * 5000}], "membersAdded"),
        "membersAdded[0].id",
    ),
    "null among entities": (_set([None], "entities"), "entities[0]"),
    "entities not a list": (_set("mention", "entities"), "entities"),
    "timestamp not a date": (_set("yesterday", "timestamp"), "timestamp"),
    "member id a number": (
        _set([{"id": 5}], "membersAdded"),
        "membersAdded[0].id",
    ),
}


def _message(harness) -> dict[str, Any]:
    activity = harness.channel.new_activity("message", ANALYST, CONVERSATION)
    return activity | {"text": "ping"}


def _bot_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("bot")]


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_activity_gets_400_naming_the_field_and_one_log_line(harness, caplog, case):
    edit, field = MALFORMED[case]
    activity = _message(harness)
    edit(activity)
    caplog.set_level(logging.INFO)
    caplog.clear()

    status, body = await harness.channel.post_activity(ANALYST, CONVERSATION, activity)

    assert status == 400, body
    assert field in body["error"]
    records = _bot_records(caplog)
    assert len(records) == 1, [record.getMessage() for record in records]
    assert field in records[0].getMessage()
    assert not any(record.exc_info for record in caplog.records)
    assert harness.channel.sent() == []


async def test_malformed_activity_with_a_forged_token_gets_401_not_the_field(harness):
    activity = _message(harness)
    del activity["conversation"]
    forged = "Bearer " + harness.channel.mint_token(key="other")
    status, body = await harness.channel.post_activity(
        ANALYST, CONVERSATION, activity, authorization=forged
    )
    assert status == 401
    assert "conversation" not in json.dumps(body)


@pytest.mark.parametrize(
    "name, value",
    [
        ("composeExtension/query", "not an object"),
        ("composeExtension/submitAction", [1, 2]),
        ("fileConsent/invoke", 5),
        ("task/fetch", {"data": {}}),
        ("no/such-invoke", None),
        (None, None),
    ],
)
async def test_invoke_vigil_does_not_implement_gets_501_without_traceback(
    harness, caplog, name, value
):
    activity = harness.channel.new_activity("invoke", ANALYST, CONVERSATION)
    activity |= {"name": name, "value": value}
    caplog.set_level(logging.INFO)
    caplog.clear()

    status, _ = await harness.channel.post_activity(ANALYST, CONVERSATION, activity)

    assert status == 501
    assert len(_bot_records(caplog)) == 1
    assert not any(record.exc_info for record in caplog.records)


async def test_a_failed_turn_logs_once(harness, caplog):
    # A conversation the channel does not know: the reply fails (404), and so does the error
    # reply; both used to log a traceback each.
    activity = _message(harness)
    activity["conversation"]["id"] = "a:unknown-conversation"
    caplog.set_level(logging.INFO)
    caplog.clear()

    status = await harness.channel.post_raw(json.dumps(activity).encode())

    assert status == 200
    failures = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(failures) == 1, [record.getMessage() for record in failures]
    assert "turn failed" in failures[0].getMessage()
    assert "error reply could not be sent" in failures[0].getMessage()
    assert failures[0].exc_info is not None
