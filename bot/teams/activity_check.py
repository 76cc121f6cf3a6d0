"""What Vigil needs of an authenticated activity, checked once at the edge, on the JSON body.

The handler, the dialog state and the Bot Connector read these fields without asking again, so an
activity without them used to fail deep inside a turn (a traceback and a 200). msrest turns any
JSON value into a string (`{"id": [1]}` becomes the id "[1]"), so the types are checked on the
body as posted, and the answer names the field as Teams spells it.
"""

from __future__ import annotations

import re
from typing import Any

# Every turn reads these: the dedupe key, the dialog state's key, the reply's address.
REQUIRED_IDS = ("conversation.id", "from.id", "recipient.id")
REQUIRED_STRINGS = ("serviceUrl", "channelId")
# Optional, but when present an id Vigil stores or sends back (keys, references, URLs).
OPTIONAL_IDS = (
    "id",
    "replyToId",
    "from.aadObjectId",
    "conversation.tenantId",
    "channelData.tenant.id",
    "channelData.team.id",
    "channelData.team.aadGroupId",
    "channelData.channel.id",
)
# Optional, but a string when present (Teams never sends anything else). Text that is not an
# id (a name, the message) is made storable by the pipeline, not refused here.
OPTIONAL_STRINGS = (
    "type",
    "name",
    "text",
    "from.name",
    "recipient.name",
    "conversation.conversationType",
)
MEMBER_LISTS = ("membersAdded", "membersRemoved")
OBJECT_LISTS = ("entities", "attachments")
# A control character or a lone surrogate is never part of a Teams id (neither database stores
# NUL or a surrogate, and the connector URL an id goes into must stay a URL).
_NOT_IN_AN_ID = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Teams ids are a few hundred characters at most; a longer one would only make a URL too long for
# the Bot Connector to read, failing the turn after it ran.
MAX_ID = 1024
CARD_ACTION = "adaptiveCard/action"
# The only invoke Vigil answers; the Bot Framework protocol answers any other with 501.
HANDLED_INVOKES = frozenset({CARD_ACTION})
_ABSENT = object()


def activity_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with the activity, naming the field; None when Vigil can handle it."""
    checks = (
        *((path, True, True) for path in REQUIRED_IDS),
        *((path, True, False) for path in REQUIRED_STRINGS),
        *((path, False, True) for path in OPTIONAL_IDS),
        *((path, False, False) for path in OPTIONAL_STRINGS),
    )
    for path, required, is_id in checks:
        problem = _string_problem(body, path, required=required, is_id=is_id)
        if problem:
            return problem
    for key in MEMBER_LISTS:
        problem = _members_problem(body.get(key), key)
        if problem:
            return problem
    for key in OBJECT_LISTS:
        problem = _objects_problem(body.get(key), key)
        if problem:
            return problem
    card_action = body.get("type") == "invoke" and body.get("name") == CARD_ACTION
    if card_action and not isinstance(body.get("value"), dict):
        return "value must be an object: the button sent no action"
    return None


def unhandled_invoke(kind: str | None, name: str | None) -> bool:
    """True for an invoke Vigil does not implement (answered 501 without running a turn)."""
    return kind == "invoke" and name not in HANDLED_INVOKES


def _string_problem(body: dict[str, Any], path: str, *, required: bool, is_id: bool) -> str | None:
    value: Any = body
    walked: list[str] = []
    for key in path.split("."):
        if walked and not isinstance(value, dict):
            return f"{'.'.join(walked)} must be an object"
        walked.append(key)
        value = value.get(key, _ABSENT) if isinstance(value, dict) else _ABSENT
        if value is _ABSENT or value is None:
            return f"{'.'.join(walked)} is missing" if required else None
    if not isinstance(value, str):
        return f"{path} must be a string"
    if required and not value:
        return f"{path} is empty"
    if is_id and _NOT_IN_AN_ID.search(value):
        return f"{path} holds a control character or a lone surrogate"
    if is_id and len(value) > MAX_ID:
        return f"{path} is longer than {MAX_ID} characters"
    return None


def _members_problem(members: Any, key: str) -> str | None:
    if members is None:
        return None
    if not isinstance(members, list):
        return f"{key} must be a list"
    for index, member in enumerate(members):
        if not isinstance(member, dict):
            return f"{key}[{index}] must be an object"
        member_id = member.get("id")
        if (
            not isinstance(member_id, str)
            or not member_id
            or len(member_id) > MAX_ID
            or _NOT_IN_AN_ID.search(member_id)
        ):
            return f"{key}[{index}].id must be a non-empty id"
    return None


def _objects_problem(items: Any, key: str) -> str | None:
    if items is None:
        return None
    if not isinstance(items, list):
        return f"{key} must be a list"
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{key}[{index}] must be an object"
    return None
