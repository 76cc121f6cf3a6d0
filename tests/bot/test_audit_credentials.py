"""The audit log keeps no credential: a chat command's parameters are redacted as one text.

Black-box: each message goes to the bot over HTTP from the local Teams channel; the audit log is
then read back as the SIEM export gives it (`AuditRecord.to_export`). Two ways into the record's
parameters: a command that takes the rest of the line (`alerts route-test`, parsed args) and a
command that takes nothing (`ping`, a usage error whose words are recorded).
"""

from __future__ import annotations

import json

import pytest

from bot.audit.log import AuditLog
from bot.devchannel.channel import ChannelConversation
from bot.kernel.redaction import MARK
from tests.bot.harness import ANALYST, AUDIT_KEY, Harness

# (what the analyst pastes, the secret parts that must not be kept anywhere in the record)
CREDENTIALS = [
    ("pwd: S3cr3tPwd-41", ["S3cr3tPwd-41"]),
    ("password = hunter2-Zq", ["hunter2-Zq"]),
    ("Password : Zq9-long", ["Zq9-long"]),
    ("Authorization: Basic dXNlcjpTM2NyM3Q=", ["dXNlcjpTM2NyM3Q"]),
    ("Authorization: Bearer eyQ3.tokEn4.sIg5", ["eyQ3.tokEn4.sIg5"]),
    (
        'Authorization: Digest username="bob", realm="r", nonce="dcd98b7102dd2f0e",'
        ' response="6629fae49393a05397450978507c4ef1"',
        ["dcd98b7102dd2f0e", "6629fae49393a05397450978507c4ef1"],
    ),
    ('{"client_secret": "Cs7 two Words"}', ["Cs7", "Words"]),
    (
        '{"password":"pw-ONE", "apikey": "ak-TWO", "token": "tk-THREE"}',
        ["pw-ONE", "ak-TWO", "tk-THREE"],
    ),
    ('{"access_token": "at-A1", "refresh_token": "rt-B2"}', ["at-A1", "rt-B2"]),
    ('{"private_key": "pk-C3", "secret": "sc-D4", "passwd": "pd-E5"}', ["pk-C3", "sc-D4", "pd-E5"]),
    ('{"password": "with \\"quote\\" Inside"}', ["quote", "Inside"]),
    ("api_key: ak-yaml-9\naccess_token: 'at yaml 8'", ["ak-yaml-9", "at yaml 8", "yaml"]),
    (
        "creds:\n  private_key: |\n    pkLine-One\n    pkLine-Two\n  next: ok",
        ["pkLine-One", "pkLine-Two"],
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecret\nQkFTRTY0bGluZQ\n"
        "-----END RSA PRIVATE KEY-----",
        ["MIIEowIBAAKCAQEAsecret", "QkFTRTY0bGluZQ"],
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGSecretPgp\n=Xy12\n"
        "-----END PGP PRIVATE KEY BLOCK-----",
        ["lQOYBGSecretPgp"],
    ),
    ("psql postgresql://vigil:S3cr3tPg@db.internal:5432/vigil", ["S3cr3tPg"]),
    ("Server=db;User Id=sa;Password=Ado-Pw-1;Database=x", ["Ado-Pw-1"]),
    ("Server=db;User Id=sa;Password = Ado two words;Database=x", ["Ado", "two words"]),
    (
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy+/Qk==;EndpointSuffix=x",
        ["Zm9vYmFy"],
    ),
    ("Endpoint=sb://x.example/;SharedAccessKeyName=Root;SharedAccessKey=SaKey9=", ["SaKey9"]),
    ("SharedAccessSignature sr=x&sig=SaSiG%2Bx%3D&se=1&skn=Root", ["SaSiG"]),
]

# Text that looks like a credential and is not one: it stays in the record as it was said.
LOOK_ALIKES = [
    "password reset for bob",
    "token bucket",
    "key: value-of-sku",
    "the secret garden",
    "token ring network",
    "basic auth is disabled",
    "a bearer of bad news",
    "the password field is empty",
    "passwords must rotate every 90 days",
    "api keys were rotated by the platform team",
    "private key rotation is scheduled",
    "refresh the token cache",
    "secretary of state",
    "digest of the alerts for bob",
    "pass: the ball",
    "sig: John Smith",
    "username: bob",
    "author: alice",
    "oauth flow broken",
    "keyword=monkey; donkey=12",
    "sku=AB-123 host=web-01 user=bob",
    "md5 44d88612fea8a8f36de82e1f1b3fd6e8",
    "sha1 3395856ce81f2b7382dee72602f798b642f14140",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "user 72f988bf-86f1-41af-91ab-2d7cd011db47 approved",
    "ip 203.0.113.7 and 2001:db8::1",
    "https://evil.example/login.php?session=abc",
    "postgresql://db.internal:5432/vigil",
    "Server=db;Database=vigil;Trusted_Connection=True;",
    "AccountName=vigilstore",
    "CVE-2024-3094 T1059.001 INC-20240115-001",
    "C:/Windows/System32/drivers/etc/hosts",
    "ThisIsALongCamelCaseIdentifierName2024",
    "the Basic plan and the Digest newsletter",
    "-----BEGIN PUBLIC KEY----- is not secret",
]


@pytest.fixture
async def bot(tmp_path):
    # Many messages from one analyst: above the per-user rate limit of a real deployment.
    harness = await Harness.start(
        f"sqlite:///{tmp_path}/vigil.db", {"VIGIL_USER_RATE_PER_MINUTE": "1000"}
    )
    try:
        yield harness
    finally:
        await harness.close()


async def _last(harness: Harness) -> dict:
    log = AuditLog(harness.vigil.services.store, AUDIT_KEY.encode())
    [record] = await log.tail(1)
    return record.to_export()


def _leaks(record: dict, parts: list[str]) -> list[str]:
    kept = json.dumps(record, ensure_ascii=False)
    # Also as the JSON escape of a newline or quote would spell a part.
    return [part for part in parts if part in kept or json.dumps(part)[1:-1] in kept]


@pytest.mark.parametrize("command", ["alerts route-test", "ping"])
async def test_no_credential_shape_is_kept_in_the_audit_log(bot, command):
    leaked = {}
    for text, parts in CREDENTIALS:
        await bot.say(ANALYST, f"{command} {text}")
        record = await _last(bot)
        assert record["action"] == f"command:{command.split()[0]}"
        if found := _leaks(record, parts):
            leaked[text] = (found, record["parameters"], record["target"])
    assert not leaked, json.dumps(leaked, indent=1)


async def test_look_alikes_are_kept_as_they_were_said(bot):
    changed = {}
    for text in LOOK_ALIKES:
        await bot.say(ANALYST, f"ping {text}")
        record = await _last(bot)
        assert record["action"] == "command:ping"
        assert record["result"] == "refused"  # ping takes nothing: a usage error
        if MARK in json.dumps(record):
            changed[text] = record["parameters"]
    assert len(LOOK_ALIKES) >= 30
    assert not changed, json.dumps(changed, indent=1)


async def test_a_card_action_keeps_no_value_of_a_field_named_as_a_credential(bot):
    """Card data is a dict, not a text: a value under `password` is no `password=` pair."""
    conversation = ChannelConversation.personal(ANALYST)
    await bot.say(ANALYST, "ping", conversation)
    data = {"db_password": "Card-Pw 1", "clientSecret": "Card-Cs-2", "note": "token bucket"}
    status, _ = await bot.channel.send_card_action(
        ANALYST, conversation, verb="help.show", data=data, reply_to_id="1"
    )
    assert status == 200
    record = await _last(bot)
    assert record["action"] == "action:help.show"
    assert record["parameters"] == {
        "db_password": MARK,
        "clientSecret": MARK,
        "note": "token bucket",
    }
