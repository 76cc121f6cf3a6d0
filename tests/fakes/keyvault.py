"""A local Azure Key Vault (secrets subset) plus an App Service managed-identity token endpoint.

The vault is HTTPS on 127.0.0.1 with a certificate from tests.fakes.tls; the identity endpoint is
plain HTTP on 127.0.0.1, as App Service's IDENTITY_ENDPOINT is. Shapes follow the Key Vault REST
reference (Get Secret, api-version 7.x) and the App Service managed identity protocol 2019-08-01.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.tls import make_ca

VAULT_RESOURCE = "https://vault.azure.net"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
NAME_PATTERN = re.compile(r"[0-9a-zA-Z-]{1,127}")


@dataclass
class SecretVersion:
    value: str
    version: str
    enabled: bool = True
    content_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created: int = field(default_factory=lambda: int(time.time()))


def _error(status: int, code: str, message: str, inner: str | None = None, **headers: str):
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if inner:
        body["error"]["innererror"] = {"code": inner}
    return web.json_response(body, status=status, headers=headers)


class KeyVaultFake:
    """Start with `await fake.start(tmp_path)`; set secrets with `set_secret` at any time."""

    def __init__(self, *, identity_header: str | None = None, client_ids: tuple[str, ...] = ()):
        self.identity_header = identity_header or secrets.token_hex(16)
        # Client ids of user-assigned identities; a request naming another one is refused.
        self.client_ids = client_ids
        self.secrets: dict[str, list[SecretVersion]] = {}
        self.forbidden: set[str] = set()
        self.tokens: dict[str, tuple[str, float]] = {}
        self.secret_gets: Counter[str] = Counter()
        self.token_requests = 0
        self.challenges = 0
        self.ca_path = ""
        self.vault_url = ""
        self.identity_endpoint = ""
        self._runners: list[web.AppRunner] = []

    # --- test controls -------------------------------------------------------------------------

    def set_secret(self, name: str, value: str, **options: Any) -> str:
        """Store a new version (a rotation when the name exists); returns the version id."""
        version = SecretVersion(value=value, version=uuid.uuid4().hex, **options)
        self.secrets.setdefault(name, []).append(version)
        return version.version

    def disable(self, name: str) -> None:
        self.secrets[name][-1].enabled = False

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def environ(self) -> dict[str, str]:
        """Environment for azure-identity's App Service managed identity."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
        }

    # --- servers -------------------------------------------------------------------------------

    async def start(self, directory: str | Path) -> KeyVaultFake:
        self.ca_path, server_context = make_ca(Path(directory) / "keyvault-tls")
        vault = web.Application()
        vault.router.add_get("/secrets/{name}", self._get_secret)
        # The SDK asks for the latest version as /secrets/{name}/ (an empty version segment).
        vault.router.add_get("/secrets/{name}/", self._get_secret)
        vault.router.add_get("/secrets/{name}/{version}", self._get_secret)
        identity = web.Application()
        identity.router.add_get("/msi/token", self._issue_token)
        vault_port = await self._serve(vault, server_context)
        identity_port = await self._serve(identity, None)
        self.vault_url = f"https://127.0.0.1:{vault_port}"
        self.identity_endpoint = f"http://127.0.0.1:{identity_port}/msi/token"
        return self

    async def _serve(self, app: web.Application, ssl_context: Any) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        self._runners.append(runner)
        return runner.addresses[0][1]

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    # --- managed identity (App Service, api-version 2019-08-01) --------------------------------

    async def _issue_token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if request.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            return web.json_response(
                {"statusCode": 401, "message": "Unauthorized: missing or wrong X-IDENTITY-HEADER"},
                status=401,
            )
        query = request.query
        if query.get("api-version") != "2019-08-01":
            return web.json_response(
                {"statusCode": 400, "message": "unsupported api-version"}, status=400
            )
        resource = query.get("resource", "")
        if not resource:
            return web.json_response({"statusCode": 400, "message": "resource missing"}, status=400)
        client_id = query.get("client_id")
        if client_id is not None and client_id not in self.client_ids:
            return web.json_response(
                {"statusCode": 400, "message": "Unable to load the proper Managed Identity."},
                status=400,
            )
        token = secrets.token_urlsafe(32)
        expires_on = int(time.time()) + 3600
        self.tokens[token] = (resource, expires_on)
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client_id or "00000000-0000-0000-0000-000000000001",
            }
        )

    # --- Key Vault secrets ---------------------------------------------------------------------

    def _challenge(self) -> str:
        return (
            f'Bearer authorization="https://login.microsoftonline.com/{TENANT_ID}", '
            f'resource="{VAULT_RESOURCE}"'
        )

    async def _get_secret(self, request: web.Request) -> web.Response:
        if not request.query.get("api-version"):
            return _error(400, "BadParameter", "The api-version query parameter is required.")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            self.challenges += 1
            return _error(
                401,
                "Unauthorized",
                "AKV10000: Request is missing a Bearer or PoP token.",
                **{"WWW-Authenticate": self._challenge()},
            )
        grant = self.tokens.get(auth.removeprefix("Bearer "))
        if grant is None or grant[0] != VAULT_RESOURCE or grant[1] < time.time():
            return _error(
                401,
                "Unauthorized",
                "AKV10032: Invalid issuer or token.",
                **{"WWW-Authenticate": self._challenge()},
            )
        name = request.match_info["name"]
        if not NAME_PATTERN.fullmatch(name):
            return _error(400, "BadParameter", "The secret name is invalid.")
        self.secret_gets[name] += 1
        if name in self.forbidden:
            return _error(
                403,
                "Forbidden",
                "The user, group or application does not have secrets get permission.",
                "AccessDenied",
            )
        bundle = self._find(name, request.match_info.get("version"))
        if bundle is None:
            return _error(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name} was not found in this key vault.",
            )
        if not bundle.enabled:
            return _error(
                403,
                "Forbidden",
                "Operation get is not allowed on a disabled secret.",
                "SecretDisabled",
            )
        return web.json_response(self._bundle(name, bundle))

    def _find(self, name: str, version: str | None) -> SecretVersion | None:
        versions = self.secrets.get(name, [])
        if version is None:
            return versions[-1] if versions else None
        return next((v for v in versions if v.version == version), None)

    def _bundle(self, name: str, version: SecretVersion) -> dict[str, Any]:
        body: dict[str, Any] = {
            "value": version.value,
            "id": f"{self.vault_url}/secrets/{name}/{version.version}",
            "attributes": {
                "enabled": version.enabled,
                "created": version.created,
                "updated": version.created,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": version.tags,
        }
        if version.content_type is not None:
            body["contentType"] = version.content_type
        return body
