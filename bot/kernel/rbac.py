"""Roles: who may run what, from configuration mapping Entra object and group ids to roles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.kernel.config import ConfigError, RawConfig, Setting, parse_list


class Role(StrEnum):
    ANALYST = "analyst"
    RESPONDER = "responder"
    APPROVER = "approver"
    COMMANDER = "commander"
    ADMIN = "admin"


# Each role includes analyst work; admin includes everything.
IMPLIED: dict[Role, frozenset[Role]] = {
    Role.ANALYST: frozenset({Role.ANALYST}),
    Role.RESPONDER: frozenset({Role.RESPONDER, Role.ANALYST}),
    Role.APPROVER: frozenset({Role.APPROVER, Role.ANALYST}),
    Role.COMMANDER: frozenset({Role.COMMANDER, Role.ANALYST}),
    Role.ADMIN: frozenset(Role),
}

ROLE_SETTINGS = {
    role: Setting(f"roles.{role.value}", f"VIGIL_ROLE_{role.name}", parse_list, ()) for role in Role
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: an Entra user (or a system origin such as the CLI or a webhook)."""

    aad_object_id: str
    name: str
    roles: frozenset[Role] = frozenset()
    tenant_id: str = ""
    groups: tuple[str, ...] = ()

    def has(self, role: Role) -> bool:
        return any(role in IMPLIED[held] for held in self.roles)


@dataclass(frozen=True)
class RoleMap:
    """Object or group id -> roles. Groups come from the token's `groups` claim when present."""

    by_principal: Mapping[str, frozenset[Role]] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: RawConfig) -> RoleMap:
        mapping: dict[str, set[Role]] = {}
        for role, setting in ROLE_SETTINGS.items():
            for principal in raw.get(setting):
                if not principal.replace("-", "").isalnum():
                    raise ConfigError(
                        f"{setting.key} (env {setting.env}): {principal!r} is not an Entra "
                        "object or group id"
                    )
                mapping.setdefault(principal.lower(), set()).add(role)
        return cls({key: frozenset(value) for key, value in mapping.items()})

    def roles_for(self, object_id: str, groups: Iterable[str] = ()) -> frozenset[Role]:
        roles: set[Role] = set(self.by_principal.get(object_id.lower(), ()))
        for group in groups:
            roles |= self.by_principal.get(group.lower(), frozenset())
        return frozenset(roles)

    def with_grant(self, principal: str, role: Role) -> RoleMap:
        """A copy with one more grant (used by `vigil dev` for its demo admin)."""
        merged = dict(self.by_principal)
        merged[principal.lower()] = merged.get(principal.lower(), frozenset()) | {role}
        return RoleMap(merged)
