"""Posting alerts to a running Vigil the way a SIEM does: signed, token or bare."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp

from bot.app import build_app, start_vigil
from bot.kernel.config import RawConfig
from bot.kernel.signature import sign
from tests.bot.harness import Harness

HMAC_KEY = "alert-hmac-key-for-tests-0123456789"
TOKEN = "alert-token-for-tests-abcdef012345"
SOURCES = ("sentinel", "defender", "splunk", "alertmanager", "elastic", "wazuh", "generic")


def alert_env() -> dict[str, str]:
    """HMAC keys for every source, and tokens for the senders that only set fixed headers."""
    env = {f"VIGIL_SECRET_ALERTS_{s.upper()}_HMAC_KEY": HMAC_KEY for s in SOURCES if s != "splunk"}
    env["VIGIL_SECRET_ALERTS_SPLUNK_TOKEN"] = TOKEN
    env["VIGIL_SECRET_ALERTS_ALERTMANAGER_TOKEN"] = TOKEN
    return env


def signed_headers(body: bytes, key: str = HMAC_KEY, at: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    return {
        "Content-Type": "application/json",
        "X-Vigil-Timestamp": stamp,
        "X-Vigil-Signature": sign(key, stamp, body),
    }


async def post(
    url: str,
    source: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    signed: bool = True,
    at: float | None = None,
) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else json.dumps(body).encode()
    sent = dict(headers or {})
    if signed:
        sent = {**signed_headers(data, at=at), **sent}
    sent.setdefault("Content-Type", "application/json")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/alerts/{source}", data=data, headers=sent) as response:
            text = await response.text()
            try:
                payload = json.loads(text)
            except ValueError:
                payload = {"text": text}
            return response.status, payload


class ConfiguredHarness(Harness):
    """The harness with a TOML document too (routing rules are structured config)."""

    document: dict[str, Any] = {}

    async def start_bot(self) -> None:
        from aiohttp import web

        self.vigil = await start_vigil(RawConfig(self.document, self.env(), "test.toml"))
        self.runner = web.AppRunner(build_app(self.vigil), shutdown_timeout=5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.channel.bot_endpoint = self.url


async def start_with(db_url: str, document: dict[str, Any], env: dict[str, str]) -> Harness:
    ConfiguredHarness.document = document
    return await ConfiguredHarness.start(db_url, env)
