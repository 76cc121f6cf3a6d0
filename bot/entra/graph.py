"""A small Microsoft Graph client: app-only tokens (MSAL client credentials or the managed
identity) and JSON calls under the one retry policy, over the process's one aiohttp session.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp

from bot.entra.tokens import BotTokenProvider, TokenUnavailable, app_password
from bot.kernel.config import RawConfig, Setting, parse_url
from bot.kernel.http_body import json_object
from bot.kernel.retry import BearerHttp, RetryPolicy, Unanswered
from bot.kernel.settings import ServiceSettings
from bot.secrets.source import SecretSource, SecretUnavailable

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PUBLIC_AUTHORITY = "https://login.microsoftonline.com"

GRAPH_URL = Setting(
    "graph.url",
    "VIGIL_GRAPH_URL",
    parse_url("https"),
    "https://graph.microsoft.com/v1.0",
    "Microsoft Graph base URL",
)
AAD_AUTHORITY = Setting(
    "graph.authority",
    "VIGIL_AAD_AUTHORITY",
    parse_url("https"),
    "",
    "Entra authority for Graph tokens (default https://login.microsoftonline.com/<tenant id>)",
)


class GraphError(RuntimeError):
    """Graph refused or could not be reached; `code` is Graph's error code when it gave one."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Graph answered {status} {code}: {message}".strip())
        self.status = status
        self.code = code
        self.message = message


def authority(raw: RawConfig, settings: ServiceSettings) -> str:
    """The configured authority, else the public one for the bot's tenant ('' when unknown)."""
    configured = raw.get(AAD_AUTHORITY)
    if configured:
        return configured
    return f"{PUBLIC_AUTHORITY}/{settings.tenant_id}" if settings.tenant_id else ""


def token_provider(
    raw: RawConfig, settings: ServiceSettings, secrets: SecretSource
) -> BotTokenProvider:
    """App-only Graph tokens with the bot's own identity (its password read per fetch)."""
    return BotTokenProvider(
        app_id=settings.app_id,
        app_type=settings.app_type,
        login_url=authority(raw, settings),
        scope=GRAPH_SCOPE,
        password=app_password(secrets, settings.app_password),
        ca_bundle=settings.ca_bundle,
    )


# Graph's throttling asks for seconds: four tries, none waiting more than 30 s before it.
POLICY = RetryPolicy(max_attempts=4, max_wait=30.0)
TIMEOUT = aiohttp.ClientTimeout(total=20.0)


class GraphClient:
    def __init__(
        self, http: aiohttp.ClientSession, tokens: BotTokenProvider, base_url: str
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = BearerHttp(http, tokens, POLICY, TIMEOUT)

    async def create_channel(
        self,
        team_group_id: str,
        display_name: str,
        description: str,
        membership_type: str = "standard",
        owner_id: str = "",
    ) -> dict[str, Any]:
        """POST /teams/{group id}/channels; the created channel (id, displayName, webUrl ...)."""
        body: dict[str, Any] = {
            "displayName": display_name,
            "description": description[:1024],
            "membershipType": membership_type,
        }
        if membership_type == "private" and owner_id:
            # App-only creation of a private channel must name its first owner.
            body["members"] = [
                {
                    "@odata.type": "#microsoft.graph.aadUserConversationMember",
                    "user@odata.bind": f"{self.base_url}/users('{quote(owner_id, safe='')}')",
                    "roles": ["owner"],
                }
            ]
        return await self.call("POST", f"teams/{quote(team_group_id, safe='')}/channels", body)

    async def find_channel(self, team_group_id: str, display_name: str) -> dict[str, Any] | None:
        """GET /teams/{group id}/channels filtered by display name; the channel or None."""
        name = display_name.replace("'", "''")  # an OData string literal doubles its quotes
        query = urlencode({"$filter": f"displayName eq '{name}'"}, quote_via=quote)
        found = await self.call(
            "GET", f"teams/{quote(team_group_id, safe='')}/channels?{query}", None
        )
        channels = found.get("value")
        if not isinstance(channels, list):
            return None
        for channel in channels:
            if isinstance(channel, dict) and channel.get("displayName") == display_name:
                return channel
        return None

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{self.base_url}/{path}"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            answer = await self._http.request(
                method, url, data=data, headers=headers, what=f"Graph {method} {path}"
            )
        except (TokenUnavailable, SecretUnavailable) as exc:
            raise GraphError(0, "TokenUnavailable", str(exc)) from None
        except Unanswered as exc:
            raise GraphError(0, "Unreachable", exc.reason) from None
        if answer.status < 300:
            return json_object(answer.text)
        code, message = _error(answer.text)
        raise GraphError(answer.status, code, message)


def _error(text: str) -> tuple[str, str]:
    """Graph's `{"error": {"code", "message"}}`, bounded; anything else as a short reason."""
    error = json_object(text).get("error")
    if isinstance(error, dict):
        return str(error.get("code", ""))[:80], str(error.get("message", ""))[:200]
    return "", text[:200]
