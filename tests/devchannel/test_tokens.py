"""Channel tokens validate with PyJWT against the channel's own JWKS; forgeries do not."""

from __future__ import annotations

import ssl
import time

import aiohttp
import jwt
import pytest

from bot.devchannel.channel import ChannelConversation, ChannelUser, LocalChannel
from tests.devchannel.conftest import APP_ID, APP_PASSWORD

# botbuilder allows 5 minutes of clock skew, so forged times are an hour off.
HOUR = 3600


async def fetch_jwks(channel: LocalChannel) -> tuple[dict, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.get(channel.openid_metadata_url) as response:
            metadata = await response.json()
        async with session.get(metadata["jwks_uri"]) as response:
            return metadata, await response.json()


def validate(token: str, channel: LocalChannel, jwks: dict) -> dict:
    """What a bot does: find the kid in the JWKS, check RS256 signature, aud and iss."""
    header = jwt.get_unverified_header(token)
    keys = {k["kid"]: k for k in jwks["keys"]}
    if header.get("kid") not in keys:
        raise jwt.InvalidTokenError("unknown kid")
    key = jwt.PyJWK(keys[header["kid"]])
    return jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=APP_ID,
        issuer=channel.token_issuer,
        options={"require": ["exp", "nbf", "iss", "aud"]},
    )


async def test_channel_token_round_trip(channel: LocalChannel) -> None:
    metadata, jwks = await fetch_jwks(channel)
    assert metadata["issuer"] == channel.token_issuer
    assert all("msteams" in k["endorsements"] for k in jwks["keys"])
    claims = validate(channel.mint_token(), channel, jwks)
    assert claims["serviceurl"] == channel.service_url
    assert claims["aud"] == APP_ID
    # ver/appid would make botbuilder treat it as a skill token.
    assert "ver" not in claims and "appid" not in claims


FORGERIES = {
    "alg none": {"alg": "none"},
    "HS256": {"alg": "HS256"},
    "wrong key": {"key": "other"},
    "unknown kid": {"kid": "not-a-published-kid"},
    "expired": {"exp": int(time.time()) - HOUR},
    "nbf in the future": {"nbf": int(time.time()) + HOUR},
    "wrong aud": {"aud": "00000000-0000-0000-0000-000000000000"},
    "wrong iss": {"iss": "https://attacker.invalid/"},
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
async def test_forged_tokens_fail_validation(channel: LocalChannel, case: str) -> None:
    _, jwks = await fetch_jwks(channel)
    with pytest.raises(jwt.InvalidTokenError):
        validate(channel.mint_token(**FORGERIES[case]), channel, jwks)


async def test_serviceurl_claim_can_differ_from_the_activity(channel: LocalChannel) -> None:
    _, jwks = await fetch_jwks(channel)
    claims = validate(channel.mint_token(serviceurl="http://127.0.0.1:9/"), channel, jwks)
    assert claims["serviceurl"] != channel.service_url


async def test_a_claim_set_to_none_is_left_out(channel: LocalChannel) -> None:
    claims = jwt.decode(channel.mint_token(serviceurl=None), options={"verify_signature": False})
    assert "serviceurl" not in claims


@pytest.mark.parametrize(
    "case", [*sorted(FORGERIES), "serviceurl mismatch", "missing header", "not bearer"]
)
async def test_stock_botbuilder_refuses_forgeries(echo_bot: LocalChannel, case: str) -> None:
    """The real botbuilder stack refuses each forgery; nothing reaches the connector."""
    channel = echo_bot
    user = ChannelUser.named("Mallory")
    if case == "serviceurl mismatch":
        authorization: str | None = "Bearer " + channel.mint_token(serviceurl="http://127.0.0.1:9/")
    elif case == "missing header":
        authorization = None
    elif case == "not bearer":
        authorization = "Basic " + channel.mint_token()
    else:
        authorization = "Bearer " + channel.mint_token(**FORGERIES[case])
    status = await channel.send_message(
        user, ChannelConversation.personal(user), "hi", authorization=authorization
    )
    # Stock botbuilder answers some of these with 500 (see FACTS.md); Vigil maps them to 401.
    assert status in (401, 500)
    assert channel.attempts() == []


async def token_request(channel: LocalChannel, **form: str) -> tuple[int, dict]:
    context = ssl.create_default_context(cafile=channel.ca_file)
    data = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_PASSWORD,
        "scope": "https://api.botframework.com/.default",
    }
    data.update(form)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            channel.login_url + "/oauth2/v2.0/token", data=data, ssl=context
        ) as response:
            return response.status, await response.json()


async def test_token_endpoint_issues_the_bot_token(channel: LocalChannel) -> None:
    status, body = await token_request(channel)
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == channel.oauth_scope and claims["appid"] == APP_ID
    assert channel.token_requests == 1


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_secret": ""}, 401, "invalid_client"),
        ({"client_id": "someone-else"}, 400, "unauthorized_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"scope": "https://api.botframework.com"}, 400, "invalid_scope"),
        ({"scope": "a/.default b/.default"}, 400, "invalid_scope"),
    ],
)
async def test_token_endpoint_errors(channel: LocalChannel, form, status, error) -> None:
    got_status, body = await token_request(channel, **form)
    assert (got_status, body["error"]) == (status, error)
    assert APP_PASSWORD not in str(body) and "wrong" not in str(body)
    assert channel.token_requests == 0


async def test_token_endpoint_wants_a_form_and_the_right_tenant(channel: LocalChannel) -> None:
    context = ssl.create_default_context(cafile=channel.ca_file)
    async with aiohttp.ClientSession() as session:
        url = channel.login_url + "/oauth2/v2.0/token"
        async with session.post(url, json={"grant_type": "x"}, ssl=context) as response:
            assert response.status == 400
        other = (
            channel.login_url.replace("botframework.com", "other.example") + "/oauth2/v2.0/token"
        )
        async with session.post(other, data={"a": "b"}, ssl=context) as response:
            assert response.status == 400


async def test_login_authority_is_https_with_the_channel_ca(channel: LocalChannel) -> None:
    assert channel.login_url.startswith("https://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(channel.login_url + "/v2.0/.well-known/openid-configuration")
        context = ssl.create_default_context(cafile=channel.ca_file)
        url = channel.login_url + "/v2.0/.well-known/openid-configuration"
        async with session.get(url, ssl=context) as response:
            assert (await response.json())["token_endpoint"].startswith(channel.login_url)


def test_bot_env_names_every_setting(channel: LocalChannel) -> None:
    env = channel.bot_env()
    assert set(env) == {
        "VIGIL_APP_ID",
        "VIGIL_APP_PASSWORD",
        "VIGIL_OPENID_METADATA_URL",
        "VIGIL_TOKEN_ISSUER",
        "VIGIL_LOGIN_URL",
        "VIGIL_CA_BUNDLE",
    }
    assert APP_PASSWORD not in repr(channel)


def test_only_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        LocalChannel(app_id=APP_ID, app_password=APP_PASSWORD, host="192.0.2.1")


async def test_only_loopback_bot_endpoints(channel: LocalChannel) -> None:
    channel.bot_endpoint = "http://192.0.2.10:3978"
    user = ChannelUser.named("Alice")
    with pytest.raises(ValueError, match="loopback"):
        await channel.send_message(user, ChannelConversation.personal(user), "hi")
