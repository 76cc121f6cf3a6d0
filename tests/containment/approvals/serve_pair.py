"""Two `vigil serve` processes on one database behind one local Teams channel.

The channel mints real tokens; each click is posted to the process the caller picks, so a test
can spread concurrent Approve invokes across both instances.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.devchannel import activities
from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel

ROOT = Path(__file__).resolve().parents[3]
APP_ID = "33333333-4444-4555-8666-777777777777"
APP_PASSWORD = "serve-pair-password-not-a-secret"
AUDIT_KEY = "serve-pair-audit-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Instance:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class ServePair:
    channel: LocalChannel
    env: dict[str, str]
    directory: Path
    instances: list[Instance] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    @classmethod
    async def start(
        cls,
        directory: Path,
        env: Mapping[str, str],
        count: int = 2,
        extra_ca: tuple[str, ...] = (),
    ) -> ServePair:
        """`extra_ca`: CA files of local fakes (HTTPS) the bots trust besides the channel's."""
        channel = LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD)
        await channel.start()
        bundle = _bundle(directory, (channel.ca_file, *extra_ca))
        pair = cls(
            channel,
            {
                **os.environ,
                **channel.bot_env(),
                "VIGIL_CA_BUNDLE": str(bundle),
                "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
                "VIGIL_USER_RATE_PER_MINUTE": "100000",
                "VIGIL_LOG_LEVEL": "WARNING",
                **env,
            },
            directory,
        )
        pair.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        try:
            # One at a time: the first applies the migrations.
            for n in range(count):
                await pair.launch(n)
        except BaseException:
            await pair.close()
            raise
        channel.bot_endpoint = pair.instances[0].url
        return pair

    async def launch(self, n: int, extra: Mapping[str, str] | None = None) -> Instance:
        port = free_port()
        log = self.directory / f"vigil-{n}-{port}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env={**self.env, "VIGIL_PORT": str(port), **(extra or {})},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        instance = Instance(port, process, log)
        if n < len(self.instances):
            self.instances[n] = instance
        else:
            self.instances.append(instance)
        await _wait_listening(instance)
        return instance

    def kill(self, n: int) -> None:
        """kill -9: no shutdown, no lease released; as a crashed host."""
        process = self.instances[n].process
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    async def invoke(
        self,
        n: int,
        user: ChannelUser,
        conversation: ChannelConversation,
        *,
        verb: str,
        data: dict[str, Any],
        reply_to_id: str,
        trigger: str = "manual",
    ) -> tuple[int, dict[str, Any], float]:
        """An Action.Execute click posted to instance `n`: status, invoke body, seconds taken."""
        assert self.session is not None
        self.channel.register(conversation, user)
        activity = activities.card_action(
            self.channel.new_activity("invoke", user, conversation),
            verb=verb,
            data=data,
            reply_to_id=reply_to_id,
            trigger=trigger,
        )
        headers = {"Authorization": f"Bearer {self.channel.mint_token()}"}
        started = time.perf_counter()
        async with self.session.post(
            f"{self.instances[n].url}/api/messages", json=activity, headers=headers
        ) as response:
            body = await response.json(content_type=None) if response.status == 200 else {}
            return response.status, body or {}, time.perf_counter() - started

    def logs(self) -> str:
        return "\n".join(instance.log.read_text() for instance in self.instances)

    async def close(self) -> None:
        for instance in self.instances:
            if instance.process.poll() is None:
                instance.process.terminate()
        for instance in self.instances:
            try:
                instance.process.wait(30)
            except subprocess.TimeoutExpired:
                instance.process.kill()
        if self.session is not None:
            await self.session.close()
        await self.channel.stop()


def _bundle(directory: Path, files: tuple[str, ...]) -> Path:
    bundle = directory / "ca-bundle.pem"
    bundle.write_text("".join(Path(name).read_text() for name in files))
    return bundle


async def _wait_listening(instance: Instance, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise RuntimeError(f"vigil exited: {instance.log.read_text()[-3000:]}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", instance.port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("vigil did not start listening")
