"""The Bot Framework adapter, tuned: strict auth, one token provider, our connector client.

Measured with botbuilder 4.17.1 (see shared/FACTS.md): stock auth answers 500 for most forged
tokens, builds a new MSAL client per turn and two msrest clients per turn, each rebuilding a
999-entry retry list. Here every validation failure is a 401, the token is cached per process,
replies and updates go out through the TeamsMessenger (redacted and size-checked like every
proactive post, over one aiohttp session) as JSON made without msrest's serializer
(bot/teams/activity_json.py), and msrest clients are built only when a rare SDK path (TeamsInfo)
asks for one.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ActivityTypes, ConversationReference, ResourceResponse
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AppCredentials,
    AuthenticateRequestResult,
    ServiceClientCredentialsFactory,
    SkillValidation,
)
from msrest.universal_http import requests as msrest_requests

from bot.entra.tokens import BotTokenProvider
from bot.kernel.settings import ServiceSettings
from bot.teams.activity_json import activity_json
from bot.teams.messenger import TeamsMessenger

log = logging.getLogger(__name__)

# msrest rebuilds `[i for i in range(999) if i not in safe_codes]` for every client; with a list
# that is ~500k comparisons (about 4 ms of CPU per client). A frozenset makes it ~1k lookups.
msrest_requests.ClientRetryPolicy.safe_codes = frozenset(
    msrest_requests.ClientRetryPolicy.safe_codes
)


class AuthenticationFailed(Exception):
    """The request's channel token is missing or invalid; answered with 401."""


class _ProviderCredentials(AppCredentials):
    """msrest credentials that read the process's cached bot token."""

    def __init__(self, tokens: BotTokenProvider, scope: str) -> None:
        super().__init__(app_id=tokens.app_id, oauth_scope=scope)
        self._tokens = tokens

    def get_access_token(self, force_refresh: bool = False) -> str:
        token = self._tokens.cached()
        if token is None:
            # Turns prefetch the token, so this only happens outside a turn.
            raise PermissionError("bot token not fetched yet")
        return token


class CachedCredentialsFactory(ServiceClientCredentialsFactory):
    def __init__(self, app_id: str, tokens: BotTokenProvider) -> None:
        self._app_id = app_id
        self._tokens = tokens
        self._credentials: dict[str, _ProviderCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(app_id) and app_id == self._app_id

    async def is_authentication_disabled(self) -> bool:
        # Never: without an app id every request is refused (see VigilAdapter.authenticate).
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        if app_id != self._app_id:
            raise PermissionError("invalid app id")
        credentials = self._credentials.get(oauth_scope)
        if credentials is None:
            credentials = self._credentials[oauth_scope] = _ProviderCredentials(
                self._tokens, oauth_scope
            )
        return credentials


class _LazyConnectorClient:
    """Stands in for the msrest ConnectorClient; builds the real one only when an SDK path
    (TeamsInfo, say) touches it, since most turns never do."""

    def __init__(self, credentials: AppCredentials, service_url: str) -> None:
        self._credentials = credentials
        self._service_url = service_url
        self._client: ConnectorClient | None = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = ConnectorClient(self._credentials, base_url=self._service_url)
        return getattr(self._client, name)


def bot_authentication(
    settings: ServiceSettings, tokens: BotTokenProvider
) -> ConfigurationBotFrameworkAuthentication:
    configuration = SimpleNamespace(
        APP_ID=settings.app_id,
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.tenant_id,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.token_issuer,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=settings.login_url,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=settings.oauth_scope,
        VALIDATE_AUTHORITY=False,
    )
    return ConfigurationBotFrameworkAuthentication(
        configuration,
        credentials_factory=CachedCredentialsFactory(settings.app_id, tokens),
    )


class VigilAdapter(CloudAdapter):
    def __init__(
        self, settings: ServiceSettings, tokens: BotTokenProvider, messenger: TeamsMessenger
    ) -> None:
        super().__init__(bot_authentication(settings, tokens))
        self.app_id = settings.app_id
        self.tokens = tokens
        self.messenger = messenger

    async def authenticate(self, activity: Activity, auth_header: str) -> AuthenticateRequestResult:
        """Validate the channel token; every failure is AuthenticationFailed (a 401)."""
        if not self.app_id:
            raise AuthenticationFailed("no bot app id configured")
        if not auth_header:
            raise AuthenticationFailed("missing Authorization header")
        try:
            result = await self.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except Exception as exc:  # botbuilder raises many types for bad JWTs; all mean 401
            raise AuthenticationFailed(f"{type(exc).__name__}") from None
        claims = result.claims_identity
        if claims is None or not claims.is_authenticated:
            raise AuthenticationFailed("not authenticated")
        if SkillValidation.is_skill_claim(claims.claims):
            # Vigil is not a skill; skill tokens are validated against other issuers.
            raise AuthenticationFailed("skill tokens are not accepted")
        return result

    async def process_activity(self, auth: Any, activity: Activity, logic: Any):
        if not isinstance(auth, AuthenticateRequestResult):
            auth = await self.authenticate(activity, auth or "")
        activity.caller_id = auth.caller_id
        await self.tokens.token()  # so a lazily built msrest client finds a cached token
        context = self._create_turn_context(
            activity,
            auth.claims_identity,
            auth.audience,
            _LazyConnectorClient(
                _ProviderCredentials(self.tokens, auth.audience), activity.service_url
            ),
            None,
            logic,
            auth.connector_factory,
        )
        await self.run_pipeline(context, logic)
        return self._process_turn_results(context)

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        responses = []
        for activity in activities:
            if activity.type == ActivityTypes.invoke_response:
                context.turn_state[self._INVOKE_RESPONSE_KEY] = activity
                responses.append(ResourceResponse(id=""))
                continue
            if activity.type in (ActivityTypes.trace, "delay"):
                responses.append(ResourceResponse(id=""))
                continue
            activity.id = None
            new_id = await self.messenger.send_activity(
                activity.service_url,
                activity.conversation.id,
                activity_json(activity),
                reply_to=activity.reply_to_id or "",
            )
            responses.append(ResourceResponse(id=new_id))
        return responses

    async def update_activity(self, context: TurnContext, activity: Activity) -> ResourceResponse:
        new_id = await self.messenger.replace_activity(
            activity.service_url, activity.conversation.id, activity.id, activity_json(activity)
        )
        return ResourceResponse(id=new_id)

    async def delete_activity(self, context: TurnContext, reference: ConversationReference) -> None:
        await self.messenger.delete_activity(
            reference.service_url, reference.conversation.id, reference.activity_id
        )
