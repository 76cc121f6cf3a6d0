"""Messages per second through the local Teams channel with real JWT auth, 16 concurrent users.

(a) a bare botbuilder echo bot with the stock set-up (bench/echo_bot.py), the baseline;
(b) Vigil (`vigil serve`) answering `ping`, with its store, audit and dedupe on every turn.

Prints msg/s, p50 and p99 for each, the ratio b/a, and Vigil's RSS after the run.
Run: python bench/messages.py [--messages 2000] [--users 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.devchannel import ChannelConversation, ChannelUser, LocalChannel

APP_ID = "22222222-3333-4444-8555-666666666666"
APP_PASSWORD = "bench-password-not-a-secret"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    latencies: list[float]
    replies: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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


async def drive(
    channel: LocalChannel, name: str, users: int, total: int, text: str, expected: str
) -> Result:
    people = [ChannelUser.named(f"Bench User {i}") for i in range(users)]
    per_user = total // users
    latencies: list[float] = []
    since = channel.last_seq

    async def one_user(user: ChannelUser) -> None:
        conversation = ChannelConversation.personal(user)
        for _ in range(per_user):
            started = time.perf_counter()
            status = await channel.send_message(user, conversation, text)
            if status not in (200, 201):
                raise RuntimeError(f"{name}: bot answered {status}")
            latencies.append(time.perf_counter() - started)

    # Warm up: the first turn of each process fetches tokens and metadata.
    await asyncio.gather(
        *(channel.send_message(u, ChannelConversation.personal(u), text) for u in people)
    )
    since = channel.last_seq
    started = time.perf_counter()
    await asyncio.gather(*(one_user(user) for user in people))
    seconds = time.perf_counter() - started
    replies = sum(
        1 for call in channel.sent() if call.seq > since and call.kind in ("send", "reply")
    )
    return Result(name, per_user * users, seconds, latencies, replies)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(args: argparse.Namespace) -> None:
    channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await channel.start()
    env = {**os.environ, **channel.bot_env(), "REQUESTS_CA_BUNDLE": channel.ca_file}
    results: list[Result] = []
    try:
        port = free_port()
        echo = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "echo_bot.py"), "--port", str(port)], env=env
        )
        try:
            await wait_listening(port, echo)
            channel.bot_endpoint = f"http://127.0.0.1:{port}"
            results.append(
                await drive(
                    channel, "(a) stock echo bot", args.users, args.messages, "hello", "hello"
                )
            )
        finally:
            echo.terminate()
            echo.wait(10)

        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            people = [ChannelUser.named(f"Bench User {i}") for i in range(args.users)]
            vigil_env = {
                **env,
                "VIGIL_PORT": str(port),
                "VIGIL_DB_URL": f"sqlite:///{tmp}/bench.db",
                "VIGIL_ROLE_ANALYST": ",".join(u.aad_object_id for u in people),
                "VIGIL_USER_RATE_PER_MINUTE": "100000",
                "VIGIL_SECRET_AUDIT_HMAC_KEY": "bench-audit-key-0123456789abcdef",
                "VIGIL_LOG_LEVEL": "WARNING",
            }
            vigil = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"], env=vigil_env, cwd=ROOT
            )
            try:
                await wait_listening(port, vigil)
                channel.bot_endpoint = f"http://127.0.0.1:{port}"
                results.append(
                    await drive(
                        channel, "(b) Vigil ping", args.users, args.messages, "ping", "pong"
                    )
                )
                rss = rss_mb(vigil.pid)
            finally:
                vigil.terminate()
                vigil.wait(30)
    finally:
        await channel.stop()

    print(f"{args.messages} messages, {args.users} concurrent users, real JWT auth, local channel")
    for result in results:
        print(
            f"{result.name:22s} {result.rate:7.1f} msg/s  p50 {result.pct(0.5) * 1000:6.1f} ms  "
            f"p99 {result.pct(0.99) * 1000:6.1f} ms  "
            f"right answers {result.replies}/{result.messages}"
        )
    a, b = results
    print(f"ratio b/a: {b.rate / a.rate:.2f} (target >= 2.5)")
    print(f"Vigil RSS after the run: {rss:.0f} MB (target <= 150 MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--users", type=int, default=16)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
