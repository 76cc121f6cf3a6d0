"""Alert benchmarks against a real `vigil serve` subprocess, the local Teams channel and HMAC posts.

1. Ingest: durable 202s per second with 16 concurrent signed senders, on SQLite and PostgreSQL,
   against two baselines measured in the same run: the same senders on GET /healthz (the HTTP
   ceiling) and a raw single-row INSERT loop through the store (the database ceiling).
2. Storm: 10,000 alerts in 60 s (rules x hosts x severities, repeats, 4 routed channels): posts,
   updates, the peak per-conversation rate at the channel (1 s and 30 s), time to drain, lost
   alerts (accepted but not counted on any delivered card) and the ratio alerts/posts.
3. Durability: ingest on SQLite as it ran before (synchronous=NORMAL in WAL mode, a commit may
   sit in the OS page cache) and as Vigil runs it (synchronous=FULL, synced to disk before the
   202), in the same run: 202s per second and p99 latency, and their ratios.

Prints figures only; nothing here passes or fails.

    python bench/alerts.py            # full run (about 4 minutes)
    python bench/alerts.py --quick    # smaller counts (about 1 minute)
    python bench/alerts.py --quick --durability   # only 3. (SQLite ingest, NORMAL vs FULL)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.messages import free_port, wait_listening  # noqa: E402
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel  # noqa: E402
from bot.kernel.signature import sign  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.store import sqlite as sqlite_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
APP_ID = "33333333-4444-4555-8666-777777777777"
APP_PASSWORD = "bench-password-not-a-secret"
HMAC_KEY = "bench-alert-hmac-key-0123456789abcdef"
PG_URL = os.environ.get("VIGIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
SENDERS = 16
ADMIN = ChannelUser.named("Bench Admin")
CHANNELS = {
    name: ChannelConversation.channel("SOC", name)
    for name in ("Alerts", "soc-critical", "soc-phishing", "soc-infra")
}
ROUTES = """
[alerts]
default_channel = "Alerts"
[[alerts.routes]]
name = "heartbeats"
action = "drop"
title_regex = "^heartbeat"
[[alerts.routes]]
name = "critical"
min_severity = "critical"
channel = "soc-critical"
[[alerts.routes]]
name = "phishing"
category = "phishing"
channel = "soc-phishing"
[[alerts.routes]]
name = "infra"
category = "infrastructure"
channel = "soc-infra"
"""
RULES = (
    ("Encoded PowerShell", "execution", ("high", "critical")),
    ("LSASS memory access", "credential-access", ("high", "critical")),
    ("Suspicious inbox rule", "phishing", ("medium", "high")),
    ("Credential phishing link clicked", "phishing", ("high",)),
    ("NodeDown", "infrastructure", ("critical", "high")),
    ("Disk almost full", "infrastructure", ("medium", "low")),
    ("Impossible travel", "identity", ("medium",)),
    ("Port scan from workstation", "discovery", ("low", "medium")),
    ("Heartbeat missing", "monitoring", ("info",)),
)


# `vigil serve` with SQLite's sync mode set first: the "before" of the durability comparison.
SERVE_WITH_SYNCHRONOUS = (
    "import sys; from bot.store import sqlite; sqlite.SYNCHRONOUS = sys.argv[1]; "
    "from bot.cli import main; sys.exit(main(['serve']))"
)


def signed(body: bytes, age: int = 0) -> dict[str, str]:
    stamp = str(int(time.time()) - age)
    return {
        "Content-Type": "application/json",
        "X-Vigil-Timestamp": stamp,
        "X-Vigil-Signature": sign(HMAC_KEY, stamp, body),
    }


def one_alert(n: int, rng: random.Random, hosts: int) -> dict[str, Any]:
    title, category, severities = RULES[rng.randrange(len(RULES))]
    host = f"WS-{rng.randrange(hosts):03d}"
    return {
        "id": f"bench-{n}",
        "title": title,
        "category": category,
        "severity": rng.choice(severities),
        "entities": [{"type": "host", "value": host}, {"type": "ip", "value": f"10.1.0.{n % 250}"}],
        "description": f"occurrence {n} on {host}",
    }


# --- the server -------------------------------------------------------------------------------


class Server:
    """`vigil serve` in a subprocess, wired to the local channel, with alert keys configured."""

    def __init__(
        self,
        channel: LocalChannel,
        db_url: str,
        directory: Path,
        log_level: str = "WARNING",
        synchronous: str = "",
    ) -> None:
        self.log_level = log_level
        # The benchmark's own knob (not a setting): the SQLite sync mode the server runs with.
        self.synchronous = synchronous
        self.channel = channel
        self.db_url = db_url
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    async def __aenter__(self) -> Server:
        port = free_port()
        config = self.directory / f"vigil-{uuid.uuid4().hex[:6]}.toml"
        config.write_text(ROUTES)
        env = {
            **os.environ,
            **self.channel.bot_env(),
            "REQUESTS_CA_BUNDLE": self.channel.ca_file,
            "VIGIL_CONFIG": str(config),
            "VIGIL_PORT": str(port),
            "VIGIL_DB_URL": self.db_url,
            "VIGIL_ROLE_ADMIN": ADMIN.aad_object_id,
            "VIGIL_USER_RATE_PER_MINUTE": "100000",
            "VIGIL_SECRET_AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef",
            "VIGIL_SECRET_ALERTS_GENERIC_HMAC_KEY": HMAC_KEY,
            "VIGIL_LOG_LEVEL": self.log_level,
        }
        command = [sys.executable, "-m", "bot.cli", "serve"]
        if self.synchronous:
            command = [sys.executable, "-c", SERVE_WITH_SYNCHRONOUS, self.synchronous]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        await wait_listening(port, self.process)
        self.url = f"http://127.0.0.1:{port}"
        self.channel.bot_endpoint = self.url
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


# --- ingest -----------------------------------------------------------------------------------


@dataclass
class Rate:
    name: str
    count: int
    seconds: float
    statuses: dict[int, int]
    p99_ms: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass
class Sent:
    seconds: float
    statuses: dict[int, int]
    p99_ms: float


async def senders(total: int, request: Any) -> Sent:
    """`total` requests over SENDERS concurrent connections: seconds taken, status counts, p99."""
    statuses: dict[int, int] = defaultdict(int)
    latencies: list[float] = []
    queue = iter(range(total))
    connector = aiohttp.TCPConnector(limit=SENDERS)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def sender() -> None:
            for n in queue:
                began = time.perf_counter()
                status = await request(http, n)
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        seconds = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0.0
    return Sent(seconds, dict(statuses), p99)


async def healthz_rate(url: str, total: int) -> Rate:
    async def request(http: aiohttp.ClientSession, n: int) -> int:
        async with http.get(f"{url}/healthz") as response:
            await response.read()
            return response.status

    sent = await senders(total, request)
    return Rate("GET /healthz (HTTP baseline)", total, sent.seconds, sent.statuses, sent.p99_ms)


async def ingest_rate(url: str, total: int, tag: str) -> Rate:
    rng = random.Random(7)
    bodies = [
        json.dumps(one_alert(n, rng, 200) | {"id": f"{tag}-{n}"}).encode() for n in range(total)
    ]

    async def request(http: aiohttp.ClientSession, n: int) -> int:
        body = bodies[n]
        async with http.post(f"{url}/api/alerts/generic", data=body, headers=signed(body)) as rsp:
            await rsp.read()
            return rsp.status

    sent = await senders(total, request)
    accepted = sent.statuses.get(202, 0)
    return Rate(
        "POST /api/alerts/generic (202)", accepted, sent.seconds, sent.statuses, sent.p99_ms
    )


async def insert_rate(db_url: str, total: int) -> Rate:
    """Single-row committed INSERTs, 16 concurrent writers, through the same Store class."""
    async with await open_store(db_url) as store:
        await store.execute(
            "CREATE TABLE IF NOT EXISTS bench_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)"
        )
        payload = "x" * 400
        queue = iter(range(total))

        async def writer() -> None:
            for n in queue:
                await store.execute(
                    "INSERT INTO bench_rows (id, body) VALUES (?, ?)", f"r{n}", payload
                )

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(SENDERS)))
        seconds = time.perf_counter() - started
        await store.execute("DROP TABLE bench_rows")
    return Rate("raw INSERT loop (DB baseline)", total, seconds, {})


async def ingest(
    channel: LocalChannel,
    name: str,
    db_url: str,
    directory: Path,
    total: int,
    synchronous: str = "",
) -> Rate:
    if synchronous:
        sqlite_store.SYNCHRONOUS = synchronous  # the DB baseline in this process likewise
    try:
        raw = await insert_rate(db_url, total)
    finally:
        sqlite_store.SYNCHRONOUS = "FULL"
    # ERROR: the router warns about every alert here, as no channel is known in this part.
    server = Server(channel, db_url, directory, log_level="ERROR", synchronous=synchronous)
    async with server:
        await healthz_rate(server.url, 200)  # warm-up
        await ingest_rate(server.url, 200, "warm")
        health = await healthz_rate(server.url, total)
        posted = await ingest_rate(server.url, total, "run")
    print(f"\n[ingest on {name}] {total} requests, {SENDERS} concurrent senders, HMAC-signed")
    for rate in (health, raw, posted):
        extra = f"  statuses {rate.statuses}" if rate.statuses else ""
        latency = f"  p99 {rate.p99_ms:6.1f} ms" if rate.p99_ms else ""
        print(f"  {rate.name:34s} {rate.per_second:8.0f} /s{latency}{extra}")
    print(
        f"  durable 202s/s vs /healthz: {posted.per_second / health.per_second:.2f}x,"
        f" vs raw INSERT: {posted.per_second / raw.per_second:.2f}x (target >= 2,000/s on SQLite)"
    )
    return posted


async def sqlite_durability(channel: LocalChannel, directory: Path, total: int) -> None:
    """Ingest on SQLite before (synchronous=NORMAL) and as Vigil runs it (FULL), one run."""
    rates = {}
    for mode in ("NORMAL", "FULL"):
        url = f"sqlite:///{directory}/ingest-{mode.lower()}.db"
        name = f"SQLite, synchronous={mode}"
        rates[mode] = await ingest(channel, name, url, directory, total, synchronous=mode)
    before, after = rates["NORMAL"], rates["FULL"]
    print("\n[durable on disk] SQLite ingest, FULL (now) vs NORMAL (before)")
    print(
        f"  202s/s  {after.per_second:8.0f} vs {before.per_second:8.0f}"
        f"   {after.per_second / before.per_second:.2f}x"
    )
    print(
        f"  p99 ms  {after.p99_ms:8.1f} vs {before.p99_ms:8.1f}"
        f"   {after.p99_ms / before.p99_ms:.2f}x"
    )


async def pg_schema_url() -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_URL, timeout=10)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}", schema


async def drop_schema(schema: str) -> None:
    admin = await asyncpg.connect(PG_URL, timeout=10)
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await admin.close()


# --- storm ------------------------------------------------------------------------------------


_SEEN = re.compile(r"seen (\d+)x")


def card_count(activity: dict[str, Any]) -> int:
    """The alert count a card shows: "seen Nx" on an alert card, `total` on a digest."""
    text = json.dumps(activity)
    if "Alert digest" in text:
        found = re.search(r"(\d+) alerts?", text)
        return int(found.group(1)) if found else 0
    found = _SEEN.search(text)
    return int(found.group(1)) if found else 0


def peak(times: list[float], span: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - span:
            start += 1
        best = max(best, end - start + 1)
    return best


async def storm(channel: LocalChannel, directory: Path, total: int, seconds: float) -> None:
    db_url = f"sqlite:///{directory}/storm.db"
    rng = random.Random(11)
    alerts = [one_alert(n, rng, 40) for n in range(total)]
    # About 5% are re-sent by the SIEM (same id): answered 200, nothing new.
    # A re-send is signed anew (an older timestamp), as a retrying sender would.
    plan = [(0, alerts[n]) for n in range(total)]
    plan += [(120, alerts[n]) for n in rng.sample(range(total), total // 20)]
    rng.shuffle(plan)
    statuses: dict[int, int] = defaultdict(int)
    accepted: set[str] = set()
    dropped = sum(1 for a in alerts if a["title"].lower().startswith("heartbeat"))
    async with Server(channel, db_url, directory) as server:
        for conversation in CHANNELS.values():  # the bot learns each channel's reference
            await channel.send_message(ADMIN, conversation, "ping")
        since = channel.last_seq
        started = time.monotonic()
        connector = aiohttp.TCPConnector(limit=SENDERS)
        async with aiohttp.ClientSession(connector=connector) as http:
            queue = iter(enumerate(plan))

            async def sender() -> None:
                for index, (age, body) in queue:
                    due = started + index * seconds / len(plan)
                    if (wait := due - time.monotonic()) > 0:
                        await asyncio.sleep(wait)
                    data = json.dumps(body).encode()
                    async with http.post(
                        f"{server.url}/api/alerts/generic", data=data, headers=signed(data, age)
                    ) as response:
                        await response.read()
                        statuses[response.status] += 1
                        if response.status in (200, 202):
                            accepted.add(body["id"])

            await asyncio.gather(*(sender() for _ in range(SENDERS)))
        sent_for = time.monotonic() - started
        drained_at = await wait_drained(db_url, started)
    calls = [
        c
        for c in channel.sent()
        if c.seq > since and c.kind in ("send", "update") and (c.activity or {}).get("attachments")
    ]
    report_storm(calls, total, len(plan), statuses, accepted, dropped, sent_for, drained_at)
    await db_crosscheck(db_url)


async def wait_drained(db_url: str, started: float, limit: float = 900) -> float:
    """Seconds from the storm's start until every alert is routed and every card delivered."""
    async with await open_store(db_url) as store:
        while time.monotonic() - started < limit:
            waiting = await store.fetchval("SELECT COUNT(*) FROM alerts WHERE routed = 0")
            due = await store.fetchval(
                "SELECT COUNT(*) FROM alert_groups WHERE version > delivered_version"
                " AND state <> 'dead'"
            )
            if int(waiting) == 0 and int(due) == 0:
                return time.monotonic() - started
            await asyncio.sleep(0.5)
    return float("nan")


def report_storm(
    calls: list[Any],
    total: int,
    posts_attempted: int,
    statuses: dict[int, int],
    accepted: set[str],
    dropped: int,
    sent_for: float,
    drained_at: float,
) -> None:
    by_conversation: dict[str, list[float]] = defaultdict(list)
    final: dict[tuple[str, str], dict[str, Any]] = {}
    posts = updates = 0
    for call in calls:
        base = (call.conversation_id or "").split(";")[0]
        by_conversation[base].append(call.time)
        if call.kind == "send":
            posts += 1
        else:
            updates += 1
        if call.activity_id:
            final[(base, call.activity_id)] = call.activity
    shown = sum(card_count(activity) for activity in final.values())
    expected = len(accepted) - dropped
    names = {c.id: name for name, c in CHANNELS.items()}
    resent = posts_attempted - total
    print(f"\n[storm] {total} distinct alerts (+{resent} re-sends) in {sent_for:.1f} s")
    print(f"  answers: {dict(statuses)}")
    print(f"  accepted distinct alerts {len(accepted)}, dropped by rule (heartbeat) {dropped}")
    print(f"  posts {posts}, updates {updates}, cards {len(final)}")
    for conversation, times in sorted(by_conversation.items()):
        label = names.get(conversation, conversation[:30])
        print(
            f"  {label:14s} calls {len(times):5d}  peak per 1 s {peak(times, 1.0):2d} (limit 7)"
            f"  per 30 s {peak(times, 30.0):3d} (limit 60)"
        )
    print(f"  time to drain (from the storm's start) {drained_at:.1f} s")
    print(f"  alerts on delivered cards {shown} of {expected} routed; lost = {expected - shown}")
    ratio = len(accepted) / posts if posts else float("inf")
    print(f"  alerts/posts = {ratio:.0f}x fewer posts than alerts (target >= 10x)")


async def db_crosscheck(db_url: str) -> None:
    async with await open_store(db_url) as store:
        routed = await store.fetchall("SELECT routed, COUNT(*) AS n FROM alerts GROUP BY routed")
        cards = await store.fetchval(
            "SELECT COALESCE(SUM(count), 0) FROM alert_groups WHERE delivered_version = version"
        )
        dead = await store.fetchval("SELECT COUNT(*) FROM alert_groups WHERE state = 'dead'")
    states = {0: "waiting", 1: "routed", 2: "dropped", 3: "no channel"}
    print(
        "  store: "
        + ", ".join(f"{states[int(r['routed'])]} {r['n']}" for r in routed)
        + f"; alerts counted on delivered cards {cards}; dead letters {dead}"
    )


async def run(args: argparse.Namespace) -> None:
    channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await channel.start()
    total = 3000 if args.quick else 20_000
    try:
        # On disk beside this script: /tmp may be tmpfs, where a sync costs nothing.
        with tempfile.TemporaryDirectory(dir=HERE) as tmp:
            directory = Path(tmp)
            await sqlite_durability(channel, directory, total)
            if args.durability:
                return
            url, schema = await pg_schema_url()
            try:
                await ingest(channel, "PostgreSQL", url, directory, total)
            finally:
                await drop_schema(schema)
            if args.quick:
                await storm(channel, directory, 2000, 12.0)
            else:
                await storm(channel, directory, 10_000, 60.0)
    finally:
        await channel.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, about a minute")
    parser.add_argument(
        "--durability", action="store_true", help="only SQLite ingest, NORMAL vs FULL sync"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
