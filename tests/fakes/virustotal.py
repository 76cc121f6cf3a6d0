"""A local VirusTotal API v3 (ip_addresses, domains, urls/{id}, files) with its error JSON."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.intel_api import IntelApiFake

KINDS = {"ip_addresses": "ip_address", "domains": "domain", "urls": "url", "files": "file"}


def stats(malicious: int = 0, suspicious: int = 0, harmless: int = 60, undetected: int = 20):
    return {
        "harmless": harmless,
        "malicious": malicious,
        "suspicious": suspicious,
        "undetected": undetected,
        "timeout": 0,
    }


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@dataclass
class VirusTotalFake(IntelApiFake):
    key_header: str = "x-apikey"
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, kind: str, value: str, **attributes: Any) -> None:
        """Know an object; `kind` is ip_addresses, domains, urls (give the URL) or files."""
        key = (
            base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")
            if kind == "urls"
            else value
        )
        attributes.setdefault("last_analysis_stats", stats())
        self.objects[(kind, key)] = {"value": value, "attributes": attributes}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{kind}/{id}", self.get_object)

    def unauthorized(self) -> web.Response:
        return _error(401, "WrongCredentialsError", "Wrong API key")

    def too_many(self) -> web.Response:
        return _error(429, "QuotaExceededError", "Quota exceeded")

    async def get_object(self, request: web.Request) -> web.Response:
        early = await self.gate(request)
        if early is not None:
            return early
        kind, object_id = request.match_info["kind"], request.match_info["id"]
        if kind not in KINDS:
            return _error(404, "NotFoundError", f"Resource not found: {kind}")
        found = self.objects.get((kind, object_id))
        if found is None:
            return _error(404, "NotFoundError", f'{KINDS[kind]} "{object_id}" not found')
        shown_id = object_id
        if kind == "urls":
            shown_id = hashlib.sha256(found["value"].encode()).hexdigest()
        return web.json_response(
            {
                "data": {
                    "id": shown_id,
                    "type": KINDS[kind],
                    "links": {"self": f"{self.url}/{kind}/{object_id}"},
                    "attributes": found["attributes"],
                }
            }
        )
