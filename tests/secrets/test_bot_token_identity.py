"""With VIGIL_APP_TYPE=UserAssignedMSI the bot's own token comes from the managed identity."""

from __future__ import annotations

import pytest

from bot.entra.tokens import BotTokenProvider, TokenUnavailable
from tests.secrets.conftest import USER_ASSIGNED_CLIENT_ID


def _provider(client_id: str) -> BotTokenProvider:
    return BotTokenProvider(
        app_id=client_id,
        app_type="UserAssignedMSI",
        login_url="https://login.microsoftonline.com/botframework.com",
        scope="https://api.botframework.com",
    )


async def test_managed_identity_token_is_fetched_once_and_cached(vault):
    tokens = _provider(USER_ASSIGNED_CLIENT_ID)
    first = await tokens.token()
    assert first in vault.tokens
    resource, _ = vault.tokens[first]
    assert resource == "https://api.botframework.com"
    assert await tokens.token() == first
    assert vault.token_requests == 1
    tokens.invalidate()
    assert await tokens.token() != first


async def test_unknown_identity_is_a_clear_error(vault):
    with pytest.raises(TokenUnavailable, match="managed identity token failed"):
        await _provider("99999999-0000-4000-8000-000000000000").token()
