"""An HTTPS anchor sink's receiver on 127.0.0.1: checks X-Vigil-Signature as the contract states
it, computed here on its own (not with Vigil's signing code): `sha256=` + hex HMAC-SHA256 over the
X-Vigil-Timestamp value + "." + the raw body. It keeps the bodies it accepted, one a line."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class AnchorReceiver:
    key: str
    max_skew: int = 300
    accepted: list[bytes] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> AnchorReceiver:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/anchors", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/anchors"
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def published(self) -> str:
        """What it kept, as a file of published heads."""
        return "".join(body.decode() + "\n" for body in self.accepted)

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        stamp = request.headers.get("X-Vigil-Timestamp", "")
        given = request.headers.get("X-Vigil-Signature", "")
        expected = (
            "sha256="
            + hmac.new(self.key.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        )
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > self.max_skew:
            self.refused.append("stale or missing timestamp")
            return web.json_response({"error": "stale"}, status=401)
        if not hmac.compare_digest(given, expected):
            self.refused.append("bad signature")
            return web.json_response({"error": "bad signature"}, status=401)
        self.accepted.append(raw)
        return web.json_response({"status": "stored"}, status=201)
