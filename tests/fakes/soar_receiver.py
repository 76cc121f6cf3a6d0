"""A SOAR webhook receiver on 127.0.0.1: verifies X-Vigil-Signature as the contract states it,
computed here on its own (not with Vigil's signing code): `sha256=` + hex HMAC-SHA256 over the
X-Vigil-Timestamp value + "." + the raw body, and the timestamp skew; de-duplicates by
Idempotency-Key (a repeat gets the first answer again) and answers `{"status", "id", "detail"}`.
Faults are queued.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SIGNATURE_HEADER = "X-Vigil-Signature"
TIMESTAMP_HEADER = "X-Vigil-Timestamp"


@dataclass
class Delivery:
    key: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int
    raw: bytes = b""


@dataclass
class SoarFault:
    status: int = 503
    body: Any = None  # dict (JSON), bytes (raw) or None
    delay: float = 0.0
    retry_after: str | None = None
    times: int = 1


@dataclass
class SoarReceiver:
    keys: list[str]
    max_skew: int = 300
    # What a first delivery answers: a status the receiver reports, or None for a bare 2xx.
    status: str | None = "succeeded"
    answer_code: int = 200
    # Repeats of a "pending" delivery report this after `pending_polls` repeats.
    pending_polls: int = 1
    deliveries: list[Delivery] = field(default_factory=list)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> action
    refused: list[str] = field(default_factory=list)
    faults: list[SoarFault] = field(default_factory=list)
    url: str = ""
    _answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _repeats: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    def fault(self, **options: Any) -> None:
        self.faults.append(SoarFault(**options))

    async def start(self) -> SoarReceiver:
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        problem = self._verify(request, raw)
        if problem:
            self.refused.append(problem)
            return web.json_response({"detail": problem}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        try:
            body = json.loads(raw)
        except ValueError:
            return web.json_response({"detail": "body is not JSON"}, status=400)
        if not key or not isinstance(body, dict):
            return web.json_response({"detail": "Idempotency-Key and an object needed"}, status=400)
        delivery = Delivery(key, body, dict(request.headers), 0, raw)
        self.deliveries.append(delivery)
        if self.faults:
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            delivery.status = fault.status
            return _fault_response(fault)
        code, answer = self._answer(key, body)
        delivery.status = code
        return web.json_response(answer, status=code) if answer else web.Response(status=code)

    def _verify(self, request: web.Request, raw: bytes) -> str:
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        try:
            sent = float(stamp)
        except ValueError:
            return "timestamp missing"
        if abs(time.time() - sent) > self.max_skew:
            return "timestamp outside the allowed skew"
        if not any(
            hmac.compare_digest(signature_of(key, stamp, raw), signature) for key in self.keys
        ):
            return "bad signature"
        return ""

    def _answer(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if key in self._answers:
            self._repeats[key] = repeats = self._repeats.get(key, 0) + 1
            code, answer = self._answers[key]
            if answer.get("status") == "pending" and repeats >= self.pending_polls:
                answer = {**answer, "status": "succeeded", "detail": "done"}
                self._answers[key] = (code, answer)
            return code, answer
        receipt = f"SOAR-{len(self.actions) + 1}"
        self.actions[key] = {**body, "receipt": receipt}
        answer = {} if self.status is None else {"status": self.status, "id": receipt}
        self._answers[key] = (self.answer_code, answer)
        return self.answer_code, answer


def signature_of(key: str, timestamp: str, raw: bytes) -> str:
    """The documented X-Vigil-Signature value, computed independently of Vigil's code."""
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("utf-8") + b"." + raw, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _fault_response(fault: SoarFault) -> web.Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    if isinstance(fault.body, bytes):
        return web.Response(status=fault.status, body=fault.body, headers=headers)
    if fault.body is not None:
        return web.json_response(fault.body, status=fault.status, headers=headers)
    return web.Response(status=fault.status, headers=headers)
