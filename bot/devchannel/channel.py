"""The local Teams channel: a stand-in for Teams and the Bot Framework service on 127.0.0.1.

It mints real RS256 channel tokens and serves their OpenID metadata and JWKS (endorsement
"msteams"); serves an HTTPS login authority whose token endpoint gives the bot its outbound token
(client credentials); serves the Bot Connector REST subset, which checks that token and records
what the bot sends; and posts Teams-shaped activities to the bot as chosen users.

Endpoints (all on 127.0.0.1; non-loopback peers get 403):

- http  `/v1/.well-known/openidconfiguration`, `/v1/.well-known/keys`  channel token metadata
- https `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`  login
- http  `/v3/conversations...`, `/v3/teams/{id}...`  the connector (see devchannel_connector)
- http  `/_local/...`  the control API for another process (see devchannel_control)
- https `/graph/v1.0/...`, `/defender/api/...`  Graph and Defender stand-ins, when given
  (see standins.py); the bot is then installed in their demo team before the first activity

Several bot endpoints (instances of one bot on one database) take activities in turn, as the
load balancer in front of App Service instances would; an endpoint that refuses connections is
skipped.

Token lifetimes follow the service: an hour, unless `token_lifetime` says otherwise. Note that
botbuilder allows 5 minutes of clock skew, so a forged `exp`/`nbf` must be further off than that.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.devchannel import activities
from bot.devchannel.activities import ActivityIds, BotIdentity
from bot.devchannel.auth import AuthEndpoints
from bot.devchannel.connector import Connector
from bot.devchannel.control import add_control_routes
from bot.devchannel.identity import LOCAL_TENANT, ChannelConversation, ChannelUser
from bot.devchannel.keys import LocalCertificateAuthority, SigningKey
from bot.devchannel.record import CallLog, RecordedCall
from bot.devchannel.server import ServerThread
from bot.devchannel.standins import LocalStandins
from bot.kernel.config import is_loopback_host

__all__ = [
    "LOCAL_TENANT",
    "ChannelConversation",
    "ChannelUser",
    "LocalChannel",
    "RecordedCall",
]

# The public Bot Framework scope: keeping it means the bot needs no scope override.
DEFAULT_OAUTH_SCOPE = "https://api.botframework.com"


@web.middleware
async def _loopback_only(request: web.Request, handler: Callable) -> web.StreamResponse:
    if not is_loopback_host(request.remote or ""):
        return web.json_response({"error": "loopback peers only"}, status=403)
    return await handler(request)


class LocalChannel:
    """Teams and the Bot Framework service, locally, with real tokens both ways."""

    def __init__(
        self,
        *,
        app_id: str,
        app_password: str,
        bot_endpoint: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_name: str = "Vigil",
        oauth_scope: str = DEFAULT_OAUTH_SCOPE,
        token_lifetime: int = 3600,
        standins: LocalStandins | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError("the local channel binds to a loopback address only")
        if not app_id or not app_password:
            raise ValueError("the local channel needs the bot's app id and password")
        self.app_id = app_id
        self._app_password = app_password
        self.bot_endpoints: list[str] = [bot_endpoint] if bot_endpoint else []
        self._next_endpoint = 0
        self.standins = standins
        # Teams sends the bot a conversationUpdate when it is installed in a team's channel.
        self._installs = list(standins.team_channels) if standins else []
        self._installing = False
        self.host = host
        self.port = port
        self.tls_port = 0
        self.oauth_scope = oauth_scope
        self.token_lifetime = token_lifetime
        self.bot = BotIdentity(app_id, bot_name)
        # Tells a chat that this channel is not the one it was talking to (a restart).
        self.instance = secrets.token_hex(8)
        self.received: list[dict[str, Any]] = []
        self._key = SigningKey()
        self._ids = ActivityIds()
        self._log = CallLog()
        self._auth_endpoints: AuthEndpoints | None = None
        self._connector: Connector | None = None
        self._server: ServerThread | None = None
        self._session: aiohttp.ClientSession | None = None
        self._directory: Path | None = None
        self._ca: LocalCertificateAuthority | None = None

    def __repr__(self) -> str:
        return f"LocalChannel(app_id={self.app_id!r}, port={self.port})"

    # Lifecycle

    async def start(self) -> None:
        """Bind, create the key material and serve from the channel's own thread."""
        http_sock = _bind(self.host, self.port)
        tls_sock = _bind(self.host, 0)
        self.port = http_sock.getsockname()[1]
        self.tls_port = tls_sock.getsockname()[1]
        self._directory = Path(tempfile.mkdtemp(prefix="vigil-channel-"))
        self._ca = await asyncio.to_thread(LocalCertificateAuthority, self._directory)
        self._auth_endpoints = AuthEndpoints(
            key=self._key,
            app_id=self.app_id,
            app_password=self._app_password,
            base_url=self.base_url,
            tls_base_url=f"https://{self.host}:{self.tls_port}",
            token_lifetime=self.token_lifetime,
        )
        self._connector = Connector(
            key=self._key,
            app_id=self.app_id,
            oauth_scope=self.oauth_scope,
            login_issuer=self._auth_endpoints.login_issuer,
            ids=self._ids,
            log=self._log,
        )
        self._connector.service_url = self.service_url
        app = web.Application(middlewares=[_loopback_only], client_max_size=4 * 1024 * 1024)
        self._auth_endpoints.add_routes(app)
        self._connector.add_routes(app)
        add_control_routes(app, self)
        if self.standins is not None:
            self.standins.mount(app, self._auth_endpoints, self._connector.register)
        self._server = ServerThread(app, http_sock, (tls_sock, self._ca.server_context()))
        await self._server.start()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))

    async def stop(self) -> None:
        self._log.close()  # ends pending long-polls, so the server can stop at once
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    async def __aenter__(self) -> LocalChannel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # What the bot is configured with

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/_local"

    @property
    def openid_metadata_url(self) -> str:
        return self._auth().openid_metadata_url

    @property
    def token_issuer(self) -> str:
        """The `iss` of the channel's tokens (VIGIL_TOKEN_ISSUER)."""
        return self._auth().token_issuer

    @property
    def login_url(self) -> str:
        """The HTTPS authority of the bot's outbound token (VIGIL_LOGIN_URL)."""
        return self._auth().login_url

    @property
    def ca_file(self) -> str:
        """The PEM file of the channel's CA (VIGIL_CA_BUNDLE)."""
        if self._ca is None:
            raise RuntimeError("the channel is not started")
        return str(self._ca.ca_file)

    def bot_env(self) -> dict[str, str]:
        """The VIGIL_* variables a bot process needs to talk to this channel."""
        return {
            "VIGIL_APP_ID": self.app_id,
            "VIGIL_APP_PASSWORD": self._app_password,
            "VIGIL_OPENID_METADATA_URL": self.openid_metadata_url,
            "VIGIL_TOKEN_ISSUER": self.token_issuer,
            "VIGIL_LOGIN_URL": self.login_url,
            "VIGIL_CA_BUNDLE": self.ca_file,
        }

    def standin_env(self) -> dict[str, str]:
        """The VIGIL_* variables that point a bot at the Graph and Defender stand-ins."""
        return self.standins.env(self.login_url) if self.standins is not None else {}

    @property
    def bot_endpoint(self) -> str | None:
        return self.bot_endpoints[0] if self.bot_endpoints else None

    @bot_endpoint.setter
    def bot_endpoint(self, url: str | None) -> None:
        self.bot_endpoints = [url] if url else []

    # Tokens

    def mint_token(
        self, *, alg: str = "RS256", kid: str | None = None, key: str = "channel", **claims: Any
    ) -> str:
        """A channel token; claims override the defaults and a claim set to None is left out.

        `alg` is RS256, "none" or HS256; `key="other"` signs with a key the JWKS does not list;
        `kid` overrides the header's key id.
        """
        return self._auth().mint(self.service_url, alg=alg, kid=kid, key=key, **claims)

    @property
    def token_requests(self) -> int:
        """How many outbound tokens the token endpoint has issued."""
        return self._auth().token_requests

    def _auth(self) -> AuthEndpoints:
        if self._auth_endpoints is None:
            raise RuntimeError("the channel is not started")
        return self._auth_endpoints

    # Driving the bot

    def register(self, conversation: ChannelConversation, *users: ChannelUser) -> None:
        """Make users members of a conversation (sends do this for the sender)."""
        self._require_started().register(conversation, *users)

    def activity(self, conversation_id: str, activity_id: str) -> dict[str, Any] | None:
        """The current version of an activity the bot sent (after updates), if it exists."""
        return self._require_started().activity(conversation_id, activity_id)

    def activity_version(self, conversation_id: str, activity_id: str) -> int | None:
        """The seq of the call that sent or last updated the activity, while it exists."""
        return self._require_started().version(conversation_id, activity_id)

    def new_activity(
        self,
        kind: str,
        user: ChannelUser,
        conversation: ChannelConversation,
        activity_id: str | None = None,
    ) -> dict[str, Any]:
        """The common part of an activity from `user`, with a fresh id unless one is given."""
        return activities.base_activity(
            kind, user, conversation, self.bot, self.service_url, activity_id or self._ids.next()
        )

    async def post_activity(
        self,
        user: ChannelUser | None,
        conversation: ChannelConversation,
        activity: dict[str, Any],
        *,
        authorization: str | None = "auto",
    ) -> tuple[int, Any]:
        """POST an activity to the bot; the HTTP status and the JSON body, if any."""
        connector = self._require_started()
        connector.register(conversation, *([user] if user else []))
        self.received.append(activity)
        body = aiohttp.payload.JsonPayload(activity)
        return await self._post(body, authorization)

    async def post_raw(
        self, body: bytes, *, content_type: str = "application/json", authorization="auto"
    ) -> int:
        """POST arbitrary bytes to the bot (for malformed-request tests)."""
        payload = aiohttp.payload.BytesPayload(body, content_type=content_type)
        status, _ = await self._post(payload, authorization)
        return status

    async def _post(self, payload: aiohttp.payload.Payload, authorization: str | None):
        if self._server is None or self._session is None:
            raise RuntimeError("the channel is not started")
        # The control API posts from the channel's own loop, with that loop's session.
        session = self._server.session if self._server.owns_running_loop() else self._session
        if session is None:
            raise RuntimeError("the channel is not started")
        if self._installs and not self._installing:
            await self._install()
        headers = {}
        if authorization == "auto":
            headers["Authorization"] = f"Bearer {self.mint_token()}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        urls = self._messages_urls()
        for n, url in enumerate(urls, 1):
            try:
                async with session.post(url, data=payload, headers=headers) as response:
                    text = await response.text()
                    try:
                        body = await response.json(content_type=None) if text else None
                    except ValueError:
                        body = text
                    return response.status, body
            except aiohttp.ClientConnectorError:
                # Never connected, so never delivered: the next instance may take it.
                if n == len(urls):
                    raise
        raise RuntimeError("bot_endpoint is not set")

    async def _install(self) -> None:
        """Install the bot in the stand-ins' team channels; tried again until the bot takes it."""
        self._installing = True
        try:
            for conversation in list(self._installs):
                if await self.send_conversation_update(conversation, [], bot_added=True) < 300:
                    self._installs.remove(conversation)
        finally:
            self._installing = False

    def _messages_urls(self) -> list[str]:
        """Every bot endpoint's messages URL, starting with the one whose turn it is."""
        if not self.bot_endpoints:
            raise RuntimeError("bot_endpoint is not set")
        urls = []
        for endpoint in self.bot_endpoints:
            host = urlsplit(endpoint).hostname or ""
            if not is_loopback_host(host):
                raise ValueError("the local channel only posts to a loopback bot endpoint")
            urls.append(endpoint.rstrip("/") + "/api/messages")
        start = self._next_endpoint % len(urls)
        self._next_endpoint += 1
        return urls[start:] + urls[:start]

    async def send_message(
        self,
        user: ChannelUser,
        conversation: ChannelConversation,
        text: str,
        *,
        mention: bool = False,
        activity_id: str | None = None,
        authorization: str | None = "auto",
    ) -> int:
        """A message from `user`; the bot's HTTP status."""
        activity = activities.message(
            self.new_activity("message", user, conversation, activity_id),
            text,
            self.bot,
            mention=mention,
        )
        status, _ = await self.post_activity(
            user, conversation, activity, authorization=authorization
        )
        return status

    async def send_card_action(
        self,
        user: ChannelUser,
        conversation: ChannelConversation,
        *,
        verb: str,
        data: dict[str, Any],
        reply_to_id: str,
        trigger: str = "manual",
    ) -> tuple[int, dict[str, Any]]:
        """An Action.Execute click: the invoke's HTTP status and its invoke response body."""
        activity = activities.card_action(
            self.new_activity("invoke", user, conversation),
            verb=verb,
            data=data,
            reply_to_id=reply_to_id,
            trigger=trigger,
        )
        status, body = await self.post_activity(user, conversation, activity)
        return status, body if isinstance(body, dict) else {}

    async def send_submit(
        self,
        user: ChannelUser,
        conversation: ChannelConversation,
        data: dict[str, Any],
        reply_to_id: str,
    ) -> int:
        """A legacy Action.Submit click: a message whose value is the data."""
        activity = activities.submit(
            self.new_activity("message", user, conversation), data, reply_to_id
        )
        status, _ = await self.post_activity(user, conversation, activity)
        return status

    async def send_conversation_update(
        self,
        conversation: ChannelConversation,
        members_added: list[ChannelUser],
        *,
        bot_added: bool = False,
    ) -> int:
        """Members (and maybe the bot) added; `from` is the first member added."""
        actor = members_added[0] if members_added else ChannelUser.named("Teams Admin")
        activity = activities.conversation_update(
            self.new_activity("conversationUpdate", actor, conversation),
            conversation,
            members_added,
            self.bot,
            bot_added=bot_added,
        )
        self.register(conversation, *members_added)
        status, _ = await self.post_activity(actor, conversation, activity)
        return status

    async def send_installation_update(
        self, user: ChannelUser, conversation: ChannelConversation, action: str = "add"
    ) -> int:
        activity = activities.installation_update(
            self.new_activity("installationUpdate", user, conversation), action
        )
        status, _ = await self.post_activity(user, conversation, activity)
        return status

    # What the bot sent

    def sent(self, conversation_id: str | None = None) -> list[RecordedCall]:
        """Successful connector calls, oldest first, optionally for one conversation."""
        return self._log.successful(conversation_id)

    def attempts(self) -> list[RecordedCall]:
        """Every connector call, including refused and faulted ones (with their status)."""
        return self._log.all()

    @property
    def last_seq(self) -> int:
        return self._log.last_seq

    async def wait_for(
        self,
        predicate: Callable[[RecordedCall], bool],
        timeout: float = 10,  # noqa: ASYNC109 - the documented interface
        *,
        since: int = 0,
    ) -> RecordedCall:
        """The first successful call after seq `since` matching predicate, or TimeoutError."""
        return await self._log.wait_for(predicate, timeout, since)

    async def wait_after(self, seq: int, conversation_id: str | None, wait: float) -> None:
        await self._log.wait_after(seq, conversation_id, wait)

    # Faults

    def inject_faults(self, status: int, count: int, retry_after: float | None = None) -> None:
        """Answer the next `count` connector calls with `status` (and Retry-After seconds)."""
        self._require_started().inject_faults(status, count, retry_after)

    def reject_large_bodies(self, limit: int | None = 40 * 1024) -> None:
        """Answer 413 to connector bodies over `limit` bytes from now on (None: no limit)."""
        self._require_started().body_limit = limit

    def _require_started(self) -> Connector:
        if self._connector is None:
            raise RuntimeError("the channel is not started")
        return self._connector


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock
