"""A local AbuseIPDB API v2 `GET /check` (header Key) with its `errors` JSON."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.intel_api import IntelApiFake


def _errors(status: int, detail: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"errors": [{"detail": detail, "status": status, **extra}]}, status=status
    )


@dataclass
class AbuseIPDBFake(IntelApiFake):
    key_header: str = "Key"
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, ip: str, score: int, reports: int, **fields: Any) -> None:
        self.reports[ip] = {"abuseConfidenceScore": score, "totalReports": reports, **fields}

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/check", self.check)

    def unauthorized(self) -> web.Response:
        return _errors(
            401,
            "Authentication failed. Your API key is either missing, incorrect, or revoked.",
        )

    def too_many(self) -> web.Response:
        response = _errors(429, "Daily rate limit of 1000 requests exceeded for this endpoint.")
        response.headers["X-RateLimit-Limit"] = "1000"
        response.headers["X-RateLimit-Remaining"] = "0"
        return response

    def unexpected(self) -> web.Response:
        return web.json_response({"data": {"abuseConfidenceScore": "very high"}})

    async def check(self, request: web.Request) -> web.Response:
        early = await self.gate(request)
        if early is not None:
            return early
        ip = request.query.get("ipAddress", "")
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return _errors(
                422,
                "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or ::1).",
                source={"parameter": "ipAddress"},
            )
        data: dict[str, Any] = {
            "ipAddress": ip,
            "isPublic": address.is_global,
            "ipVersion": address.version,
            "isWhitelisted": False,
            "abuseConfidenceScore": 0,
            "countryCode": "NL",
            "usageType": "Data Center/Web Hosting/Transit",
            "isp": "Example Hosting B.V.",
            "domain": "example.net",
            "hostnames": [],
            "isTor": False,
            "totalReports": 0,
            "numDistinctUsers": 0,
            "lastReportedAt": None,
        }
        data.update(self.reports.get(ip, {}))
        return web.json_response({"data": data})
