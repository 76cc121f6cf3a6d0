"""Defender keeps one indicator per value, shared by every approval that blocks it: a rollback or
lapse of one approval leaves it for the others, the last one deletes it, and a later short block
never shortens an earlier long one. Against the Defender for Endpoint fake, on both stores.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.containment import execution
from bot.containment.approvals import records
from bot.containment.approvals.presentation import rollback_text
from bot.containment.approvals.records import State
from bot.containment.engine import engine
from bot.containment.lease import Lease
from bot.containment.mde_shapes import iso_utc
from bot.containment.recovery import recover
from bot.incidents import records as incidents
from bot.incidents.timeline import entries
from bot.kernel.rbac import Actor, Role
from tests.containment.approvals.approved import (
    REQUESTER,
    approved,
    audit_of,
    fast_env,
    services_for,
)
from tests.fakes.mde import MdeFake

RESPONDER = Actor(
    "aaaaaaaa-0000-4000-8000-00000000000a", "Rae Responder", frozenset({Role.RESPONDER})
)
DAY = 86400


@pytest.fixture
async def fake(tmp_path):
    started = await MdeFake().start(tmp_path)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def tls_http(fake):
    async with fake.client_session() as session:
        yield session


@pytest.fixture
def make(store, tls_http, fake):
    def services():
        env = fast_env(
            **fake.vigil_env(),
            VIGIL_CA_BUNDLE=fake.ca_path,
            VIGIL_CONTAINMENT_BLOCK_CONNECTOR="mde",
            VIGIL_MDE_TIMEOUT="2",
        )
        return services_for(store, tls_http, env)

    return services


async def blocked(store, services, action: str, target: str, expires: float | None = None, **kw):
    options = {} if expires is None else {"block_expires_seconds": expires}
    approval = await approved(store, action, target, options=options, **kw)
    done = await execution.execute(services, approval)
    assert done.state == State.SUCCEEDED, done.result
    return done


def deletes(fake: MdeFake) -> int:
    return len([call for call in fake.requests(method="DELETE") if "/indicators/" in call.path])


async def test_the_first_rollback_keeps_the_shared_indicator_and_the_last_deletes_it(
    store, make, fake
):
    services = make()
    incident = await incidents.create(
        store,
        title="Beaconing",
        severity=incidents.Severity.HIGH,
        opened_by_id=REQUESTER[0],
        opened_by_name=REQUESTER[1],
    )
    first = await blocked(
        store, services, "block_domain", "evil.example.com", incident_id=incident.id
    )
    second = await blocked(store, services, "block_domain", "evil.example.com")
    [indicator] = fake.indicators.values()
    assert first.external_id == second.external_id == indicator["id"]

    undone = await execution.rollback(services, first, RESPONDER)

    assert undone.rollback_state == "succeeded", undone.rollback_result
    assert indicator["id"] in fake.indicators and deletes(fake) == 0
    assert second.id in undone.rollback_result and "stays in Defender" in undone.rollback_result
    assert second.id in rollback_text(undone)  # what the card shows
    audit = await audit_of(store, first.id)
    assert audit[-1]["stage"] == "rollback succeeded" and second.id in audit[-1]["detail"]
    timeline = [e.text for e in await entries(store, incident.id) if e.kind == "containment"]
    assert "stays in Defender" in timeline[-1] and second.id in timeline[-1]

    last = await execution.rollback(services, second, RESPONDER)

    assert last.rollback_state == "succeeded", last.rollback_result
    assert fake.indicators == {} and deletes(fake) == 1
    assert last.rollback_result == f"indicator {indicator['id']} deleted"


async def test_a_later_short_block_does_not_shorten_an_earlier_long_one(store, make, fake):
    services = make()
    week = await blocked(store, services, "block_domain", "long.example.com", 7 * DAY)
    hour = await blocked(store, services, "block_domain", "long.example.com", 3600)

    [indicator] = fake.indicators.values()
    assert indicator["expirationTime"] == iso_utc(week.lapse_at)
    assert hour.lapse_at == hour.send_started_at + 3600  # its own lifetime, for the lapse job


async def test_a_later_short_block_keeps_an_earlier_block_without_expiry(store, make, fake):
    services = make()
    await blocked(store, services, "block_ip", "203.0.113.7")
    await blocked(store, services, "block_ip", "203.0.113.7", 3600)

    [indicator] = fake.indicators.values()
    assert indicator["expirationTime"] is None


async def test_a_rolled_back_block_no_longer_holds_the_expiry(store, make, fake):
    services = make()
    week = await blocked(store, services, "block_domain", "gone.example.com", 7 * DAY)
    await execution.rollback(services, week, RESPONDER)
    hour = await blocked(store, services, "block_domain", "gone.example.com", 3600)

    [indicator] = fake.indicators.values()
    assert indicator["expirationTime"] == iso_utc(hour.lapse_at)


async def test_the_lapse_of_one_of_two_keeps_the_indicator(store, make, fake):
    services = make()
    standing = await blocked(store, services, "block_domain", "lapse.example.com")
    short = await blocked(store, services, "block_domain", "lapse.example.com", 0.3)
    await asyncio.sleep(max(0.0, short.lapse_at - time.time()) + 0.05)

    await recover(services)
    await engine(services).idle()

    lapsed = await records.get(store, short.id)
    assert lapsed.rollback_state == "succeeded", lapsed.rollback_result
    assert lapsed.rollback_by_name == "Vigil (block expired)"
    assert lapsed.rollback_result.startswith("expired block removed")
    assert standing.id in lapsed.rollback_result
    assert len(fake.indicators) == 1 and deletes(fake) == 0
    assert (await records.get(store, standing.id)).rollback_state == ""


@pytest.mark.parametrize(
    ("action", "typed", "same"),
    [
        ("block_domain", "Evil.Example.COM.", "evil.example.com"),
        ("block_domain", "BÜCHER.example", "xn--bcher-kva.example"),
        ("block_ip", "2001:DB8:0:0::1", "2001:db8::1"),
        ("block_hash", "AB" * 32, "ab" * 32),
    ],
)
async def test_odd_spellings_of_one_value_share_the_indicator(
    store, make, fake, action, typed, same
):
    services = make()
    first = await blocked(store, services, action, typed)
    second = await blocked(store, services, action, same)
    assert len(fake.indicators) == 1

    undone = await execution.rollback(services, first, RESPONDER)

    assert second.id in undone.rollback_result
    assert len(fake.indicators) == 1 and deletes(fake) == 0
    await execution.rollback(services, second, RESPONDER)
    assert fake.indicators == {}


async def test_different_values_are_not_shared(store, make, fake):
    services = make()
    parent = await blocked(store, services, "block_domain", "evil.example.com")
    await blocked(store, services, "block_domain", "sub.evil.example.com")

    undone = await execution.rollback(services, parent, RESPONDER)

    assert undone.rollback_result.endswith("deleted"), undone.rollback_result
    assert [i["indicatorValue"] for i in fake.indicators.values()] == ["sub.evil.example.com"]


async def test_two_instances_rolling_back_the_last_two_shares_never_both_keep(store, make, fake):
    first, second = make(), make()
    for round_ in range(3):
        target = f"race{round_}.example.com"
        one = await blocked(store, first, "block_domain", target)
        two = await blocked(store, second, "block_domain", target)

        done = await asyncio.gather(
            execution.rollback(first, one, RESPONDER),
            execution.rollback(second, two, RESPONDER),
        )

        assert [d.rollback_state for d in done] == ["succeeded", "succeeded"]
        assert not any(i["indicatorValue"] == target for i in fake.indicators.values())


async def test_a_rollback_resumed_after_a_crash_still_keeps_a_shared_indicator(store, make, fake):
    services = make()
    first = await blocked(store, services, "block_domain", "crash.example.com")
    second = await blocked(store, services, "block_domain", "crash.example.com")
    # The instance that won the Rollback click died before it did anything.
    await Lease.claim(
        store,
        first,
        "crashed-instance",
        0.01,
        expect_state=State.SUCCEEDED,
        rollback=True,
        rollback_state="executing",
        rollback_by_name=RESPONDER.name,
        rollback_at=time.time(),
        rollback_result="rolling back",
    )
    await asyncio.sleep(0.05)

    await recover(services)
    await engine(services).idle()

    resumed = await records.get(store, first.id)
    assert resumed.rollback_state == "succeeded", resumed.rollback_result
    assert second.id in resumed.rollback_result
    assert len(fake.indicators) == 1 and deletes(fake) == 0
