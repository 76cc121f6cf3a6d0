"""Redaction: examples of each rule, what must stay, configuration, properties, hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kernel.config import ConfigError, RawConfig
from bot.kernel.redaction import MARK, PII_MARKS, Redactor

SECRET = "Zq8-audit-hmac-key-Value"

REDACTED = [
    ("password=hunter2!", "password=[REDACTED]"),
    ("db_password = 'correct horse'", "db_password = '[REDACTED]'"),
    ('{"client_secret": "abc def", "x": 1}', '{"client_secret": "[REDACTED]", "x": 1}'),
    ("X-Api-Key: 0a1b2c3d4e", "X-Api-Key: [REDACTED]"),
    ("apikey: q1w2e3r4", "apikey: [REDACTED]"),
    ("https://x.example/cb?key=abc123&user=bob", "https://x.example/cb?key=[REDACTED]&user=bob"),
    ("sv=2022&sig=AbC%2Fdef%3D&se=1", "sv=2022&sig=[REDACTED]&se=1"),
    ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer [REDACTED]"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz'", "curl -H 'Authorization: Basic [REDACTED]'"),
    ("token bearer 9f8e7d6c5b4a", "token bearer [REDACTED]"),
    ("jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln-_x end", "jwt [REDACTED] end"),
    ("aws AKIAIOSFODNN7EXAMPLE ok", "aws [REDACTED] ok"),
    ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret [REDACTED]"),
    ("gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "gh [REDACTED]"),
    ("slack xoxb-123456789012-abcdefABCDEF", "slack [REDACTED]"),
    ("google AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW", "google [REDACTED]"),
    ("pay sk_live_4eC39HqLyjWDarjtT1zdp7dc", "pay [REDACTED]"),
    (
        "post to https://hooks.slack.com/services/T0/B0/XyZ",
        "post to https://hooks.slack.com/services/[REDACTED]",
    ),
    (
        "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/xyz",
        "https://contoso.webhook.office.com/webhookb2/[REDACTED]",
    ),
    (
        "psql postgres://vigil:s3cr3t@db.internal:5432/vigil",
        "psql postgres://[REDACTED]@db.internal:5432/vigil",
    ),
    ("hxxps://admin:pw@evil[.]example/x", "hxxps://[REDACTED]@evil[.]example/x"),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA\n-----END RSA PRIVATE KEY-----\nafter",
        "[REDACTED]\nafter",
    ),
    ("blob Qm9vbTlYcjRrTjJ2WjdQcTFMbTVUeThXcjNFdTZJ end", "blob [REDACTED] end"),
    ('password="never closed and more', 'password="[REDACTED]'),
]

KEPT = [
    "check-hash 44d88612fea8a8f36de82e1f1b3fd6e8",
    "check-hash 3395856ce81f2b7382dee72602f798b642f14140",
    "check-hash e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "CHECK-HASH E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    "check-ip 203.0.113.7 and 2001:db8::1",
    "check-url https://evil.example/login.php?session=abc",
    "check-domain xn--80ak6aa92e.com a8f7g6h5j4k3l2z9x8c7v6b5n4m3q2w1e0r9t8y7.example",
    "user 72f988bf-86f1-41af-91ab-2d7cd011db47 approved INC-20240115-001",
    "the basic idea: a bearer of bad news, key points and a password policy",
    "Set-Content C:/Users/Administrator/Documents/Projects2024",
    "ThisIsALongCamelCaseIdentifierName2024",
    "mail bob@example.com, call +1 (555) 123-4567",  # PII is opt-in
    "keyword=monkey; donkey=12",
]


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([SECRET])


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_redacts(redactor, text, expected):
    assert redactor.redact(text) == expected
    assert redactor.redact(expected) == expected


@pytest.mark.parametrize("text", KEPT)
def test_keeps_indicators_and_ordinary_text(redactor, text):
    assert redactor.redact(text) == text


def test_configured_secret_is_redacted_anywhere(redactor):
    text = f"x{SECRET}y and url-encoded a%20{SECRET.replace('-', '%2D')} and {SECRET}"
    out = redactor.redact(text)
    assert SECRET not in out
    assert out.startswith(f"x{MARK}y")


def test_remember_adds_values_and_ignores_short_ones():
    redactor = Redactor()
    redactor.remember("rotated-value-2")
    redactor.remember("abc")
    assert redactor.redact("use rotated-value-2 or abc") == f"use {MARK} or abc"


def test_url_encoded_secret_is_redacted():
    redactor = Redactor(["p@ss w0rd/+"])
    assert redactor.redact("q=p%40ss%20w0rd%2F%2B&x=1") == f"q={MARK}&x=1"


def test_redact_data_walks_nested_structures(redactor):
    data = {
        "user": "alice",
        "headers": {"Authorization": f"Bearer {SECRET}", SECRET: "key-is-secret"},
        "list": [1, None, f"token={SECRET}", ("tuple", SECRET)],
    }
    out = redactor.redact_data(data)
    assert SECRET not in json.dumps(out)
    assert out["user"] == "alice"
    assert out["list"][0] == 1 and out["list"][1] is None
    assert isinstance(out["list"][3], tuple)
    assert data["list"][2] == f"token={SECRET}"  # input untouched


EMAIL_MARK, PHONE_MARK = PII_MARKS["email"], PII_MARKS["phone"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail bob.smith+soc@example.co.uk now", f"mail {EMAIL_MARK} now"),
        ("user: ann@corp.example.com", f"user: {EMAIL_MARK}"),  # the entity keeps its kind
        ("call +1 (555) 123-4567 now", f"call {PHONE_MARK} now"),
        ("ring +44 20 7946 0958.", f"ring {PHONE_MARK}."),
        ("ring 555-123-4567", f"ring {PHONE_MARK}"),
        ("call +1 202 555 0143 now", f"call {PHONE_MARK} now"),
        ("tel (202) 555-0143", f"tel {PHONE_MARK}"),
        ("tel: 030 1234 5678, then", f"tel: {PHONE_MARK}, then"),
        ("+442071234567", PHONE_MARK),
        ("0049 30 1234567", PHONE_MARK),
        ("called +1 202 555 0143 (09:20 UTC)", f"called {PHONE_MARK} (09:20 UTC)"),
    ],
)
def test_opt_in_pii(text, expected):
    redactor = Redactor.from_config(RawConfig({"redaction": {"pii": ["email", "phone"]}}))
    assert redactor.redact(text) == expected


# Things an analyst's chat, an alert or an audit record is full of that are not PII.
LOOK_ALIKES = [
    "Object id: 31415926-52bd-4c1e-9f00-123456789abc",
    "aad 12345678-1234-4abc-8def-123456789012",
    "group 98765432-1098-4765-a432-109876543210",
    "md5 5d41402abc4b2a76b9719d911017c592",
    "sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "hash 1234567890abcdef1234567890abcdef",
    "ip 192.168.100.200 stays",
    "ip 203.0.113.255:8443",
    "ipv6 2001:db8:85a3::8a2e:370:7334",
    "ipv6 fe80::1:2345:6789",
    "at 2024-01-15 10:30:00",
    "at 2024-01-15T10:30:00.123456Z",
    "time 09:20:11.123",
    "epoch 1733356800",
    "epoch ms 1733356800123",
    "ticks 638687232000000000",
    "port 8443 and 12 items",
    "ports 3978-3979",
    "ticket 123456789",
    "INC-20261204-001",
    "AP-20250101-0001",
    "al-20240502-123456789",
    "mac 00-1A-2B-3C-4D-5E",
    "mac 00:1a:2b:3c:4d:5e",
    "version 10.0.19045.3803",
    "build 22621.2861-1234567",
    "https://x.example/1234567890/abc",
    "path /var/log/1234567890-2024.log",
    "serial SN-1234-5678-9012-X",
    "card 4111 1111 1111 1111x",
    "amount 1,234,567.89",
    "ratio 3.14159265358",
    "rule 100123456 fired 12 times",
    "event id 4625 on ws-fin-042",
    "CVE-2024-12345 and CVE-2023-4863",
    "mitre T1059.001",
    "ASN AS13335",
    "hex 0x1234567890",
    "alias team-soc-escalation",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_pii_patterns_leave_look_alikes_alone(text):
    redactor = Redactor.from_config(RawConfig({"redaction": {"pii": ["email", "phone"]}}))
    assert redactor.redact(text) == text


def test_redact_pii_touches_only_pii():
    redactor = Redactor(["s3cr3t-value"], pii=["email"])
    text = "bob@corp.example.com s3cr3t-value"
    assert redactor.redact_pii(text) == f"{EMAIL_MARK} s3cr3t-value"


def test_custom_patterns_from_toml_and_env():
    raw = RawConfig({"redaction": {"patterns": [r"EMP-\d{6}"]}})
    assert Redactor.from_config(raw).redact("employee EMP-123456") == f"employee {MARK}"
    raw = RawConfig({}, {"VIGIL_REDACT_PATTERNS": r'["CASE-[0-9]{2,4}", "proj,ect"]'})
    assert Redactor.from_config(raw).redact("CASE-42 proj,ect") == f"{MARK} {MARK}"
    raw = RawConfig({}, {"VIGIL_REDACT_PII": "email", "VIGIL_REDACT_PATTERNS": r"HR-\d+"})
    assert Redactor.from_config(raw).redact("HR-7 a@b.example") == f"{MARK} {EMAIL_MARK}"


@pytest.mark.parametrize(
    ("document", "environ", "key"),
    [
        ({"redaction": {"patterns": ["(unclosed"]}}, {}, "redaction.patterns"),
        ({"redaction": {"patterns": ["a*"]}}, {}, "redaction.patterns"),
        ({"redaction": {"patterns": "[not json"}}, {}, "redaction.patterns"),
        ({"redaction": {"patterns": [1, 2]}}, {}, "redaction.patterns"),
        ({}, {"VIGIL_REDACT_PATTERNS": '["ok", "(bad"]'}, "redaction.patterns"),
        ({}, {"VIGIL_REDACT_PATTERNS": "[broken json"}, "redaction.patterns"),
        ({"redaction": {"pii": ["email", "ssn"]}}, {}, "redaction.pii"),
        ({}, {"VIGIL_REDACT_PII": "phone,credit-card"}, "redaction.pii"),
        ({"redaction": {"pii": 3}}, {}, "redaction.pii"),
    ],
)
def test_bad_redaction_config_names_the_key(document, environ, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        Redactor.from_config(RawConfig(document, environ))


# --- properties ------------------------------------------------------------------------------

SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=!@#$%^*"
secrets_strategy = st.text(alphabet=SECRET_CHARS, min_size=6, max_size=40)
noise = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)

WORDS = [
    "alert",
    "incident",
    "approve",
    "host",
    "contain",
    "the",
    "analyst",
    "check-ip",
    "check-hash",
    "check-domain",
    "severity",
    "high",
    "low",
    "quarantine",
    "on",
    "at",
    "evil.example",
    "login.contoso.com",
    "203.0.113.9",
    "10.0.0.1",
    "2001:db8::7",
    "44d88612fea8a8f36de82e1f1b3fd6e8",
    "3395856ce81f2b7382dee72602f798b642f14140",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "INC-20240115-001",
    "T1059.001",
    "port",
    "443",
    "https://evil.example/path/index.html",
    "hxxp://bad[.]example",
    "Emotet",
    "CVE-2024-3094",
    "sha256",
    "md5",
    "powershell.exe",
    "C:/Windows/System32",
]
benign = st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join)
anything = st.one_of(noise, benign, st.sampled_from([t for t, _ in REDACTED]))
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(st.lists(anything, max_size=4).map(" ".join), st.booleans())
def test_redaction_is_idempotent(text, pii):
    redactor = Redactor([SECRET], pii=["email", "phone"] if pii else [])
    once = redactor.redact(text)
    assert redactor.redact(once) == once


@PROPERTY_SETTINGS
@given(secrets_strategy, noise, noise, st.sampled_from(["", " ", "=", "'", "\n", "://u:"]))
def test_never_reveals_a_configured_secret(secret, before, after, glue):
    redactor = Redactor([secret], pii=["email", "phone"])
    text = f"{before}{glue}{secret}{glue}{after}"
    assert secret not in redactor.redact(text)
    assert secret not in json.dumps(redactor.redact_data({"k": [text], text: 1}))


@PROPERTY_SETTINGS
@given(benign)
def test_leaves_benign_text_alone(text):
    assert Redactor([SECRET]).redact(text) == text


@pytest.mark.parametrize(
    "unit",
    [
        "a",
        "eyJ",
        "eyJa.",
        "password=",
        'password="',
        "key key ",
        "a://a:",
        "a://",
        "@a.",
        "a@",
        "+1 (",
        "1-",
        "Bearer ",
        "AKIA",
        "aB3",
        "-----BEGIN PRIVATE KEY-----",
        "hooks.slack.com/services/",
        "x" * 63 + "=",
    ],
)
def test_one_megabyte_adversarial_input_finishes(unit):
    """Each built-in pattern stays linear: a quadratic one would not finish a 1 MB input."""
    text = unit * (1_000_000 // len(unit))
    redactor = Redactor([SECRET], pii=["email", "phone"])
    out = redactor.redact(text)
    assert isinstance(out, str)
    assert SECRET not in out


def test_a_card_is_redacted_as_its_reader_sees_it():
    """Cards escape markdown (`_` becomes `\\_`): secrets and tokens are found through that."""
    from cards.plaintext import display

    redactor = Redactor([SECRET + "_x"], patterns=["vigil_canary_[0-9]{4}"])
    card = {
        "type": "AdaptiveCard",
        "body": [
            {"type": "TextBlock", "text": display(f"key {SECRET}_x in *logs*", 200)},
            {"type": "TextBlock", "text": display("canary vigil_canary_7731 seen", 200)},
            {
                "type": "TextBlock",
                "text": display("gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", 200),
            },
            {"type": "TextBlock", "text": display("nothing_to_hide **here**", 200)},
        ],
    }
    texts = [block["text"] for block in redactor.redact_card(card)["body"]]
    assert texts[0] == "key \\[REDACTED\\] in \\*logs\\*"
    assert texts[1] == "canary \\[REDACTED\\] seen"
    assert texts[2] == "gh \\[REDACTED\\]"
    assert texts[3] == card["body"][3]["text"]  # nothing redacted: the escapes stay as they were
    # Plain redaction misses the escaped secret and pattern: the way out reads through escapes.
    assert [redactor.redact(block["text"]) for block in card["body"][:2]] == [
        block["text"] for block in card["body"][:2]
    ]


def test_a_secret_cut_short_by_a_display_limit_is_redacted():
    redactor = Redactor([SECRET])
    assert redactor.redact(f"leaked {SECRET[:12]}…") == f"leaked {MARK}…"
    assert redactor.redact(f"{SECRET[:-1]}… and {SECRET}") == f"{MARK}… and {MARK}"
    # Too short a start to be the secret, and text that only looks like a cut: left alone.
    assert redactor.redact(f"{SECRET[:5]}…") == f"{SECRET[:5]}…"
    assert redactor.redact("see the list…") == "see the list…"
