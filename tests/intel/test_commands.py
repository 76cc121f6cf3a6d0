"""The chat commands through the real pipeline: cards, usage help, pastes, roles, the guard."""

from __future__ import annotations

import json
import re

import pytest

from bot.app import build_services
from bot.intel.commands import COMMANDS
from bot.kernel.commands import CommandRegistry, Conversation
from bot.kernel.config import RawConfig
from bot.kernel.pipeline import Pipeline
from bot.kernel.rbac import Actor, Role, RoleMap

ANALYST = Actor("11111111-1111-4111-8111-111111111111", "Ana Lyst", frozenset({Role.ANALYST}))
NOBODY = Actor("22222222-2222-4222-8222-222222222222", "No Role")
CHAT = Conversation("conv-1")


@pytest.fixture
def pipeline(fakes, sqlite_store, http, secrets_dir):
    environ = {
        "VIGIL_SECRETS_DIR": str(secrets_dir),
        "VIGIL_SECRET_AUDIT_HMAC_KEY": "intel-test-audit-key-0123456789",
        "VIGIL_USER_RATE_PER_MINUTE": "1000",
        **{f"VIGIL_INTEL_{n.upper()}_URL": fake.url for n, fake in fakes.items()},
    }
    raw = RawConfig({}, environ)
    services = build_services(raw, sqlite_store, http, CommandRegistry([COMMANDS]), RoleMap())
    return Pipeline(services)


def card_texts(card) -> str:
    # Markdown escapes are undone so that assertions read like the card does.
    return json.dumps(card, ensure_ascii=False).replace("\\\\", "")


async def test_check_ip_answers_a_verdict_card(pipeline, fakes):
    fakes["abuseipdb"].add("203.0.113.66", 100, 1843)
    reply = await pipeline.message("check-ip 203[.]0[.]113[.]66", ANALYST, CHAT, "c1")
    assert reply.card is not None
    text = card_texts(reply.card)
    assert "203.0.113.66" in text
    assert "MALICIOUS" in text
    assert "confidence 100 with 1,843 reports" in text
    assert "https://www.abuseipdb.com/check/203.0.113.66" in text
    assert "test-key" not in text


async def test_domains_are_defanged_on_the_card(pipeline):
    reply = await pipeline.message("check-domain evil.example.com", ANALYST, CHAT, "c2")
    text = card_texts(reply.card)
    assert "evil[.]example[.]com" in text
    # Only the source links (to the sources' own pages) name it plainly.
    assert "evil.example.com" not in re.sub(r'"url": "https://[^"]*"', "", text)
    assert "Local feed" in text


@pytest.mark.parametrize(
    "text",
    ["check-ip evil.example.com", "check-hash 1234", "check-url", "check-domain 10.0.0.1"],
)
async def test_wrong_input_gets_usage_with_examples(pipeline, fakes, text):
    reply = await pipeline.message(text, ANALYST, CHAT, "c3")
    assert reply.card is not None or reply.text
    shown = str(reply.card or "") + (reply.text or "")
    assert "check-" in shown
    assert all(fake.requests == [] for fake in fakes.values())


async def test_check_many_gives_the_bulk_table(pipeline):
    reply = await pipeline.message(
        "check 198.51.100.23 evil[.]example[.]com 10.0.0.1 192.0.2.77", ANALYST, CHAT, "c4"
    )
    text = card_texts(reply.card)
    assert "Bulk check: 4 indicators" in text
    assert "internal, not sent out" in text


async def test_pasted_mail_is_checked(pipeline, fakes):
    paste = (
        "Hi team, got this: From helpdesk at phish[.]example[.]net, link "
        "hxxps://login-portal[.]example[.]net/reset and a relay at 10.1.2.3"
    )
    reply = await pipeline.message(paste, ANALYST, CHAT, "c5")
    assert "Bulk check: 3 indicators" in card_texts(reply.card)
    assert not any(fake.asked_about("10.1.2.3") for fake in fakes.values())


async def test_text_without_indicators_is_not_taken(pipeline):
    reply = await pipeline.message("hello there", ANALYST, CHAT, "c6")
    assert reply.card is None
    assert "help" in reply.text


async def test_needs_the_analyst_role(pipeline, fakes):
    reply = await pipeline.message("check-ip 198.51.100.23", NOBODY, CHAT, "c7")
    assert "analyst" in reply.text
    assert all(fake.requests == [] for fake in fakes.values())


async def test_rate_limited_indicators_say_not_checked_and_retry_pending_finishes_them(
    pipeline, fakes, sqlite_store
):
    """Not checked is not unknown: the card says why and until when; `check --retry-pending`
    checks them later, in the conversation that asked."""
    fakes["virustotal"].failure = "429"  # Retry-After: 30
    fakes["abuseipdb"].failure = "429"
    fakes["greynoise"].failure = "429"
    reply = await pipeline.message("check 198.51.100.31 198.51.100.32", ANALYST, CHAT, "p1")
    text = card_texts(reply.card)
    assert "2 not checked" in text and "unknown" not in text
    assert re.search(r"not checked: VirusTotal rate-limited, retry after \d\d:\d\d UTC", text)
    assert "check --retry-pending" in text

    early = await pipeline.message("check --retry-pending", ANALYST, CHAT, "p2")
    assert re.search(r"2 not checked yet; the first may be retried after \d\d:\d\d UTC", early.text)
    elsewhere = await pipeline.message("check --retry-pending", ANALYST, Conversation("c-9"), "p3")
    assert elsewhere.text == "Nothing here is waiting to be checked."

    # Time passes: the sources' waits are over and they answer again.
    for fake in fakes.values():
        fake.failure = None
    await sqlite_store.execute("UPDATE intel_pending SET not_before = 0")
    await sqlite_store.execute("DELETE FROM intel_rate")
    done = await pipeline.message("check --retry-pending", ANALYST, CHAT, "p4")
    text = card_texts(done.card)
    assert "Bulk check: 2 indicators" in text and "not checked" not in text
    again = await pipeline.message("check --retry-pending", ANALYST, CHAT, "p5")
    assert again.text == "Nothing here is waiting to be checked."


@pytest.mark.parametrize("text", ["check --retry-pending 198.51.100.9", "check"])
async def test_retry_pending_and_missing_indicators_are_usage_errors(pipeline, text):
    reply = await pipeline.message(text, ANALYST, CHAT, "p6")
    shown = str(reply.card or "") + (reply.text or "")
    assert "check" in shown and ("--retry-pending takes no" in shown or "missing" in shown)
