"""The `enrich` dialog through Bot Framework's TestAdapter: ask, re-prompt, verdict, follow-up.

Roles are the pipeline's: a refused answer never reaches the dialog (tests/bot/test_dialogs.py)."""

from __future__ import annotations

import json

import pytest
from botbuilder.core import ConversationState, MemoryStorage
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import DialogSet, DialogTurnStatus

from bot.app import build_services
from bot.intel.commands import COMMANDS
from bot.kernel.commands import CommandRegistry, Conversation
from bot.kernel.config import RawConfig
from bot.kernel.inbound import Turn
from bot.kernel.rbac import Actor, Role, RoleMap
from dialogs.enrich import ASK, NEXT, RETRY, EnrichDialog
from dialogs.turn import set_turn

ANALYST = Actor("a-1", "Ana Lyst", frozenset({Role.ANALYST}))


@pytest.fixture
def adapter(fakes, sqlite_store, http, secrets_dir):
    environ = {
        "VIGIL_SECRETS_DIR": str(secrets_dir),
        "VIGIL_SECRET_AUDIT_HMAC_KEY": "intel-test-audit-key-0123456789",
        **{f"VIGIL_INTEL_{n.upper()}_URL": fake.url for n, fake in fakes.items()},
    }
    raw = RawConfig({}, environ)
    services = build_services(raw, sqlite_store, http, CommandRegistry([COMMANDS]), RoleMap())
    state = ConversationState(MemoryStorage())
    dialogs = DialogSet(state.create_property("dialogs"))
    dialogs.add(EnrichDialog(services))

    async def turn(context):
        # What the Teams handler does after the pipeline let the answer through.
        conversation = Conversation(context.activity.conversation.id)
        set_turn(context, Turn("dialog", ANALYST, conversation, "c1", text=context.activity.text))
        dialog_context = await dialogs.create_context(context)
        result = await dialog_context.continue_dialog()
        if result.status == DialogTurnStatus.Empty:
            await dialog_context.begin_dialog("enrich")
        await state.save_changes(context)

    return TestAdapter(turn)


def text_is(expected: str):
    def check(activity, description=None):
        assert activity.text == expected

    return check


def card_with(*needles: str):
    def check(activity, description=None):
        card = json.dumps(activity.attachments[0].content).replace("\\\\", "")
        for needle in needles:
            assert needle in card

    return check


async def test_asks_reprompts_checks_and_follows_up(adapter, fakes):
    step = await adapter.send("enrich")
    step = await step.assert_reply(text_is(ASK))
    step = await step.send("what is this?")
    step = await step.assert_reply(text_is(RETRY))
    step = await step.send("look at evil[.]example[.]com please")
    step = await step.assert_reply(card_with("evil[.]example[.]com", "MALICIOUS"))
    step = await step.assert_reply(text_is(NEXT))
    step = await step.send("more")
    step = await step.assert_reply(text_is(ASK))
    step = await step.send("10.0.0.5 and 198.51.100.23")
    step = await step.assert_reply(card_with("Bulk check: 2 indicators", "internal, not sent out"))
    step = await step.assert_reply(text_is(NEXT))
    step = await step.send("done")
    await step.assert_reply(text_is("Done."))
    assert not any(fake.asked_about("10.0.0.5") for fake in fakes.values())
