"""The client-side pace under Defender's documented limits, and the standalone fake process."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp

from bot.containment.mde_client import Pacer
from tests.fakes.tls import client_context


class Clock:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_the_minute_window_holds_the_101st_call():
    clock = Clock()
    pacer = Pacer(100, 1500, clock=clock.time, sleep=clock.sleep)
    for _ in range(100):
        assert await pacer.wait() == 0
    assert await pacer.wait() == 60.0
    assert clock.sleeps == [60.0]


async def test_the_hour_window_holds_past_1500_calls():
    clock = Clock()
    pacer = Pacer(100, 1500, clock=clock.time, sleep=clock.sleep)
    for _ in range(1500):
        await pacer.wait()
    start = clock.now
    await pacer.wait()
    # 15 minute windows were used; the 1,501st call waits for the first to leave the hour.
    assert clock.now >= 1000.0 + 3600.0
    assert clock.now > start


async def test_the_fake_runs_standalone_and_reports_requests(tmp_path):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.mde",
        "--directory",
        str(tmp_path),
        "--machine",
        "ws-fin-042.corp.example.com",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        info = json.loads(line)
        assert info["env"]["VIGIL_MDE_URL"] == info["url"]
        assert "ws-fin-042.corp.example.com" in info["machines"]
        connector = aiohttp.TCPConnector(ssl=client_context(info["ca_path"]))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"{info['url']}/api/machines") as response:
                assert response.status == 401
            async with http.get(f"{info['url']}/_fake/requests?path_suffix=/machines") as response:
                recorded = await response.json()
        assert recorded == [{"method": "GET", "path": "/api/machines", "body": None, "status": 401}]
    finally:
        process.terminate()
        await process.wait()
