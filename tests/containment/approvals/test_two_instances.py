"""Two `vigil serve` processes on one PostgreSQL: concurrent Approve clicks execute once, a lease
held by a live instance is not taken over, and a killed instance's work is finished by the other.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bot.audit.log import tail
from bot.containment.approvals import records
from bot.devchannel.channel import ChannelConversation, ChannelUser
from bot.store import open_store
from tests.bot.harness import card_of, card_text
from tests.containment.approvals.serve_pair import APP_ID, APP_PASSWORD, ServePair
from tests.fakes.mde import MdeFake

SOC = ChannelConversation.channel("SOC", "Containment")
REQUESTER = ChannelUser.named("Rita Requester")
APPROVERS = [ChannelUser.named(f"Approver {n:03d}") for n in range(100)]
HOST = "ws-fin-042.corp.example.com"


def pair_env(tmp_path: Path, db_url: str, **extra: str) -> dict[str, str]:
    return {
        "VIGIL_DB_URL": db_url,
        "VIGIL_ROLE_RESPONDER": REQUESTER.aad_object_id,
        "VIGIL_ROLE_APPROVER": ",".join(user.aad_object_id for user in APPROVERS),
        "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "rpz",
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "none",
        "VIGIL_RPZ_FILE": str(tmp_path / "rpz" / "vigil.rpz.zone"),
        "VIGIL_CONTAINMENT_POLL_INITIAL": "0.05",
        "VIGIL_CONTAINMENT_POLL_MAX": "0.2",
        "VIGIL_CONTAINMENT_RECOVERY_INTERVAL": "0.3",
        **extra,
    }


async def mde_fake(tmp_path: Path) -> MdeFake:
    # The bot's own Entra app is the one Defender trusts (VIGIL_APP_ID serves both).
    fake = await MdeFake(app_id=APP_ID, app_password=APP_PASSWORD).start(tmp_path)
    fake.add_machine(HOST)
    return fake


def mde_env(fake: MdeFake) -> dict[str, str]:
    return {
        "VIGIL_MDE_URL": fake.url,
        "VIGIL_AAD_AUTHORITY": fake.authority,
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "mde",
        "VIGIL_MDE_TIMEOUT": "1",
    }


async def request_card(pair: ServePair, text: str) -> tuple[str, str]:
    """The requester asks in the channel; (approval id, activity id of the posted card)."""
    since = pair.channel.last_seq
    assert await pair.channel.send_message(REQUESTER, SOC, text) in (200, 201)
    call = await pair.channel.wait_for(
        lambda c: c.kind in ("send", "reply") and "approval.refresh" in json.dumps(c.activity),
        timeout=30,
        since=since,
    )
    card = card_of(call)
    return card["refresh"]["action"]["data"]["approvalId"], call.activity_id or ""


async def final_state(db_url: str, approval_id: str, limit: float = 60) -> records.Approval:
    store = await open_store(db_url)
    try:
        deadline = time.monotonic() + limit
        while True:
            approval = await records.get(store, approval_id)
            if records.State(approval.state).is_final or time.monotonic() > deadline:
                return approval
            await asyncio.sleep(0.1)
    finally:
        await store.close()


async def execution_stages(db_url: str, approval_id: str) -> list[str]:
    store = await open_store(db_url)
    try:
        stages = []
        for record in await tail(store, 10_000):
            parameters = json.loads(record.parameters)
            if (
                record.action == "containment.execute"
                and parameters.get("approval_id") == approval_id
            ):
                stages.append(parameters["stage"])
        return stages
    finally:
        await store.close()


def zone_owners(tmp_path: Path) -> list[str]:
    path = tmp_path / "rpz" / "vigil.rpz.zone"
    return [line.split(" ", 1)[0] for line in path.read_text().splitlines() if " CNAME ." in line]


async def test_100_concurrent_approves_on_two_instances_execute_once(tmp_path, pg_url):
    pair = await ServePair.start(tmp_path, pair_env(tmp_path, pg_url))
    try:
        approval_id, activity_id = await request_card(
            pair, "block-domain c2.evil.example --reason 'beaconing from ws-fin-042'"
        )
        since = pair.channel.last_seq
        answers = await asyncio.gather(
            *(
                pair.invoke(
                    n % 2,
                    user,
                    SOC,
                    verb="approval.approve",
                    data={"approvalId": approval_id},
                    reply_to_id=activity_id,
                )
                for n, user in enumerate(APPROVERS)
            )
        )
        assert [status for status, _, _ in answers] == [200] * 100
        final = await final_state(pg_url, approval_id)
        assert final.state == "succeeded", (final.state, final.result, pair.logs()[-3000:])
        # One approver won the decision; the other 99 were told it was no longer pending.
        winners = [body for _, body, _ in answers if body.get("type", "").endswith("adaptive")]
        assert len(winners) == 1, [body.get("value") for _, body, _ in answers][:5]
        assert len(final.approvals) == 1
        assert await execution_stages(pg_url, approval_id) == ["executing", "succeeded"]
        assert zone_owners(tmp_path) == ["*.c2.evil.example", "c2.evil.example"]
        # The card ends in the final state, updated in place.
        await pair.channel.wait_for(
            lambda c: (
                c.kind == "update"
                and "Done" in card_text(c.activity)
                and "blocked in RPZ" in card_text(c.activity)
            ),
            timeout=30,
            since=since,
        )
    finally:
        await pair.close()


async def test_100_concurrent_isolate_approves_reach_defender_once(tmp_path, pg_url):
    fake = await mde_fake(tmp_path)
    pair = None
    try:
        env = pair_env(tmp_path, pg_url, **mde_env(fake))
        pair = await ServePair.start(tmp_path, env, extra_ca=(fake.ca_path,))
        approval_id, activity_id = await request_card(
            pair, f"isolate-endpoint {HOST} --reason 'beaconing to evil.example.com'"
        )
        answers = await asyncio.gather(
            *(
                pair.invoke(
                    n % 2,
                    user,
                    SOC,
                    verb="approval.approve",
                    data={"approvalId": approval_id},
                    reply_to_id=activity_id,
                )
                for n, user in enumerate(APPROVERS)
            )
        )
        assert [status for status, _, _ in answers] == [200] * 100
        final = await final_state(pg_url, approval_id)
        assert final.state == "succeeded", (final.state, final.result, pair.logs()[-3000:])
        assert len(fake.requests("/isolate", "POST")) == 1
        assert [a["type"] for a in fake.actions.values()] == ["Isolate"]
        assert await execution_stages(pg_url, approval_id) == ["executing", "pending", "succeeded"]
    finally:
        if pair is not None:
            await pair.close()
        await fake.close()


async def test_kill_9_after_the_isolate_was_sent_is_reconciled_by_the_next_instance(
    tmp_path, pg_url
):
    fake = await mde_fake(tmp_path)
    # MDE isolates, but its answer is slow: the instance dies while waiting for it.
    fake.fault("POST", "/isolate", status=201, delay=30, apply_first=True)
    pair = None
    try:
        env = pair_env(tmp_path, pg_url, **{**mde_env(fake), "VIGIL_MDE_TIMEOUT": "60"})
        env["VIGIL_CONTAINMENT_LEASE_SECONDS"] = "2"
        pair = await ServePair.start(tmp_path, env, count=1, extra_ca=(fake.ca_path,))
        approval_id, activity_id = await request_card(
            pair, f"isolate-endpoint {HOST} --reason 'beaconing to evil.example.com'"
        )
        status, _, _ = await pair.invoke(
            0,
            APPROVERS[0],
            SOC,
            verb="approval.approve",
            data={"approvalId": approval_id},
            reply_to_id=activity_id,
        )
        assert status == 200
        await until(lambda: len(fake.requests("/isolate", "POST")) == 1)
        pair.kill(0)

        await pair.launch(0)
        final = await final_state(pg_url, approval_id)

        assert final.state == "succeeded", (final.state, final.result, pair.logs()[-3000:])
        assert len(fake.requests("/isolate", "POST")) == 1
        assert final.external_id in fake.actions
        stages = await execution_stages(pg_url, approval_id)
        assert stages.count("executing") == 1 and stages[-1] == "succeeded"
    finally:
        if pair is not None:
            await pair.close()
        await fake.close()


async def until(condition, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.05)
