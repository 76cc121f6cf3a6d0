"""The approval card: rendered per viewer, posted where the request was made, updated in place.

The posted card is the read-only state (no buttons). Its `refresh.userIds` lists the people who
may act on it (approvers for the action, responders for rollback, the requester for Cancel);
Teams sends them an `approval.refresh` invoke and shows them the card rendered for them.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import quote

import cards
from bot.containment.approvals import policy
from bot.containment.approvals import records as approval_records
from bot.containment.approvals.presentation import card_data
from bot.containment.approvals.records import Approval, StaleApproval
from bot.containment.approvals.settings import approval_settings
from bot.containment.connector import Action
from bot.kernel.messenger import DeliveryFailed, Message
from bot.kernel.rbac import Actor, Role
from bot.kernel.services import Services
from cards.mentions import Person, with_mention_line

log = logging.getLogger(__name__)

MAX_REFRESH_USERS = 60  # Teams' limit for refresh.userIds
MAX_MENTIONS = 20  # a card that pings more people than this is noise
USER_IDS_OPTION = "refresh_user_ids"
MRI_PREFIX = "8:orgid:"


def mri(aad_object_id: str) -> str:
    """The id Teams lists in `refresh.userIds` for an Entra user."""
    return MRI_PREFIX + aad_object_id


def approval_card(
    approval: Approval,
    *,
    viewer: Actor | None = None,
    services: Services,
    user_ids: list[str] | None = None,
) -> dict[str, Any]:
    """The card as `viewer` sees it (None: the state everyone sees, no buttons).

    `user_ids`: the refresh audience now (see `current_audience`); else the one stored at request.
    """
    role = approval_settings(services).role_for(Action(approval.action))
    now = time.time()
    if user_ids is None:
        user_ids = approval.options.get(USER_IDS_OPTION)
    data = card_data(
        approval,
        role=role,
        user_ids=list(user_ids) if isinstance(user_ids, list) else [],
        can_decide=viewer is not None and policy.can_decide(approval, viewer, role, now),
        can_cancel=viewer is not None and policy.can_cancel(approval, viewer, now),
        can_rollback=viewer is not None and policy.can_rollback(approval, viewer),
    )
    # Redacted before render as well as on the way out: render cuts long text (the reason, the
    # evidence), and a secret or token cut short no longer matches.
    return cards.render("approval", services.redactor.redact_data(data))


async def update_posted_card(services: Services, approval: Approval) -> None:
    """Replace the posted card with the current state; a failure is logged, never raised."""
    if not (approval.activity_id and approval.conversation_id and services.messenger):
        return
    try:
        # Recomputed at each state change: approvers Vigil first saw after the request get
        # their buttons too.
        user_ids = await current_audience(services, approval)
        card = await posted_card(services, approval, user_ids)
        await services.messenger.update(
            approval.conversation_id, approval.activity_id, Message(card=card), paced=True
        )
    except DeliveryFailed as exc:
        log.warning("approval %s: card not updated: %s", approval.id, exc)
    except Exception:
        log.exception("approval %s: card not updated", approval.id)


async def post_card(services: Services, approval: Approval, conversation_id: str) -> Approval:
    """Post the read-only card and remember where it is; raises DeliveryFailed if not posted."""
    if services.messenger is None:
        raise DeliveryFailed("Vigil cannot post to Teams from here")
    card = await posted_card(services, approval, approval.options.get(USER_IDS_OPTION))
    activity_id = await services.messenger.post(conversation_id, Message(card=card), paced=True)
    for _ in range(5):
        try:
            return await approval_records.transition(
                services.store,
                approval,
                conversation_id=conversation_id,
                activity_id=activity_id,
            )
        except StaleApproval:
            # Someone clicked (or the expiry job ran) between the post and this write.
            approval = await approval_records.get(services.store, approval.id)
    return approval


async def posted_card(
    services: Services, approval: Approval, user_ids: list[str] | None
) -> dict[str, Any]:
    """The state everyone sees, with the approvers Vigil knows by name mentioned (notified)."""
    card = approval_card(approval, services=services, user_ids=user_ids)
    role = approval_settings(services).role_for(Action(approval.action))
    return with_mention_line(
        card, "Approvers", await approvers_to_mention(services, approval, role)
    )


async def approvers_to_mention(services: Services, approval: Approval, role: Role) -> list[Person]:
    """Up to MAX_MENTIONS people who may approve, other than the requester, whose names Vigil
    knows (Teams shows the name in the tag): configured members first, then group members."""
    rows = await services.store.fetchall(
        "SELECT aad_object_id, name, group_ids FROM users WHERE name IS NOT NULL AND name <> ''"
        " ORDER BY last_seen DESC LIMIT 2000"
    )
    configured = {
        principal
        for principal, roles in services.roles.by_principal.items()
        if Actor(principal, "", roles).has(role)
    }
    direct, through_groups = [], []
    for row in rows:
        object_id = row["aad_object_id"]
        if object_id.lower() == approval.requester_id.lower():
            continue
        if object_id.lower() in configured:
            direct.append(Person(object_id, row["name"]))
        elif Actor(
            object_id, "", services.roles.roles_for(object_id, _groups(row["group_ids"]))
        ).has(role):
            through_groups.append(Person(object_id, row["name"]))
    return [*direct, *through_groups][:MAX_MENTIONS]


def message_link(channel_id: str, message_id: str | None) -> str:
    """A Teams deep link to a channel message ("" when the ids do not look like Teams ids)."""
    channel = channel_id.split(";", 1)[0]
    if not message_id or not channel.startswith("19:") or not message_id.isdigit():
        return ""
    return f"https://teams.microsoft.com/l/message/{quote(channel, safe='')}/{message_id}"


async def current_audience(services: Services, approval: Approval) -> list[str]:
    """Who may act on the card now (the people Vigil has seen so far)."""
    return await audience(
        services, approval, approval_settings(services).role_for(Action(approval.action))
    )


async def audience(services: Services, approval: Approval, role: Role) -> list[str]:
    """MRIs of who may act on the card: the requester, then approvers, then responders.

    Approvers and responders are the principals configured for those roles (an approver never
    seen by Vigil gets buttons on the first card; a group id listed here matches no user and is
    harmless), then the people Vigil has seen who hold the role through a group.
    """
    rows = await services.store.fetchall(
        "SELECT aad_object_id, group_ids FROM users ORDER BY last_seen DESC LIMIT 2000"
    )
    configured = sorted(services.roles.by_principal.items())
    seen = [
        (
            row["aad_object_id"],
            services.roles.roles_for(row["aad_object_id"], _groups(row["group_ids"])),
        )
        for row in rows
    ]
    approvers: list[str] = []
    responders: list[str] = []
    for object_id, roles in [*configured, *seen]:
        holder = Actor(object_id, "", roles)
        if holder.has(role):
            approvers.append(mri(object_id))
        elif holder.has(Role.RESPONDER):
            responders.append(mri(object_id))
    listed = dict.fromkeys([mri(approval.requester_id), *approvers, *responders])
    return list(listed)[:MAX_REFRESH_USERS]


def _groups(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        parsed = json.loads(value)
    except ValueError:
        return ()
    return tuple(str(g) for g in parsed) if isinstance(parsed, list) else ()
