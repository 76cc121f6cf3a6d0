"""Every flow, locally: `vigil serve --local` with its Graph and Defender stand-ins, driven through
the local channel's control API as `vigil chat` drives it, with no Azure and no fake of ours.

create-incident -> the channel exists in the Graph stand-in and the incident card is posted in it;
isolate-endpoint -> the card in SOC/Approvals -> the approver approves -> Defender isolates.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.devchannel.channel import ChannelConversation, ChannelUser

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ChannelUser.named("Demo Admin")
APPROVER = ChannelUser.named("Demo Approver")
APPROVALS = ChannelConversation.channel("SOC", "Approvals")
MACHINE = "ws-fin-042.corp.example.com"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Control:
    """The control API of the channel inside `vigil serve --local`."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def send(
        self, user: ChannelUser, conversation: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {"user": user.to_dict(), "conversation": conversation, **fields}
        async with self.session.post(f"{self.url}/_local/send", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def event(
        self, conversation_id: str, match: Callable[[dict[str, Any]], bool], after: int = 0
    ) -> dict[str, Any]:
        """The first event in the conversation after `after` that matches (long-polled)."""
        for _ in range(60):
            query = {"conversation": conversation_id, "after": str(after), "wait": "1"}
            async with self.session.get(f"{self.url}/_local/events", params=query) as response:
                events = (await response.json())["events"]
            for event in events:
                if match(event):
                    return event
            after = max([after, *(event["seq"] for event in events)])
        raise AssertionError(f"no matching event in {conversation_id}")

    async def standins(self) -> dict[str, Any]:
        async with self.session.get(f"{self.url}/_local/standins") as response:
            assert response.status == 200
            return await response.json()


def _text(activity: dict[str, Any] | None) -> str:
    """Every string in the activity (its text and its cards), for matching."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(activity or {})
    return "\n".join(found)


def _approval_id(activity: dict[str, Any]) -> str | None:
    for attachment in activity.get("attachments") or []:
        refresh = (attachment.get("content") or {}).get("refresh") or {}
        approval_id = ((refresh.get("action") or {}).get("data") or {}).get("approvalId")
        if approval_id:
            return approval_id
    return None


@pytest.fixture
async def control(tmp_path: Path):
    port, channel_port = _port(), _port()
    env = {
        **os.environ,
        "VIGIL_PORT": str(port),
        "VIGIL_LOCAL_CHANNEL_PORT": str(channel_port),
        "VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db",
        "VIGIL_SECRET_AUDIT_HMAC_KEY": "local-flows-audit-key-0123456789",
        "VIGIL_CONTAINMENT_POLL_INITIAL": "0.2",
        "VIGIL_CONTAINMENT_RECOVERY_INTERVAL": "0.5",
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--local"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    try:
        await _listening(server, log, port, channel_port)
        yield Control(session, f"http://127.0.0.1:{channel_port}")
    finally:
        await session.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _read(log: Path) -> str:
    return log.read_text()


async def _listening(server: subprocess.Popen, log: Path, *ports: int) -> None:
    deadline = time.monotonic() + 60
    for port in ports:
        while True:
            assert server.poll() is None, _read(log)
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                assert time.monotonic() < deadline, _read(log)
                await asyncio.sleep(0.1)


async def test_create_incident_makes_its_channel_in_the_graph_standin(control):
    personal = {"kind": "personal"}
    sent = await control.send(ADMIN, personal, text='create-incident high "Phishing wave finance"')
    answer = await control.event(
        sent["conversation_id"], lambda e: "INC-" in _text(e["activity"]), after=sent["seq"] - 1
    )
    incident_id = re.search(r"INC-\d{8}-\d{3}", _text(answer["activity"]))[0]

    [soc] = [team for team in (await control.standins())["teams"] if team["displayName"] == "SOC"]
    [channel] = [c for c in soc["channels"] if incident_id in (c["description"] or "")]
    assert channel["displayName"].endswith("phishing-wave-finance")
    # The channel Graph made is a channel of the local Teams, and the incident card is in it.
    conversation = ChannelConversation.channel("SOC", channel["displayName"])
    assert channel["id"] == conversation.id
    card = await control.event(
        conversation.id, lambda e: e["kind"] == "create" and incident_id in _text(e["activity"])
    )
    assert "Phishing wave finance" in _text(card["activity"])


async def test_isolate_endpoint_is_approved_in_the_approvals_channel_and_defender_isolates(
    control,
):
    before = (await control.standins())["machines"]
    assert {m["computerDnsName"]: m["isolated"] for m in before}[MACHINE] is False

    # Asked in the demo admin's 1:1 chat: the card goes to SOC/Approvals, where approvers are.
    sent = await control.send(
        ADMIN, {"kind": "personal"}, text="isolate-endpoint ws-fin-042 --reason 'beaconing'"
    )
    asked = await control.event(
        APPROVALS.id, lambda e: _approval_id(e["activity"] or {}) is not None
    )
    approval_id = _approval_id(asked["activity"])
    assert "ws-fin-042" in _text(asked["activity"])
    assert APPROVER.aad_object_id in _text(asked["activity"])  # the approver is mentioned
    answer = await control.event(sent["conversation_id"], lambda e: e["kind"] in ("send", "reply"))
    assert "approvals channel" in _text(answer["activity"])

    clicked = await control.send(
        APPROVER,
        {"kind": "channel", "team_name": "SOC", "channel_name": "Approvals"},
        type="action",
        verb="approval.approve",
        data={"approvalId": approval_id},
        reply_to_id=asked["activity_id"],
    )
    assert clicked["status"] == 200, clicked

    for _ in range(100):
        state = await control.standins()
        machines = {m["computerDnsName"]: m for m in state["machines"]}
        if machines[MACHINE]["isolated"]:
            break
        await asyncio.sleep(0.2)
    assert machines[MACHINE]["isolated"], state["machineActions"]
    [action] = state["machineActions"]
    assert action["type"] == "Isolate" and action["computerDnsName"] == MACHINE
    assert "beaconing" in action["requestorComment"]
    # The other demo machines were left alone.
    assert not any(m["isolated"] for name, m in machines.items() if name != MACHINE)


def _env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        [assignment] = shlex.split(line)
        key, _, value = assignment.partition("=")
        env[key] = value
    return env


async def test_two_serves_on_one_postgresql_share_one_vigil_channel(tmp_path, pg_url):
    ports, channel_port = [_port(), _port()], _port()
    env_file = tmp_path / "channel.env"
    base = {
        **os.environ,
        "VIGIL_LOG_LEVEL": "WARNING",
        "VIGIL_LOCAL_CHANNEL_PORT": str(channel_port),
    }
    bots = [arg for port in ports for arg in ("--bot", f"http://127.0.0.1:{port}")]
    processes: list[subprocess.Popen] = []
    log = tmp_path / "processes.log"
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    try:
        with log.open("w") as out:
            channel = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "channel", *bots, "--env-file", str(env_file)],
                env=base,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            processes.append(channel)
            await _listening(channel, log, channel_port)
            async with asyncio.timeout(30):  # written just after the channel starts listening
                while not env_file.exists():  # noqa: ASYNC110 - another process writes it
                    await asyncio.sleep(0.05)
            shared = {**base, **_env_file(env_file), "VIGIL_DB_URL": pg_url}
            assert env_file.stat().st_mode & 0o077 == 0  # it holds the app password
            for port in ports:  # one at a time: the first applies the migrations
                serve = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "serve"],
                    env={**shared, "VIGIL_PORT": str(port)},
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                processes.append(serve)
                await _listening(serve, log, port)
        control = Control(session, f"http://127.0.0.1:{channel_port}")

        # Activities go to both instances in turn; the demo admin is admin on each.
        for _ in range(2):
            sent = await control.send(ADMIN, {"kind": "personal"}, text="whoami")
            answer = await control.event(
                sent["conversation_id"],
                lambda e: "Demo Admin" in _text(e["activity"]),
                after=sent["seq"] - 1,
            )
            assert "admin" in _text(answer["activity"]).split("\n")  # Roles: admin

        # One instance stops: the channel delivers to the other, which shares the stand-ins.
        processes[1].send_signal(signal.SIGTERM)
        assert processes[1].wait(30) == 0
        for _ in range(2):
            sent = await control.send(ADMIN, {"kind": "personal"}, text="create-incident low Probe")
            assert sent["status"] == 200, sent
        soc = (await control.standins())["teams"][0]
        assert len([c for c in soc["channels"] if "probe" in c["displayName"]]) == 2
    finally:
        await session.close()
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    # The channel's password and CA died with it, and so does the file naming them.
    assert not env_file.exists()
