"""`vigil serve` subprocesses behind one local Teams channel, and a storm of signed alerts.

The channel runs in the test process and records every connector call; each Vigil is a real
process (killable with SIGKILL) configured with the channel's env, a shared database, and the
`alerts-generic-hmac-key` secret the senders sign with.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.devchannel.channel import ChannelConversation, LocalChannel, RecordedCall
from tests.alerts.webhook import alert_env, signed_headers
from tests.bot.harness import ADMIN, APP_ID, APP_PASSWORD, AUDIT_KEY, card_text, role_env

GENERAL = ChannelConversation.channel("SOC", "Alerts")
STARTUP_SECONDS = 90.0
_TITLE = re.compile(r"Storm-(\d+)")
_SEEN = re.compile(r"seen (\d+)x")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Serve:
    """One `vigil serve` process; its output goes to a log file (a pipe could fill and block)."""

    name: str
    env: dict[str, str]
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    runs: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / f"{self.name}-{self.runs}.log"

    async def start(self) -> None:
        self.runs += 1
        with self.log_file.open("w") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                [sys.executable, "-m", "bot.cli", "serve"],
                env={**os.environ, **self.env, "VIGIL_PORT": str(self.port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        while loop.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.log_file.read_text()[-3000:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not start listening")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, leases and in-flight requests are abandoned."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return "".join(
            (self.directory / f"{self.name}-{run}.log").read_text()
            for run in range(1, self.runs + 1)
        )

    def posted_cards(self) -> list[str]:
        """Alert card ids this process's worker posted as new messages (from its INFO log)."""
        found = []
        for line in self.logs().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            message = str(record.get("message", record.get("msg", "")))
            if match := re.match(r"alert card (\S+) posted as message", message):
                found.append(match[1])
        return found


def serve_env(channel: LocalChannel, db_url: str) -> dict[str, str]:
    return {
        **channel.bot_env(),
        **role_env(),
        **alert_env(),
        "VIGIL_DB_URL": db_url,
        "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
        "VIGIL_ALERTS_DEFAULT_CHANNEL": "Alerts",
        "VIGIL_ALERTS_DIGEST_AFTER": "1000",
        "VIGIL_LOG_LEVEL": "INFO",
    }


async def open_channel() -> LocalChannel:
    channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
    await channel.start()
    return channel


async def install_in_channel(channel: LocalChannel, serve: Serve) -> None:
    """A message in the alerts channel, so Vigil saves its conversation reference."""
    channel.bot_endpoint = serve.url
    since = channel.last_seq
    assert await channel.send_message(ADMIN, GENERAL, "ping") in (200, 201)
    await channel.wait_for(lambda call: call.kind in ("send", "reply"), timeout=30, since=since)


def storm_alert(group: int, n: int) -> dict[str, Any]:
    return {
        "title": f"Storm-{group}",
        "severity": "high",
        "id": f"storm-{group}-{n}",
        "entities": [{"type": "host", "value": f"H-{group}"}],
        "description": f"occurrence {n}",
    }


@dataclass
class Storm:
    """Senders that retry each alert until it is acknowledged (202 or 200), like a SIEM."""

    acked: dict[str, str] = field(default_factory=dict)  # alert id -> stored id
    failures: int = 0

    async def send(self, urls: list[str], alerts: list[dict[str, Any]], pause: float) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            for index, body in enumerate(alerts):
                await self._one(http, urls[index % len(urls)], body)
                await asyncio.sleep(pause)

    async def _one(self, http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        for _ in range(600):
            try:
                async with http.post(
                    f"{url}/api/alerts/generic", data=data, headers=signed_headers(data)
                ) as response:
                    if response.status in (200, 202):
                        self.acked[body["id"]] = (await response.json())["ids"][0]
                        return
                    self.failures += 1
            except (aiohttp.ClientError, TimeoutError):
                self.failures += 1
            await asyncio.sleep(0.2)
        raise AssertionError(f"alert {body['id']} was never acknowledged")


def card_calls(channel: LocalChannel) -> list[RecordedCall]:
    return [
        call
        for call in channel.sent(GENERAL.id)
        if call.kind in ("send", "update") and (call.activity or {}).get("attachments")
    ]


@dataclass(frozen=True)
class Shown:
    """What the channel shows: each storm group's posted messages and the highest count seen."""

    posts: dict[int, int]  # group -> messages posted for it
    counts: dict[int, int]  # group -> its count in the latest version of its messages


def shown_at(channel: LocalChannel) -> Shown:
    latest: dict[str, RecordedCall] = {}
    posts: dict[int, int] = defaultdict(int)
    for call in card_calls(channel):
        latest[call.activity_id or ""] = call
        if call.kind == "send" and (group := _group_of(call)) is not None:
            posts[group] += 1
    counts: dict[int, int] = {}
    for call in latest.values():
        text = card_text(call.activity)
        group = _group_of(call)
        seen = _SEEN.search(text)
        if group is not None and seen:
            counts[group] = max(counts.get(group, 0), int(seen[1]))
    return Shown(dict(posts), counts)


def _group_of(call: RecordedCall) -> int | None:
    match = _TITLE.search(card_text(call.activity))
    return int(match[1]) if match else None


async def until_shown(
    channel: LocalChannel, expected: dict[int, int], within: float = 120.0
) -> Shown:
    """Wait until every group's card shows its expected count; the last view either way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    shown = shown_at(channel)
    while loop.time() < deadline:
        shown = shown_at(channel)
        if shown.counts == expected:
            return shown
        await channel.wait_after(channel.last_seq, GENERAL.id, 1.0)
    return shown
