"""Approval records on both stores: ids from the day counter, JSON fields, and compare-and-set."""

from __future__ import annotations

import asyncio

import pytest

from bot.containment.approvals import records
from bot.containment.approvals.records import Approval, StaleApproval, State

NOON = 1_714_651_200.0  # 2024-05-02 12:00 UTC


def request(**overrides) -> Approval:
    values = dict(
        id="",
        action="isolate_endpoint",
        target="ws-fin-042",
        reason="beaconing",
        requester_id="aad-requester",
        requester_name="Rae Responder",
        requested_at=NOON,
        expires_at=NOON + 1800,
        options={"selective": True},
        evidence=[{"title": "Machine", "value": "ws-fin-042"}],
    )
    values.update(overrides)
    return Approval(**values)


async def test_ids_count_per_day_and_fields_round_trip(store) -> None:
    first = await records.create(store, request())
    second = await records.create(store, request(target="ws-fin-043"))
    assert (first.id, second.id) == ("AP-20240502-0001", "AP-20240502-0002")
    again = await records.get(store, first.id)
    assert again == first
    assert again.options == {"selective": True} and again.crown_jewel is False
    assert records.normalise_id("ap-20240502-1") == "AP-20240502-0001"
    assert records.normalise_id("AP-2024-1") is None
    with pytest.raises(records.ApprovalNotFound):
        await records.get(store, "AP-20240502-0099")


async def test_exactly_one_of_many_concurrent_transitions_wins(store) -> None:
    approval = await records.create(store, request())

    async def approve(n: int) -> bool:
        try:
            await records.transition(
                store,
                approval,
                expect_state=State.PENDING,
                state=State.APPROVED,
                approvals=[{"id": f"aad-{n}", "name": f"A{n}", "at": NOON}],
            )
            return True
        except StaleApproval:
            return False

    wins = await asyncio.gather(*(approve(n) for n in range(20)))
    assert wins.count(True) == 1
    stored = await records.get(store, approval.id)
    assert stored.state == "approved" and stored.version == 2 and len(stored.approvals) == 1


async def test_stale_state_and_immutable_fields_are_refused(store) -> None:
    approval = await records.create(store, request())
    rejected = await records.transition(store, approval, state=State.REJECTED)
    with pytest.raises(StaleApproval):
        await records.transition(store, rejected, expect_state=State.PENDING, state=State.APPROVED)
    with pytest.raises(ValueError):
        await records.transition(store, rejected, target="elsewhere")
    assert [a.id for a in await records.listing(store, states=(State.REJECTED,))] == [approval.id]
    assert await records.in_states(store, (State.PENDING,)) == []
