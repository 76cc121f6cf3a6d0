"""Messages per second through the local Teams channel with real JWT auth, 16 concurrent users.

Four bots, each started fresh for every run, the runs interleaved (three rounds by default, the
order rotated each round so no bot always runs first):

  stock echo    a bare botbuilder echo bot, stock set-up (bench/echo_bot.py)
  tuned echo    the same with one cached MSAL client and msrest's fast retry list (--tuned):
                the baseline the ratios are against
  Vigil ping    `vigil serve` answering `ping` (analyst role): dedupe, store, audit every turn
  Vigil whoami  `vigil serve` answering `whoami` with its card; also audited

Prints each run's msg/s, p50, p99 and the bot process's CPU per message (steadier than msg/s on
a shared machine), then the medians and the ratios to the tuned echo bot.
A figure, never a pass/fail. Run: python bench/messages.py [--messages 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel  # noqa: E402

APP_ID = "22222222-3333-4444-8555-666666666666"
APP_PASSWORD = "bench-password-not-a-secret"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    latencies: list[float]
    right: int
    cpu_seconds: float  # the bot process's CPU time over the run: steadier than msg/s here
    rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds / self.messages * 1000

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Bot:
    name: str
    text: str  # what every user says
    right: Callable[[dict[str, Any]], bool]  # is the bot's answer the expected one
    vigil: bool
    tuned: bool = False
    root: Path = ROOT  # the source tree Vigil runs from (--compare adds another)


def _text_is(expected: str) -> Callable[[dict[str, Any]], bool]:
    return lambda activity: activity.get("text") == expected


def _whoami_card(activity: dict[str, Any]) -> bool:
    attachments = activity.get("attachments") or []
    return bool(attachments) and "Bench User" in str(attachments[0].get("content"))


BOTS = {
    "stock": Bot("stock echo", "hello", _text_is("hello"), vigil=False),
    "tuned": Bot("tuned echo", "hello", _text_is("hello"), vigil=False, tuned=True),
    "ping": Bot("Vigil ping", "ping", _text_is("pong"), vigil=True),
    "whoami": Bot("Vigil whoami", "whoami", _whoami_card, vigil=True),
}
BASELINE = "tuned"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_listening(port: int, process: subprocess.Popen, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bot exited with {process.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("bot did not start listening")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, all its threads (the store's thread too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(channel: LocalChannel, bot: Bot, users: int, total: int, pid: int) -> Result:
    people = [ChannelUser.named(f"Bench User {i}") for i in range(users)]
    per_user = total // users
    latencies: list[float] = []

    async def one_user(user: ChannelUser) -> None:
        conversation = ChannelConversation.personal(user)
        for _ in range(per_user):
            started = time.perf_counter()
            status = await channel.send_message(user, conversation, bot.text)
            if status not in (200, 201):
                raise RuntimeError(f"{bot.name}: bot answered {status}")
            latencies.append(time.perf_counter() - started)

    # Warm up: the first turn of each process fetches tokens and metadata.
    await asyncio.gather(
        *(channel.send_message(u, ChannelConversation.personal(u), bot.text) for u in people)
    )
    since = channel.last_seq
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    await asyncio.gather(*(one_user(user) for user in people))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu
    right = sum(
        1
        for call in channel.sent()
        if call.seq > since and call.kind in ("send", "reply") and bot.right(call.activity or {})
    )
    return Result(bot.name, per_user * users, seconds, latencies, right, cpu)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _vigil_env(env: dict[str, str], db: str, port: int, users: int) -> dict[str, str]:
    people = [ChannelUser.named(f"Bench User {i}") for i in range(users)]
    return {
        **env,
        "VIGIL_PORT": str(port),
        "VIGIL_DB_URL": db,
        "VIGIL_ROLE_ANALYST": ",".join(u.aad_object_id for u in people),
        "VIGIL_USER_RATE_PER_MINUTE": "100000",
        "VIGIL_SECRET_AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef",
        "VIGIL_LOG_LEVEL": "WARNING",
    }


async def run_one(
    channel: LocalChannel, bot: Bot, env: dict[str, str], args: argparse.Namespace
) -> Result:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if bot.vigil:
            command = [sys.executable, "-m", "bot.cli", "serve"]
            env = _vigil_env(env, f"sqlite:///{tmp}/bench.db", port, args.users)
            env["PYTHONPATH"] = str(bot.root)  # this tree's code, whatever pip installed
        else:
            command = [sys.executable, str(ROOT / "bench" / "echo_bot.py"), "--port", str(port)]
            command += ["--tuned"] if bot.tuned else []
        process = subprocess.Popen(command, env=env, cwd=bot.root)
        try:
            await wait_listening(port, process)
            channel.bot_endpoint = f"http://127.0.0.1:{port}"
            result = await drive(channel, bot, args.users, args.messages, process.pid)
            result.rss_mb = rss_mb(process.pid) if bot.vigil else None
        finally:
            process.terminate()
            process.wait(30)
    return result


def _line(result: Result) -> str:
    return (
        f"{result.name:20s} {result.rate:7.1f} msg/s  p50 {result.pct(0.5) * 1000:6.1f} ms  "
        f"p99 {result.pct(0.99) * 1000:6.1f} ms  bot CPU {result.cpu_ms:5.2f} ms/msg  "
        f"right answers {result.right}/{result.messages}"
    )


def _bots(args: argparse.Namespace) -> dict[str, Bot]:
    """The bots asked for, plus ping and whoami from the --compare tree (before/after runs)."""
    bots = {name: bot for name, bot in BOTS.items() if name in args.bots}
    if args.compare:
        other = Path(args.compare).resolve()
        for name in ("ping", "whoami"):
            if name in bots:
                label = f"{name} ({other.name})"
                bots[f"{name}@compare"] = replace(bots[name], name=label, root=other)
    return bots


async def run(args: argparse.Namespace) -> None:
    bots = _bots(args)
    chosen = list(bots)
    channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await channel.start()
    env = {**os.environ, **channel.bot_env(), "REQUESTS_CA_BUNDLE": channel.ca_file}
    runs: dict[str, list[Result]] = {name: [] for name in chosen}
    print(
        f"{args.messages} messages a run, {args.users} concurrent users, real JWT auth, "
        f"local channel, {args.rounds} interleaved rounds",
        flush=True,
    )
    try:
        for round_no in range(args.rounds):
            shift = round_no % len(chosen)
            for name in chosen[shift:] + chosen[:shift]:
                result = await run_one(channel, bots[name], env, args)
                runs[name].append(result)
                print(f"round {round_no + 1}  {_line(result)}", flush=True)
    finally:
        await channel.stop()

    print("\nmedians")
    medians = {}
    for name, results in runs.items():
        medians[name] = (
            statistics.median(r.rate for r in results),
            statistics.median(r.pct(0.5) for r in results),
            statistics.median(r.pct(0.99) for r in results),
            statistics.median(r.cpu_ms for r in results),
        )
        rate, p50, p99, cpu = medians[name]
        print(
            f"{bots[name].name:20s} {rate:7.1f} msg/s  p50 {p50 * 1000:6.1f} ms  "
            f"p99 {p99 * 1000:6.1f} ms  bot CPU {cpu:5.2f} ms/msg"
        )
    if BASELINE in medians:
        base_rate, _, base_p99, base_cpu = medians[BASELINE]
        print("\nagainst the tuned echo bot (target: rate >= 1.00x, p99 no higher)")
        for name, (rate, _, p99, cpu) in medians.items():
            if name != BASELINE:
                print(
                    f"{bots[name].name:20s} rate {rate / base_rate:.2f}x  "
                    f"p99 {p99 / base_p99:.2f}x  CPU per message {cpu / base_cpu:.2f}x"
                )
    rss = [r.rss_mb for results in runs.values() for r in results if r.rss_mb is not None]
    if rss:
        print(f"Vigil RSS after a run, largest: {max(rss):.0f} MB (target <= 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000, help="per run")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument(
        "--compare",
        metavar="TREE",
        help="also run ping and whoami from another source tree (say a git worktree of main)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--bots", nargs="+", choices=list(BOTS), default=list(BOTS), help="which bots to run"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
