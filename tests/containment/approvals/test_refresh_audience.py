"""The card's refresh audience follows the people Vigil has seen: recomputed at each card update
and for `approvals show`; a manual refresh renders for any eligible clicker, listed or not.
"""

from __future__ import annotations

import time

import aiohttp
import pytest

from bot.app import build_services
from bot.containment.approvals import commands, records
from bot.containment.approvals.card import USER_IDS_OPTION, approval_card, current_audience, mri
from bot.containment.approvals.records import Approval
from bot.kernel.commands import CommandRegistry, Conversation
from bot.kernel.config import RawConfig
from bot.kernel.inbound import Click
from bot.kernel.pipeline import Pipeline
from bot.kernel.rbac import Actor, Role, RoleMap
from bot.kernel.user_directory import SeenUser, upsert
from tests.containment.approvals.approved import AUDIT_KEY

REQUESTER = "aaaaaaaa-0000-4000-8000-000000000101"
LATE = "aaaaaaaa-0000-4000-8000-000000000102"


@pytest.fixture
async def services(store):
    env = {"VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY, "VIGIL_ROLE_APPROVER": LATE}
    raw = RawConfig({}, env)
    async with aiohttp.ClientSession() as http:
        yield build_services(
            raw, store, http, CommandRegistry([commands.COMMANDS]), RoleMap.load(raw)
        )


async def pending(store) -> Approval:
    now = time.time()
    return await records.create(
        store,
        Approval(
            id="",
            action="block_domain",
            target="evil.example.com",
            reason="phishing kit",
            requester_id=REQUESTER,
            requester_name="Rob Responder",
            requested_at=now,
            expires_at=now + 1800,
            options={USER_IDS_OPTION: [mri(REQUESTER)]},
        ),
    )


def refresh_ids(card: dict) -> list[str]:
    return card["refresh"]["userIds"]


async def test_an_approver_seen_after_the_request_joins_the_refresh_list(store, services):
    approval = await pending(store)
    assert mri(LATE) not in refresh_ids(approval_card(approval, services=services))

    await upsert(store, SeenUser(aad_object_id=LATE, name="Lou Late"))
    now = await current_audience(services, approval)

    assert now[0] == mri(REQUESTER) and mri(LATE) in now
    assert mri(LATE) in refresh_ids(approval_card(approval, services=services, user_ids=now))


async def test_a_manual_refresh_renders_buttons_for_an_unlisted_approver(store, services):
    approval = await pending(store)
    late = Actor(LATE, "Lou Late", frozenset({Role.APPROVER}))
    nobody = Actor("aaaaaaaa-0000-4000-8000-000000000103", "No Body", frozenset())
    pipeline = Pipeline(services)
    where = Conversation(id="19:room@thread.tacv2", kind="channel")

    click = Click("approval.refresh", {"approvalId": approval.id})
    reply = await pipeline.action(click, late, where, "c1")
    text = str(reply.card)
    assert "approval.approve" in text and "approval.reject" in text

    refused = await pipeline.action(click, nobody, where, "c2")
    assert refused.card is None and refused.audit_result == "refused"


async def test_a_configured_approver_never_seen_is_in_the_first_cards_refresh_list(store):
    """Refresh ids come from the role configuration, not only from people Vigil has seen."""
    never_seen = "aaaaaaaa-0000-4000-8000-000000000104"
    env = {
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        "VIGIL_ROLE_APPROVER": never_seen,
        "VIGIL_ROLE_RESPONDER": REQUESTER,
    }
    raw = RawConfig({}, env)
    async with aiohttp.ClientSession() as http:
        services = build_services(
            raw, store, http, CommandRegistry([commands.COMMANDS]), RoleMap.load(raw)
        )
        requester = Actor(REQUESTER, "Rob Responder", frozenset({Role.RESPONDER}))
        where = Conversation(id="cli", kind="cli")
        reply = await Pipeline(services).message(
            'block-domain evil.example.com --reason "phishing kit"', requester, where, "m1"
        )
    ids = refresh_ids(reply.card)
    assert ids[0] == mri(REQUESTER)
    assert mri(never_seen) in ids
    assert ids.count(mri(REQUESTER)) == 1
