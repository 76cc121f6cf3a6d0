"""A SOAR stand-in for webhook playbooks on 127.0.0.1, written from the contract alone (it does
not import Vigil's signing code): it checks X-Vigil-Signature (`sha256=` + hex HMAC-SHA256 of
the X-Vigil-Timestamp value + "." + the raw body) and the skew, de-duplicates starts by
Idempotency-Key, and reports progress back to the run's events_url signed the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


def signature_of(key: str, stamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


@dataclass
class Start:
    idempotency_key: str
    body: dict[str, Any]


@dataclass
class PlaybookSoar:
    key: str
    max_skew: int = 300
    answer_code: int = 202
    starts: list[Start] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    events_url: str = ""  # where events go (the run's events_url unless a test points elsewhere)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> PlaybookSoar:
        app = web.Application()
        app.router.add_post("/start", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/start"
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers.get("X-Vigil-Timestamp", "")
        offered = request.headers.get("X-Vigil-Signature", "")
        try:
            fresh = abs(time.time() - float(stamp)) <= self.max_skew
        except ValueError:
            fresh = False
        if not fresh or not hmac.compare_digest(signature_of(self.key, stamp, raw), offered):
            self.refused.append(offered)
            return web.json_response({"detail": "bad signature"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        body = json.loads(raw)
        if key != body.get("run_id"):
            return web.json_response({"detail": "Idempotency-Key is not the run id"}, status=400)
        if all(start.idempotency_key != key for start in self.starts):
            self.starts.append(Start(key, body))
        if self.answer_code >= 300:
            return web.json_response({"detail": "playbook disabled"}, status=self.answer_code)
        return web.json_response({"detail": "queued"}, status=self.answer_code)

    async def send(
        self,
        event: dict[str, Any] | None = None,
        *,
        raw: bytes | None = None,
        key: str | None = None,
        stamp: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST one event (or raw bytes) signed with `key` (the playbook's by default)."""
        body = raw if raw is not None else json.dumps(event).encode()
        stamp = stamp if stamp is not None else str(int(time.time()))
        sent = {
            "Content-Type": "application/json",
            "X-Vigil-Timestamp": stamp,
            "X-Vigil-Signature": signature_of(key or self.key, stamp, body),
            **(headers or {}),
        }
        return await self.post(body, sent)

    async def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        url = self.events_url or self.starts[-1].body["events_url"]
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers=headers) as response:
                text = await response.text()
                try:
                    return response.status, json.loads(text)
                except ValueError:
                    return response.status, {"text": text}
