"""What the threat-intel fakes share: a local aiohttp server, request log and failure switches.

Each fake (virustotal, abuseipdb, greynoise, urlhaus) adds its documented routes and answers;
`failure` makes every request fail one way: "401", "429", "500", "malformed" (broken JSON),
"unexpected" (JSON of the wrong shape) or "slow" (answers after `slow_seconds`). `delay` makes
every answer wait that long (the benchmark's 200 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it (the key too, so rotation tests can tell them apart)."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    key: str | None

    def mentions(self, text: str) -> bool:
        values = [self.path, *self.query.values(), *self.form.values()]
        return any(text.lower() in value.lower() for value in values)


@dataclass
class IntelApiFake:
    key_header: str = "x-apikey"
    keys: set[str] = field(default_factory=lambda: {"test-key"})
    failure: str | None = None
    retry_after: str = "30"
    delay: float = 0.0
    slow_seconds: float = 30.0
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # What each API says in its own words; overridden per fake.
    def unauthorized(self) -> web.Response:
        return web.json_response({"message": "unauthorized"}, status=401)

    def too_many(self) -> web.Response:
        return web.json_response({"message": "too many requests"}, status=429)

    def unexpected(self) -> web.Response:
        return web.json_response(["not", "the", "documented", "shape"])

    async def start(self) -> str:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        self._closing.set()  # slow answers end now instead of holding the shutdown
        if self._runner is not None:
            await self._runner.cleanup()

    async def gate(self, request: web.Request) -> web.Response | None:
        """Record the request, check the key, apply the switches; a Response ends it early."""
        form = dict(await request.post()) if request.method == "POST" else {}
        key = request.headers.get(self.key_header)
        recorded = Recorded(
            request.method,
            request.path,
            dict(request.query),
            {k: str(v) for k, v in form.items()},
            key,
        )
        request["recorded"] = recorded
        self.requests.append(recorded)
        if self.delay:
            await asyncio.sleep(self.delay)
        if key not in self.keys or self.failure == "401":
            return self.unauthorized()
        if self.failure == "429":
            response = self.too_many()
            response.headers["Retry-After"] = self.retry_after
            return response
        if self.failure == "500":
            return web.Response(status=500, text="Internal Server Error")
        if self.failure == "malformed":
            return web.Response(text='{"data": {"attributes": ', content_type="application/json")
        if self.failure == "unexpected":
            return self.unexpected()
        if self.failure == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.slow_seconds)
        return None

    def asked_about(self, text: str) -> list[Recorded]:
        return [request for request in self.requests if request.mentions(text)]
