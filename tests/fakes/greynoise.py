"""A local GreyNoise community API v3 `GET /community/{ip}` (header key); 404 means not seen."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.intel_api import IntelApiFake

NOT_SEEN = "IP not observed scanning the internet or contained in RIOT data set."


@dataclass
class GreyNoiseFake(IntelApiFake):
    key_header: str = "key"
    ips: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, ip: str, **fields: Any) -> None:
        self.ips[ip] = fields

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/community/{ip}", self.community)

    def unauthorized(self) -> web.Response:
        return web.json_response({"message": "Authentication required"}, status=401)

    def too_many(self) -> web.Response:
        return web.json_response(
            {
                "plan": "community",
                "rate-limit": "50-lookups/week",
                "plan_url": "https://greynoise.io/pricing",
                "message": "You have hit your rate limit.",
            },
            status=429,
        )

    async def community(self, request: web.Request) -> web.Response:
        early = await self.gate(request)
        if early is not None:
            return early
        ip = request.match_info["ip"]
        try:
            if ipaddress.ip_address(ip).version != 4:
                raise ValueError
        except ValueError:
            return web.json_response(
                {"message": "Request is not a valid routable IPv4 address"}, status=400
            )
        known = self.ips.get(ip)
        if known is None:
            return web.json_response(
                {"ip": ip, "noise": False, "riot": False, "message": NOT_SEEN}, status=404
            )
        body = {
            "ip": ip,
            "noise": False,
            "riot": False,
            "classification": "unknown",
            "name": "unknown",
            "link": f"https://viz.greynoise.io/ip/{ip}",
            "last_seen": "2024-05-01",
            "message": "Success",
        }
        body.update(known)
        return web.json_response(body)
