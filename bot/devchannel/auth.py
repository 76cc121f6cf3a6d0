"""Token services of the local channel: channel tokens to the bot, and the bot's login authority.

Channel tokens are shaped like the Teams channel's (iss, aud = app id, serviceurl, nbf, exp;
RS256 with a `kid` the JWKS lists with endorsement "msteams"; no `ver`/`appid`, which would make
botbuilder take them for skill tokens). The login authority serves MSAL's tenant discovery and a
client-credentials token endpoint with AAD's success and error shapes.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from bot.devchannel.identity import LOCAL_TENANT
from bot.devchannel.keys import SigningKey, hs256_token, unsigned_token

LOGIN_TENANT = "botframework.com"


@dataclass
class AuthEndpoints:
    """Where the token services live; filled in once the channel's ports are known."""

    key: SigningKey
    app_id: str
    app_password: str
    base_url: str  # http://127.0.0.1:P
    tls_base_url: str  # https://127.0.0.1:Q
    token_lifetime: int
    token_requests: int = 0
    _other_key: SigningKey | None = None

    def __repr__(self) -> str:
        return f"AuthEndpoints(app_id={self.app_id!r}, base_url={self.base_url!r})"

    @property
    def openid_metadata_url(self) -> str:
        # botbuilder caches signing keys per metadata URL for a day and refetches on an unknown
        # kid at most hourly; a new channel on a reused port would otherwise be refused. The
        # key id makes the URL this channel's own.
        return f"{self.base_url}/v1/.well-known/openidconfiguration?channel={self.key.kid}"

    @property
    def token_issuer(self) -> str:
        return f"{self.tls_base_url}/channel"

    @property
    def login_url(self) -> str:
        return f"{self.tls_base_url}/{LOGIN_TENANT}"

    @property
    def login_issuer(self) -> str:
        return f"{self.login_url}/v2.0"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid_metadata)
        app.router.add_get("/v1/.well-known/keys", self._jwks)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._login_metadata)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)

    def mint(
        self,
        service_url: str,
        *,
        alg: str = "RS256",
        kid: str | None = None,
        key: str = "channel",
        **claims: Any,
    ) -> str:
        """A channel token; see LocalChannel.mint_token."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "serviceurl": service_url,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "iss": self.token_issuer,
            "aud": self.app_id,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        kid = kid or self.key.kid
        if alg == "none":
            return unsigned_token(payload, kid)
        if alg == "HS256":
            # The classic algorithm confusion: the public key used as an HMAC secret.
            public_pem = self.key.public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return hs256_token(payload, kid, public_pem)
        if alg != "RS256":
            raise ValueError("alg must be RS256, none or HS256")
        if key == "other":
            self._other_key = self._other_key or SigningKey()
            return self._other_key.sign(payload, kid)
        if key != "channel":
            raise ValueError('key must be "channel" or "other"')
        return self.key.sign(payload, kid)

    async def _openid_metadata(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.token_issuer,
                "authorization_endpoint": f"{self.base_url}/v1/authorize",
                "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.jwk()]})

    async def _login_metadata(self, request: web.Request) -> web.Response:
        if request.match_info["tenant"] != LOGIN_TENANT:
            return oauth_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        return web.json_response(
            {
                "issuer": self.login_issuer,
                "authorization_endpoint": f"{self.login_url}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.login_url}/oauth2/v2.0/token",
                "jwks_uri": f"{self.login_url}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "response_types_supported": ["code", "token"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _token(self, request: web.Request) -> web.Response:
        """The client-credentials grant; the token's audience is the requested resource."""
        if request.match_info["tenant"] != LOGIN_TENANT:
            return oauth_error(400, "invalid_tenant", "AADSTS90002: Tenant not found.")
        if request.content_type != "application/x-www-form-urlencoded":
            return oauth_error(400, "invalid_request", "AADSTS900144: expected a form body.")
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "AADSTS70003: unsupported grant.")
        if not _same(form.get("client_id"), self.app_id):
            return oauth_error(
                400, "unauthorized_client", "AADSTS700016: Application not found in the directory."
            )
        if not _same(form.get("client_secret"), self.app_password):
            return oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret.")
        scope = str(form.get("scope", ""))
        if not scope.endswith("/.default") or " " in scope.strip():
            return oauth_error(
                400, "invalid_scope", "AADSTS1002012: scope must be <resource>/.default."
            )
        now = int(time.time())
        token = self.key.sign(
            {
                "aud": scope.removesuffix("/.default"),
                "iss": self.login_issuer,
                "iat": now,
                "nbf": now,
                "exp": now + self.token_lifetime,
                "appid": self.app_id,
                "azp": self.app_id,
                "tid": LOCAL_TENANT,
                "ver": "2.0",
            }
        )
        self.token_requests += 1
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )


def _same(given: Any, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def oauth_error(status: int, error: str, description: str) -> web.Response:
    """AAD's error body: error, error_description, error_codes."""
    return web.json_response(
        {"error": error, "error_description": description, "error_codes": []}, status=status
    )
