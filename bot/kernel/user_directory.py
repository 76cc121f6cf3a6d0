"""Users Vigil has seen: AAD object id, name, tenant, UPN and group ids when known, last seen."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bot.store import Store

# last_seen is refreshed at most this often, so recording every turn stays a no-op write.
LAST_SEEN_RESOLUTION = 60.0


@dataclass(frozen=True)
class SeenUser:
    aad_object_id: str
    name: str | None = None
    tenant_id: str | None = None
    upn: str | None = None
    # On upsert None means "keep what is stored"; get returns () when no groups were ever given.
    group_ids: tuple[str, ...] | None = None
    last_seen: float = 0.0


async def upsert(store: Store, user: SeenUser, now: float | None = None) -> None:
    """Record that `user` was seen; fields given as None keep what was known before."""
    if not user.aad_object_id:
        raise ValueError("a user needs an AAD object id")
    now = time.time() if now is None else now
    groups = None if user.group_ids is None else json.dumps(sorted(set(user.group_ids)))
    fields = json.dumps([user.name, user.tenant_id, user.upn, groups])
    if store.written.holds("users", user.aad_object_id, fields, now, LAST_SEEN_RESOLUTION):
        return  # this process wrote exactly this lately: the upsert below would write nothing
    written = await store.execute(
        "INSERT INTO users (aad_object_id, name, tenant_id, upn, group_ids, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (aad_object_id) DO UPDATE SET"
        " name = COALESCE(excluded.name, users.name),"
        " tenant_id = COALESCE(excluded.tenant_id, users.tenant_id),"
        " upn = COALESCE(excluded.upn, users.upn),"
        " group_ids = COALESCE(excluded.group_ids, users.group_ids),"
        " last_seen = excluded.last_seen"
        " WHERE users.last_seen < ?"
        " OR users.name IS DISTINCT FROM COALESCE(excluded.name, users.name)"
        " OR users.tenant_id IS DISTINCT FROM COALESCE(excluded.tenant_id, users.tenant_id)"
        " OR users.upn IS DISTINCT FROM COALESCE(excluded.upn, users.upn)"
        " OR users.group_ids IS DISTINCT FROM COALESCE(excluded.group_ids, users.group_ids)",
        user.aad_object_id,
        user.name,
        user.tenant_id,
        user.upn,
        groups,
        now,
        now - LAST_SEEN_RESOLUTION,
    )
    if written:
        # Only a real write: a row left alone may carry a last_seen up to a resolution old.
        store.written.stored("users", user.aad_object_id, fields, now)


async def remember(
    store: Store,
    *,
    aad_object_id: str,
    name: str | None = None,
    tenant_id: str | None = None,
    upn: str | None = None,
    group_ids: tuple[str, ...] | None = None,
    now: float | None = None,
) -> None:
    """`upsert` with keyword fields; empty strings count as unknown and keep what was known."""
    user = SeenUser(aad_object_id, name or None, tenant_id or None, upn or None, group_ids)
    await upsert(store, user, now)


async def get(store: Store, aad_object_id: str) -> SeenUser | None:
    row = await store.fetchone(
        "SELECT aad_object_id, name, tenant_id, upn, group_ids, last_seen FROM users"
        " WHERE aad_object_id = ?",
        aad_object_id,
    )
    if row is None:
        return None
    groups = () if row["group_ids"] is None else tuple(json.loads(row["group_ids"]))
    return SeenUser(
        aad_object_id=row["aad_object_id"],
        name=row["name"],
        tenant_id=row["tenant_id"],
        upn=row["upn"],
        group_ids=groups,
        last_seen=float(row["last_seen"]),
    )
