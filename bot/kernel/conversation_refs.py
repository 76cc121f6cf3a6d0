"""Bot Framework conversation references, persisted so proactive messages survive a restart.

References are plain dicts (what `TurnContext.get_conversation_reference(activity).serialize()`
gives), keyed by conversation id. A channel thread id (`19:...@thread.tacv2;messageid=123`) is
stored under the channel's id, so a proactive message posts to the channel, not into an old thread.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from bot.store import Store, Transaction

# How long an unchanged reference goes without its no-op upsert. A reference this process has
# not stored is always written; the bound is for a second instance storing another one meanwhile.
MEMO_SECONDS = 60.0
_TEAM_COLUMNS = ("team_id", "team_name", "aad_group_id", "channel_id", "channel_name")
_COLUMNS = (
    "conversation_id, reference, conversation_type, tenant_id, team_id, team_name,"
    " aad_group_id, channel_id, channel_name, updated_at"
)


@dataclass(frozen=True)
class SavedConversation:
    """A stored reference plus the Teams team and channel it belongs to (None outside teams)."""

    conversation_id: str
    reference: dict[str, Any]
    conversation_type: str | None
    tenant_id: str | None
    team_id: str | None
    team_name: str | None
    aad_group_id: str | None
    channel_id: str | None
    channel_name: str | None
    updated_at: float


def base_conversation_id(conversation_id: str) -> str:
    """The conversation id without a `;messageid=...` thread suffix."""
    return conversation_id.split(";", 1)[0]


def team_info(channel_data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `team` argument of `save` from a Teams activity's channelData, or None outside a team."""
    if not isinstance(channel_data, dict) or not isinstance(channel_data.get("team"), dict):
        return None
    team = dict(channel_data["team"])
    if isinstance(channel_data.get("channel"), dict):
        team["channel"] = dict(channel_data["channel"])
    return team


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _row(ref: dict[str, Any], team: dict[str, Any] | None) -> tuple[str, dict[str, Any], dict]:
    conversation = ref.get("conversation")
    if not isinstance(conversation, dict) or not _text(conversation.get("id")):
        raise ValueError("a conversation reference needs conversation.id")
    conversation_id = base_conversation_id(conversation["id"])
    ref = {**ref, "conversation": {**conversation, "id": conversation_id}}
    ref.pop("activityId", None)  # changes every turn and is not needed to post proactively
    team = team if isinstance(team, dict) else {}
    if "team_id" in team:  # the flat form: team_id, team_name, aad_group_id, channel_id/_name
        columns = {name: _text(team.get(name)) for name in _TEAM_COLUMNS}
    else:  # Teams channelData.team plus "channel", as team_info() builds it
        channel = team.get("channel") if isinstance(team.get("channel"), dict) else {}
        columns = {
            "team_id": _text(team.get("id")),
            "team_name": _text(team.get("name")),
            "aad_group_id": _text(team.get("aadGroupId")),
            "channel_id": _text(channel.get("id")),
            "channel_name": _text(channel.get("name")),
        }
    columns = {
        "conversation_type": _text(conversation.get("conversationType")),
        "tenant_id": _text(conversation.get("tenantId")),
        **columns,
    }
    return conversation_id, ref, columns


async def save(store: Store, ref: dict[str, Any], team: dict[str, Any] | None = None) -> bool:
    """Store `ref` and its team; True when it changed.

    `team` is either flat (team_id, team_name, aad_group_id, channel_id, channel_name) or the
    Teams channelData shape that `team_info` builds ({"id", "name", "aadGroupId", "channel"}).

    Cheap on every turn: the upsert writes only when the digest differs from the stored one,
    and is not even sent when this process stored the same digest less than MEMO_SECONDS ago.
    """
    conversation_id, ref, columns = _row(ref, team)
    reference = json.dumps(ref, sort_keys=True, separators=(",", ":"))
    digest_source = json.dumps([reference, columns], sort_keys=True)
    digest = hashlib.sha256(digest_source.encode()).hexdigest()
    now = time.time()
    if store.written.holds("conversation_refs", conversation_id, digest, now, MEMO_SECONDS):
        return False
    changed = await store.execute(
        "INSERT INTO conversation_refs (conversation_id, reference, digest, conversation_type,"
        " tenant_id, team_id, team_name, aad_group_id, channel_id, channel_name, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (conversation_id) DO UPDATE SET reference = excluded.reference,"
        " digest = excluded.digest, conversation_type = excluded.conversation_type,"
        " tenant_id = excluded.tenant_id,"
        # A later turn without team info (e.g. a message) must not erase what was learnt.
        " team_id = COALESCE(excluded.team_id, conversation_refs.team_id),"
        " team_name = COALESCE(excluded.team_name, conversation_refs.team_name),"
        " aad_group_id = COALESCE(excluded.aad_group_id, conversation_refs.aad_group_id),"
        " channel_id = COALESCE(excluded.channel_id, conversation_refs.channel_id),"
        " channel_name = COALESCE(excluded.channel_name, conversation_refs.channel_name),"
        " updated_at = excluded.updated_at"
        " WHERE conversation_refs.digest <> excluded.digest",
        conversation_id,
        reference,
        digest,
        *columns.values(),
        now,
    )
    # Written or found identical: either way the row holds this digest now.
    store.written.stored("conversation_refs", conversation_id, digest, now)
    return changed == 1


def _saved(row: dict[str, Any]) -> SavedConversation:
    """A row of `_COLUMNS`, which are SavedConversation's fields."""
    values = dict(row)
    values["reference"] = json.loads(values["reference"])
    values["updated_at"] = float(values["updated_at"])
    return SavedConversation(**values)


async def get(store: Store, conversation_id: str) -> dict[str, Any] | None:
    """The stored reference dict for a conversation (a thread id maps to its channel)."""
    saved = await get_saved(store, conversation_id)
    return None if saved is None else saved.reference


async def get_saved(store: Store, conversation_id: str) -> SavedConversation | None:
    """The stored reference with its team and channel."""
    row = await store.fetchone(
        f"SELECT {_COLUMNS} FROM conversation_refs WHERE conversation_id = ?",  # noqa: S608 - constant
        base_conversation_id(conversation_id),
    )
    return None if row is None else _saved(row)


async def find_channel(
    store: Store | Transaction, channel_id_or_name: str, team_id: str | None = None
) -> SavedConversation | None:
    """The channel with this id, or else this name (case-insensitive), most recently seen first.

    Teams leaves the General channel's name out of channelData, so "General" matches a channel
    whose id equals its team id.
    """
    rows = await list_for_team(store, team_id) if team_id else await _team_rows(store)
    wanted = channel_id_or_name.strip()
    for saved in rows:
        if saved.channel_id == wanted or saved.conversation_id == wanted:
            return saved
    for saved in rows:
        name = saved.channel_name
        if name is None and saved.channel_id and saved.channel_id == saved.team_id:
            name = "General"
        if name is not None and name.casefold() == wanted.casefold():
            return saved
    return None


async def _team_rows(store: Store | Transaction) -> list[SavedConversation]:
    rows = await store.fetchall(
        f"SELECT {_COLUMNS} FROM conversation_refs WHERE team_id IS NOT NULL"  # noqa: S608 - constant
        " ORDER BY updated_at DESC"
    )
    return [_saved(row) for row in rows]


async def list_for_team(
    store: Store | Transaction, team_id_or_aad_group_id: str
) -> list[SavedConversation]:
    """The team's stored channel conversations, most recently seen first."""
    rows = await store.fetchall(
        f"SELECT {_COLUMNS} FROM conversation_refs"  # noqa: S608 - constant
        " WHERE team_id = ? OR aad_group_id = ? ORDER BY updated_at DESC",
        team_id_or_aad_group_id,
        team_id_or_aad_group_id,
    )
    return [_saved(row) for row in rows]
