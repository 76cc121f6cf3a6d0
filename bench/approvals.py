"""Approval decisions under contention: 50 eligible approvers click Approve on one request at once.

Starts the local Teams channel (real JWTs both ways), `vigil serve` (one instance on SQLite, or
two on one PostgreSQL with --db and --instances 2) and the connector: the Defender for Endpoint
fake (isolate-endpoint) or the RPZ file (block-domain). Prints:
- the baseline, measured in the same run: 50 concurrent refresh invokes on the pending card
  (the same HTTP path, the same card rendering, no decision);
- decision latency p50/p99 (click -> invoke response) of 50 concurrent Approve clicks, and the
  ratio to the baseline;
- how many decisions won and how many executions reached the connector (must be 1);
- approve -> succeeded (the card's final state) for the winning request.

    python bench/approvals.py [--connector mde|rpz] [--clicks 50] [--db URL --instances 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.audit.log import tail  # noqa: E402
from bot.containment.approvals import records  # noqa: E402
from bot.devchannel.channel import ChannelConversation, ChannelUser  # noqa: E402
from bot.store import open_store  # noqa: E402
from tests.bot.harness import card_of  # noqa: E402
from tests.containment.approvals.serve_pair import APP_ID, APP_PASSWORD, ServePair  # noqa: E402

SOC = ChannelConversation.channel("SOC", "Containment")
REQUESTER = ChannelUser.named("Bench Requester")
HOST = "ws-fin-042.corp.example"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def connector_env(kind: str, directory: Path) -> tuple[dict[str, str], object | None]:
    if kind == "rpz":
        return {
            "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "rpz",
            "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "none",
            "VIGIL_RPZ_FILE": str(directory / "rpz" / "vigil.rpz.zone"),
        }, None
    from tests.fakes.mde import MdeFake

    fake = MdeFake(app_id=APP_ID, app_password=APP_PASSWORD)
    await fake.start(directory)
    fake.add_machine(HOST)
    return {
        **fake.vigil_env(),
        "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "mde",
        "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "rpz",
        "VIGIL_RPZ_FILE": str(directory / "rpz" / "vigil.rpz.zone"),
    }, fake


async def request(pair: ServePair, text: str) -> tuple[str, str]:
    since = pair.channel.last_seq
    await pair.channel.send_message(REQUESTER, SOC, text)
    call = await pair.channel.wait_for(
        lambda c: c.kind in ("send", "reply") and "approval.refresh" in json.dumps(c.activity),
        timeout=60,
        since=since,
    )
    return card_of(call)["refresh"]["action"]["data"]["approvalId"], call.activity_id or ""


async def burst(
    pair: ServePair, users: list[ChannelUser], verb: str, data: dict, activity_id: str, trigger: str
) -> tuple[list[float], list[dict]]:
    answers = await asyncio.gather(
        *(
            pair.invoke(
                n % len(pair.instances),
                user,
                SOC,
                verb=verb,
                data=data,
                reply_to_id=activity_id,
                trigger=trigger,
            )
            for n, user in enumerate(users)
        )
    )
    bad = [status for status, _, _ in answers if status != 200]
    if bad:
        raise RuntimeError(f"{verb}: bot answered {bad[:5]}")
    return [seconds for _, _, seconds in answers], [body for _, body, _ in answers]


async def executions(db_url: str, approval_id: str) -> int:
    """Sends recorded by Vigil: one `executing` audit record per send attempt."""
    store = await open_store(db_url)
    try:
        count = 0
        for record in await tail(store, 10_000):
            parameters = json.loads(record.parameters)
            if (
                record.action == "containment.execute"
                and parameters.get("approval_id") == approval_id
                and parameters.get("stage") == "executing"
            ):
                count += 1
        return count
    finally:
        await store.close()


async def wait_final(db_url: str, approval_id: str) -> records.Approval:
    store = await open_store(db_url)
    try:
        while True:
            approval = await records.get(store, approval_id)
            if records.State(approval.state).is_final:
                return approval
            await asyncio.sleep(0.02)
    finally:
        await store.close()


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        db_url = args.db or f"sqlite:///{directory}/bench.db"
        approvers = [ChannelUser.named(f"Bench Approver {n:03d}") for n in range(args.clicks)]
        env, fake = await connector_env(args.connector, directory)
        env.update(
            {
                "VIGIL_DB_URL": db_url,
                "VIGIL_ROLE_RESPONDER": REQUESTER.aad_object_id,
                "VIGIL_ROLE_APPROVER": ",".join(u.aad_object_id for u in approvers),
                "VIGIL_CONTAINMENT_POLL_INITIAL": "0.05",
                "VIGIL_CONTAINMENT_POLL_MAX": "0.2",
            }
        )
        pair = None
        try:
            extra_ca = (fake.ca_path,) if fake is not None else ()  # type: ignore[attr-defined]
            pair = await ServePair.start(directory, env, args.instances, extra_ca)
            target = (
                f"isolate-endpoint {HOST}"
                if args.connector == "mde"
                else "block-domain c2.evil.example"
            )
            approval_id, activity_id = await request(pair, f"{target} --reason 'bench'")
            data = {"approvalId": approval_id}
            # Warm-up: each instance has fetched its token and keys once.
            await burst(pair, approvers[:4], "approval.refresh", data, activity_id, "automatic")
            baseline, _ = await burst(
                pair, approvers, "approval.refresh", data, activity_id, "automatic"
            )
            started = time.perf_counter()
            latencies, bodies = await burst(
                pair, approvers, "approval.approve", data, activity_id, "manual"
            )
            final = await wait_final(db_url, approval_id)
            to_final = time.perf_counter() - started
            sent = await executions(db_url, approval_id)
            at_connector = (
                len(fake.requests("/isolate", "POST"))  # type: ignore[attr-defined]
                if fake is not None
                else sent
            )
        finally:
            if pair is not None:
                await pair.close()
            if fake is not None:
                await fake.close()  # type: ignore[attr-defined]
    winners = sum(1 for body in bodies if str(body.get("type", "")).endswith("adaptive"))
    where = "PostgreSQL" if args.db else "SQLite"
    print(
        f"{args.clicks} concurrent clicks, {args.instances} vigil serve on {where}, "
        f"connector {args.connector}, real JWTs through the local channel"
    )
    b50, b99 = pct(baseline, 0.5) * 1000, pct(baseline, 0.99) * 1000
    d50, d99 = pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000
    print(f"refresh invokes (baseline)  p50 {b50:7.1f} ms  p99 {b99:7.1f} ms")
    print(
        f"Approve clicks (decision)   p50 {d50:7.1f} ms  p99 {d99:7.1f} ms"
        f"  ({d50 / b50:.2f}x / {d99 / b99:.2f}x refresh)"
    )
    print(f"decisions won: {winners}; the other {len(bodies) - winners} were told it was decided")
    print(f"executions at the connector: {at_connector} (Vigil sends recorded: {sent})")
    print(f"first click -> {final.state}: {to_final * 1000:.0f} ms ({final.result})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connector", choices=("mde", "rpz"), default="mde")
    parser.add_argument("--clicks", type=int, default=50)
    parser.add_argument("--db", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--instances", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
