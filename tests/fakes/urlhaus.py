"""A local URLhaus API v1: form POSTs to /url/, /host/, /payload/ (header Auth-Key).

It answers HTTP 200 with a query_status, and numbers as strings, as the real one does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.intel_api import IntelApiFake


@dataclass
class URLhausFake(IntelApiFake):
    key_header: str = "Auth-Key"
    urls: dict[str, dict[str, Any]] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_url(self, url: str, url_status: str = "online", threat: str = "malware_download"):
        self.urls[url] = {
            "id": "2345678",
            "urlhaus_reference": "https://urlhaus.abuse.ch/url/2345678/",
            "url": url,
            "url_status": url_status,
            "host": url.split("/")[2],
            "date_added": "2024-05-01 10:00:00 UTC",
            "threat": threat,
            "blacklists": {"spamhaus_dbl": "not listed", "surbl": "not listed"},
            "reporter": "example",
            "larted": "true",
            "takedown_time_seconds": None,
            "tags": ["elf", "mozi"],
            "payloads": [],
        }

    def add_host(self, host: str, statuses: list[str]) -> None:
        self.hosts[host] = {
            "urlhaus_reference": f"https://urlhaus.abuse.ch/host/{host}/",
            "host": host,
            "firstseen": "2024-04-01 08:00:00 UTC",
            "url_count": str(len(statuses)),
            "blacklists": {"spamhaus_dbl": "abused_legit_malware", "surbl": "not listed"},
            "urls": [
                {
                    "id": str(n),
                    "url": f"http://{host}/{n}",
                    "url_status": s,
                    "threat": "malware_download",
                }
                for n, s in enumerate(statuses)
            ],
        }

    def add_payload(self, md5: str, sha256: str, signature: str = "AgentTesla") -> None:
        record = {
            "md5_hash": md5,
            "sha256_hash": sha256,
            "file_type": "exe",
            "file_size": "656896",
            "signature": signature,
            "firstseen": "2024-04-01 08:00:00",
            "lastseen": "2024-05-01 08:00:00",
            "url_count": "3",
            "urlhaus_download": f"https://urlhaus-api.abuse.ch/v1/download/{sha256}/",
            "virustotal": None,
            "urls": [],
        }
        self.payloads[md5] = record
        self.payloads[sha256] = record

    def routes(self, app: web.Application) -> None:
        for path in ("/url/", "/host/", "/payload/"):
            app.router.add_route("*", path, self.query)

    def unauthorized(self) -> web.Response:
        return web.json_response({"query_status": "unknown_auth_key"}, status=401)

    def too_many(self) -> web.Response:
        return web.json_response({"query_status": "rate_limited"}, status=429)

    def unexpected(self) -> web.Response:
        return web.json_response(
            {"query_status": "ok", "url_count": {"nested": "surprise"}, "urls": 7}
        )

    async def query(self, request: web.Request) -> web.Response:
        early = await self.gate(request)
        if early is not None:
            return early
        if request.method != "POST":
            return web.json_response({"query_status": "http_post_expected"})
        form = request["recorded"].form
        if request.path == "/url/":
            url = form.get("url", "")
            if "://" not in url:
                return web.json_response({"query_status": "invalid_url"})
            found = self.urls.get(url)
        elif request.path == "/host/":
            if not form.get("host"):
                return web.json_response({"query_status": "invalid_host"})
            found = self.hosts.get(form["host"])
        else:
            value = form.get("md5_hash") or form.get("sha256_hash") or ""
            if len(value) not in (32, 64):
                return web.json_response({"query_status": "invalid_md5"})
            found = self.payloads.get(value)
        if found is None:
            return web.json_response({"query_status": "no_results"})
        return web.json_response({"query_status": "ok", **found})
