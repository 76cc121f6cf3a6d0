"""Who and where in the local Teams channel: users and conversations with Teams-shaped ids.

Ids are derived from names with UUID5, so the same user or team name always maps to the same
ids across runs (conversation references saved by the bot stay valid after a restart).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

LOCAL_TENANT = "5f1d7a52-3c1e-4f0a-9b7e-0d5c1a7e2b11"
_NAMESPACE = uuid.UUID("8d5b0e2a-6f4c-4c1d-9a57-3b1f0e6d2c44")
CONVERSATION_KINDS = ("personal", "channel", "groupChat")


def stable_guid(*parts: str) -> str:
    """A GUID derived from names, the same on every run."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))


def _thread_id(kind: str, *parts: str) -> str:
    return uuid.uuid5(_NAMESPACE, kind + "\x1f" + "\x1f".join(parts)).hex


@dataclass(frozen=True)
class ChannelUser:
    """A Teams user: Entra object id, display name, tenant and (optional) group ids."""

    aad_object_id: str
    name: str
    tenant_id: str = LOCAL_TENANT
    groups: tuple[str, ...] = ()

    @classmethod
    def named(cls, name: str, *, groups: tuple[str, ...] = (), tenant_id: str = LOCAL_TENANT):
        """A user whose object id is derived from the name."""
        return cls(stable_guid("user", tenant_id, name), name, tenant_id, tuple(groups))

    @property
    def teams_id(self) -> str:
        """The `29:` id Teams uses in `from` and member lists."""
        return "29:1" + uuid.UUID(self.aad_object_id).hex

    @property
    def mri(self) -> str:
        """The id Adaptive Card `refresh.userIds` lists (`8:orgid:<object id>`)."""
        return "8:orgid:" + self.aad_object_id

    def account(self) -> dict[str, Any]:
        return {"id": self.teams_id, "name": self.name, "aadObjectId": self.aad_object_id}

    def member(self) -> dict[str, Any]:
        """The TeamsChannelAccount shape of GET v3/conversations/{id}/members."""
        given, _, surname = self.name.partition(" ")
        login = "".join(ch for ch in self.name.lower() if ch.isalnum() or ch == ".") or "user"
        return {
            "id": self.teams_id,
            "name": self.name,
            "aadObjectId": self.aad_object_id,
            "objectId": self.aad_object_id,
            "givenName": given,
            "surname": surname or None,
            "email": f"{login}@vigil.local",
            "userPrincipalName": f"{login}@vigil.local",
            "tenantId": self.tenant_id,
            "userRole": "user",
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "aad_object_id": self.aad_object_id,
            "name": self.name,
            "tenant_id": self.tenant_id,
            "groups": list(self.groups),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ChannelUser:
        """Parse the control API form; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("user must be an object")
        aad = _text(data, "aad_object_id")
        try:
            uuid.UUID(aad)
        except ValueError:
            raise ValueError("user.aad_object_id must be a GUID") from None
        groups = data.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ValueError("user.groups must be a list of strings")
        tenant = data.get("tenant_id", LOCAL_TENANT)
        if not isinstance(tenant, str) or not tenant:
            raise ValueError("user.tenant_id must be a string")
        return cls(aad, _text(data, "name"), tenant, tuple(groups))


@dataclass(frozen=True)
class ChannelConversation:
    """A personal chat, a team channel or a group chat, with the ids Teams would use."""

    kind: str
    id: str
    tenant_id: str = LOCAL_TENANT
    name: str | None = None
    team_id: str | None = None
    team_aad_group_id: str | None = None
    team_name: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None

    @classmethod
    def personal(cls, user: ChannelUser) -> ChannelConversation:
        """The 1:1 chat between `user` and the bot."""
        return cls("personal", "a:1" + _thread_id("personal", user.aad_object_id), user.tenant_id)

    @classmethod
    def channel(
        cls, team_name: str, channel_name: str = "General", *, tenant_id: str = LOCAL_TENANT
    ) -> ChannelConversation:
        """A channel of a team; as in Teams, the General channel's id is the team id."""
        team_id = f"19:{_thread_id('team', tenant_id, team_name)}@thread.tacv2"
        if channel_name == "General":
            channel_id = team_id
        else:
            channel_id = (
                f"19:{_thread_id('channel', tenant_id, team_name, channel_name)}@thread.tacv2"
            )
        return cls(
            "channel",
            channel_id,
            tenant_id,
            name=channel_name,
            team_id=team_id,
            team_aad_group_id=stable_guid("team", tenant_id, team_name),
            team_name=team_name,
            channel_id=channel_id,
            channel_name=channel_name,
        )

    @classmethod
    def group_chat(cls, topic: str, *, tenant_id: str = LOCAL_TENANT) -> ChannelConversation:
        """A group chat with a topic name."""
        return cls(
            "groupChat", f"19:{_thread_id('chat', tenant_id, topic)}@thread.v2", tenant_id, topic
        )

    @property
    def is_group(self) -> bool:
        return self.kind != "personal"

    def account(self) -> dict[str, Any]:
        """The `conversation` property of an activity."""
        result: dict[str, Any] = {
            "id": self.id,
            "conversationType": self.kind,
            "tenantId": self.tenant_id,
            "isGroup": self.is_group,
        }
        if self.kind == "groupChat" and self.name:
            result["name"] = self.name
        return result

    def channel_data(self) -> dict[str, Any]:
        """The Teams `channelData` of an activity in this conversation."""
        data: dict[str, Any] = {"tenant": {"id": self.tenant_id}}
        if self.kind == "channel":
            data["teamsTeamId"] = self.team_id
            data["teamsChannelId"] = self.channel_id
            data["team"] = {
                "id": self.team_id,
                "name": self.team_name,
                "aadGroupId": self.team_aad_group_id,
            }
            data["channel"] = {"id": self.channel_id, "name": self.channel_name}
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "tenant_id": self.tenant_id,
            "name": self.name,
            "team_name": self.team_name,
            "channel_name": self.channel_name,
        }

    @classmethod
    def from_dict(cls, data: Any, user: ChannelUser | None = None) -> ChannelConversation:
        """Rebuild from names (ids are derived again, never taken from the caller)."""
        if not isinstance(data, dict):
            raise ValueError("conversation must be an object")
        kind = data.get("kind")
        tenant = data.get("tenant_id", LOCAL_TENANT)
        if not isinstance(tenant, str) or not tenant:
            raise ValueError("conversation.tenant_id must be a string")
        if kind == "personal":
            if user is None:
                raise ValueError("a personal conversation needs a user")
            return cls.personal(user)
        if kind == "channel":
            channel_name = data.get("channel_name") or "General"
            if not isinstance(channel_name, str):
                raise ValueError("conversation.channel_name must be a string")
            return cls.channel(_text(data, "team_name"), channel_name, tenant_id=tenant)
        if kind == "groupChat":
            return cls.group_chat(_text(data, "name"), tenant_id=tenant)
        raise ValueError(f"conversation.kind must be one of {', '.join(CONVERSATION_KINDS)}")


def _text(data: dict[str, Any], key: str, limit: int = 200) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    if len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise ValueError(f"{key} must be at most {limit} printable characters")
    return value
