"""Playbook events against a real `vigil serve` subprocess, the local Teams channel (real JWTs)
and a SOAR stand-in (tests/fakes/playbook_soar.py) that receives the signed starts.

One webhook playbook; N runs started in chat, each by its own responder in its own personal
conversation (so one conversation's Teams budget is not the whole story); then signed events
from 16 concurrent senders, spread round-robin over the runs, seq increasing per run. Printed:

  events    202s per second, p50/p99 of the answers
  /healthz  the same senders, same count, same server, measured first: the HTTP baseline
  ratio     events/s over /healthz req/s
  card      event -> card update: from the event's 202 (and from its POST) until the local
            channel records an update of that run's card showing that step, p50/p99

The run card lists its first 40 steps, then "+N more" (cards/catalog.py): a step past the 40th
never shows by name, so the defaults keep runs at most 40 events long and the report says how
many accepted events no card showed.

Prints figures only; nothing here passes or fails.

    python bench/playbooks.py                  # 3,000 events over 80 runs, SQLite
    python bench/playbooks.py --quick          # 400 events over 16 runs
    python bench/playbooks.py --db-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.messages import free_port, wait_listening  # noqa: E402
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel  # noqa: E402
from bot.kernel.pacing import TENANT_SLOT  # noqa: E402
from cards.catalog import LIST_CAPS  # noqa: E402
from tests.fakes.playbook_soar import PlaybookSoar, signature_of  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
APP_ID = "44444444-5555-4666-8777-888888888888"
APP_PASSWORD = "bench-password-not-a-secret"
KEY = "bench-playbook-hmac-key-0123456789abcdef"
PLAYBOOK = "bench-triage"
SENDERS = 16
CARD_STEPS = LIST_CAPS["playbook_run"]["steps"]
RUN_ID = re.compile(r"PB-\d{8}-\d{3,}")
# A step's name is "stepNNNNNx": letters and digits only, so the card shows it unescaped.
STEP = re.compile(r"step(\d{5})x")


def config(soar_url: str) -> str:
    return (
        "[[playbooks]]\n"
        f'name = "{PLAYBOOK}"\n'
        'title = "Bench triage"\n'
        'kind = "webhook"\n'
        f'url = "{soar_url}"\n'
        'role = "responder"\n'
        'inputs = ["mailbox"]\n'
    )


class Server:
    """`vigil serve` in a subprocess, wired to the local channel, with the playbook's key."""

    def __init__(
        self,
        channel: LocalChannel,
        db_url: str,
        soar_url: str,
        directory: Path,
        responders: list[ChannelUser],
    ) -> None:
        self.channel = channel
        self.db_url = db_url
        self.soar_url = soar_url
        self.directory = directory
        self.responders = responders
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    async def __aenter__(self) -> Server:
        port = free_port()
        path = self.directory / f"vigil-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(config(self.soar_url))
        env = {
            **os.environ,
            **self.channel.bot_env(),
            "REQUESTS_CA_BUNDLE": self.channel.ca_file,
            "VIGIL_CONFIG": str(path),
            "VIGIL_PORT": str(port),
            "VIGIL_DB_URL": self.db_url,
            "VIGIL_ROLE_RESPONDER": ",".join(u.aad_object_id for u in self.responders),
            "VIGIL_USER_RATE_PER_MINUTE": "100000",
            "VIGIL_SECRET_AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef",
            "VIGIL_SECRET_PLAYBOOK_BENCH_TRIAGE_HMAC_KEY": KEY,
            "VIGIL_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "bot.cli", "serve"]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT)
        await wait_listening(port, self.process)
        self.url = f"http://127.0.0.1:{port}"
        self.channel.bot_endpoint = self.url
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)


@dataclass
class Sent:
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, each request

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def drive(total: int, request: Any) -> Sent:
    """`total` requests over SENDERS concurrent connections, taken in order from one queue."""
    statuses: dict[int, int] = defaultdict(int)
    latencies: list[float] = []
    queue = iter(range(total))
    connector = aiohttp.TCPConnector(limit=SENDERS)
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def sender() -> None:
            for n in queue:
                began = time.perf_counter()
                status = await request(http, n)
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        seconds = time.perf_counter() - started
    return Sent(seconds, dict(statuses), latencies)


async def healthz(url: str, total: int) -> Sent:
    async def request(http: aiohttp.ClientSession, n: int) -> int:
        async with http.get(f"{url}/healthz") as response:
            await response.read()
            return response.status

    return await drive(total, request)


async def start_runs(
    channel: LocalChannel, responders: list[ChannelUser]
) -> dict[str, tuple[str, str]]:
    """A run per responder, in its personal conversation: {conversation id: (run id, status)}."""

    async def one(user: ChannelUser) -> tuple[str, tuple[str, str]]:
        conversation = ChannelConversation.personal(user)
        since = channel.last_seq
        await channel.send_message(user, conversation, f"playbook run {PLAYBOOK} mailbox=m@x.io")
        answer = await channel.wait_for(
            lambda call: (
                call.conversation_id == conversation.id
                and call.kind in ("send", "reply")
                and "PB-" in (call.activity or {}).get("text", "")
            ),
            since=since,
            timeout=60,
        )
        text = answer.activity["text"]
        status = "running" if "running" in text else text[:80]
        return conversation.id, (RUN_ID.search(text)[0], status)

    return dict(await asyncio.gather(*(one(user) for user in responders)))


@dataclass
class Plan:
    """Events in send order: round-robin over the runs, seq 1, 2, ... within each run."""

    events: list[tuple[str, int]]  # (run id, seq)
    posted: dict[tuple[str, int], float] = field(default_factory=dict)  # time.time() at POST
    answered: dict[tuple[str, int], float] = field(default_factory=dict)  # time.time() at 202


def plan(run_ids: list[str], total: int) -> Plan:
    return Plan([(run_ids[n % len(run_ids)], n // len(run_ids) + 1) for n in range(total)])


async def send_events(url: str, todo: Plan) -> Sent:
    async def request(http: aiohttp.ClientSession, n: int) -> int:
        run_id, seq = todo.events[n]
        event = {
            "run_id": run_id,
            "seq": seq,
            "step": f"step{seq:05d}x",
            "status": "completed",
            "output": f"checked {seq} items",
        }
        body = json.dumps(event).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Vigil-Timestamp": stamp,
            "X-Vigil-Signature": signature_of(KEY, stamp, body),
        }
        todo.posted[(run_id, seq)] = time.time()
        async with http.post(f"{url}/api/playbooks/events", data=body, headers=headers) as rsp:
            await rsp.read()
            if rsp.status == 202:
                todo.answered[(run_id, seq)] = time.time()
            return rsp.status

    return await drive(len(todo.events), request)


def first_shown(channel: LocalChannel, runs: dict[str, str], since: int) -> dict:
    """(run id, seq) -> time the channel first recorded an update of that run's card showing it."""
    shown: dict[tuple[str, int], float] = {}
    for call in channel.sent():
        if call.seq <= since or call.kind != "update" or call.status >= 300:
            continue
        run_id = runs.get((call.conversation_id or "").split(";")[0])
        if run_id is None:
            continue
        for found in STEP.finditer(json.dumps(call.activity)):
            shown.setdefault((run_id, int(found.group(1))), call.time)
    return shown


async def wait_shown(channel: LocalChannel, runs: dict[str, str], since: int, todo: Plan) -> dict:
    """Until every accepted event shows on its card, or nothing new has shown for 30 s."""
    last, last_count = time.monotonic(), -1
    while True:
        shown = first_shown(channel, runs, since)
        count = sum(1 for key in todo.answered if key in shown)
        if count == len(todo.answered):
            return shown
        if count != last_count:
            last, last_count = time.monotonic(), count
        elif time.monotonic() - last > 30:
            return shown
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace) -> None:
    events = args.events or (400 if args.quick else 3000)
    runs_wanted = args.runs or (16 if args.quick else 80)
    channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await channel.start()
    soar = await PlaybookSoar(KEY).start()
    responders = [ChannelUser.named(f"Bench Responder {i}") for i in range(runs_wanted)]
    try:
        with tempfile.TemporaryDirectory(dir=HERE) as tmp:
            directory = Path(tmp)
            db_url = args.db_url or f"sqlite:///{directory}/playbooks.db"
            async with Server(channel, db_url, soar.url, directory, responders) as server:
                await healthz(server.url, 200)  # warm-up
                started = time.perf_counter()
                by_conversation = await start_runs(channel, responders)
                start_seconds = time.perf_counter() - started
                runs = {conv: run_id for conv, (run_id, _) in by_conversation.items()}
                states = defaultdict(int)
                for _, status in by_conversation.values():
                    states[status] += 1
                health = await healthz(server.url, events)
                since = channel.last_seq
                todo = plan(list(runs.values()), events)
                posted = await send_events(server.url, todo)
                shown = await wait_shown(channel, runs, since, todo)
            report(
                args, db_url, events, runs, dict(states), start_seconds, health, posted, todo, shown
            )
    finally:
        await soar.close()
        await channel.stop()


def report(
    args: argparse.Namespace,
    db_url: str,
    events: int,
    runs: dict[str, str],
    states: dict[str, int],
    start_seconds: float,
    health: Sent,
    posted: Sent,
    todo: Plan,
    shown: dict,
) -> None:
    database = "PostgreSQL" if db_url.startswith("postgres") else "SQLite"
    accepted = posted.statuses.get(202, 0)
    rate = accepted / posted.seconds
    health_rate = health.statuses.get(200, 0) / health.seconds
    print(
        f"\n[playbook events on {database}] {events} signed events over {len(runs)} runs"
        f" (one conversation each), {SENDERS} concurrent senders"
    )
    print(f"  runs started in {start_seconds:.1f} s: {states}")
    print(
        f"  GET /healthz (baseline)        {health_rate:8.1f} /s  p50 {health.pct(0.5):7.1f} ms"
        f"  p99 {health.pct(0.99):7.1f} ms  statuses {health.statuses}"
    )
    print(
        f"  POST /api/playbooks/events 202 {rate:8.1f} /s  p50 {posted.pct(0.5):7.1f} ms"
        f"  p99 {posted.pct(0.99):7.1f} ms  statuses {posted.statuses}"
    )
    print(f"  events/s vs /healthz: {rate / health_rate:.3f}x")
    # Each 202 waits for its paced card update: the bot-wide Teams budget bounds the rate.
    print(f"  (the bot-wide paced budget for card updates: {1 / TENANT_SLOT:.0f}/s)")
    from_answer = [shown[k] - at for k, at in todo.answered.items() if k in shown]
    from_post = [shown[k] - todo.posted[k] for k in todo.answered if k in shown]
    missing = sum(1 for k in todo.answered if k not in shown)
    print(
        f"  event -> card update, from the 202: p50 {pct(from_answer, 0.5) * 1000:7.1f} ms"
        f"  p99 {pct(from_answer, 0.99) * 1000:7.1f} ms"
        f"  (negative: the card was updated before the 202 was answered)"
    )
    print(
        f"  event -> card update, from the POST: p50 {pct(from_post, 0.5) * 1000:7.1f} ms"
        f"  p99 {pct(from_post, 0.99) * 1000:7.1f} ms"
    )
    print(f"  accepted events never shown on their card: {missing} of {len(todo.answered)}")
    if events > CARD_STEPS * len(runs):
        print(f'  (more than {CARD_STEPS} events a run: later steps are "+N more" on the card)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=0, help="events in all (3000; quick 400)")
    parser.add_argument("--runs", type=int, default=0, help="runs the events spread over (80; 16)")
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--db-url", default="", help="a PostgreSQL URL; SQLite by default")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
