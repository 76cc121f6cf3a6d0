"""StoreStorage: botbuilder dialog state across a store reopen and between two instances."""

from __future__ import annotations

import json

import pytest
from botbuilder.core import ConversationState, MessageFactory, StoreItem, TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import (
    DialogSet,
    DialogTurnStatus,
    WaterfallDialog,
    WaterfallStepContext,
)
from botbuilder.dialogs.prompts import NumberPrompt, PromptOptions, TextPrompt

from bot.store import Store, open_store
from bot.teams.dialog_state import StateCodecError, StateConflictError, StoreStorage, decode, encode


def _bot(store: Store):
    """A bot turn handler with a two-prompt waterfall, state kept in `store`."""
    conversation_state = ConversationState(StoreStorage(store))
    dialogs = DialogSet(conversation_state.create_property("DialogState"))

    async def ask_name(step: WaterfallStepContext):
        return await step.prompt(
            "name", PromptOptions(prompt=MessageFactory.text("What is your name?"))
        )

    async def ask_age(step: WaterfallStepContext):
        step.values["name"] = step.result
        return await step.prompt(
            "age", PromptOptions(prompt=MessageFactory.text(f"How old are you, {step.result}?"))
        )

    async def finish(step: WaterfallStepContext):
        await step.context.send_activity(f"{step.values['name']} is {step.result}")
        return await step.end_dialog()

    dialogs.add(TextPrompt("name"))
    dialogs.add(NumberPrompt("age"))
    dialogs.add(WaterfallDialog("main", [ask_name, ask_age, finish]))

    async def on_turn(turn: TurnContext) -> None:
        dc = await dialogs.create_context(turn)
        result = await dc.continue_dialog()
        if result.status == DialogTurnStatus.Empty:
            await dc.begin_dialog("main")
        await conversation_state.save_changes(turn)

    return on_turn


async def test_waterfall_continues_after_the_store_is_reopened(store_url: str) -> None:
    first = await open_store(store_url)
    await first.migrate()
    try:
        adapter = TestAdapter(_bot(first))
        flow = await adapter.send("hi")
        await flow.assert_reply("What is your name?")
    finally:
        await first.close()
    # "Restart": a new store object, new state objects, new adapter, same database.
    second = await open_store(store_url)
    try:
        adapter = TestAdapter(_bot(second))
        flow = await adapter.send("Ada")
        flow = await flow.assert_reply("How old are you, Ada?")
        flow = await flow.send("36")
        await flow.assert_reply("Ada is 36")
    finally:
        await second.close()


async def test_first_turn_prompts(store: Store) -> None:
    adapter = TestAdapter(_bot(store))
    flow = await adapter.send("hi")
    await flow.assert_reply("What is your name?")


async def test_read_write_delete_with_etags(store: Store) -> None:
    storage = StoreStorage(store)
    assert await storage.read(["a"]) == {}
    assert await storage.read([]) == {}
    await storage.write({"a": {"count": 1}})
    item = (await storage.read(["a"]))["a"]
    assert item["count"] == 1 and item["e_tag"]
    stale = dict(item)
    item["count"] = 2
    await storage.write({"a": item})
    assert item["e_tag"] != stale["e_tag"]  # updated in place: a second save does not conflict
    item["count"] = 3
    await storage.write({"a": item})
    with pytest.raises(StateConflictError):
        await storage.write({"a": stale})
    with pytest.raises(KeyError):  # what code written for MemoryStorage catches
        await storage.write({"a": stale})
    await storage.write({"a": {"count": 9, "e_tag": "*"}})
    assert (await storage.read(["a"]))["a"]["count"] == 9
    await storage.delete(["a", "never"])
    assert await storage.read(["a"]) == {}


async def test_two_instances_conflict(store_url: str, store: Store) -> None:
    other = await open_store(store_url)
    try:
        one, two = StoreStorage(store), StoreStorage(other)
        await one.write({"conv": {"turn": 0}})
        seen_by_one = (await one.read(["conv"]))["conv"]
        seen_by_two = (await two.read(["conv"]))["conv"]
        seen_by_one["turn"] = 1
        await one.write({"conv": seen_by_one})
        seen_by_two["turn"] = 1
        with pytest.raises(StateConflictError):
            await two.write({"conv": seen_by_two})
    finally:
        await other.close()


async def test_store_items_round_trip(store: Store) -> None:
    storage = StoreStorage(store)
    await storage.write({"item": StoreItem(counter=1, nested={"$type": "not-a-tag"})})
    item = (await storage.read(["item"]))["item"]
    assert isinstance(item, StoreItem)
    assert item.counter == 1 and item.nested == {"$type": "not-a-tag"} and item.e_tag
    with pytest.raises(ValueError):
        await storage.write({"item": {"e_tag": ""}})
    with pytest.raises(ValueError):
        await storage.write(None)  # type: ignore[arg-type]


def test_unsupported_values_are_refused_on_write() -> None:
    with pytest.raises(TypeError):
        encode({"f": object()})
    with pytest.raises(TypeError):
        encode({1: "int key"})


@pytest.mark.parametrize(
    "document",
    [
        {"$type": "object", "class": "os:system", "v": {}},
        {"$type": "object", "class": "subprocess:Popen", "v": {}},
        {"$type": "object", "class": "builtins:eval", "v": {}},
        {"$type": "object", "class": "botbuilder.core:no_such_thing", "v": {}},
        {"$type": "object", "class": "botbuilder.core.bot_state:deepcopy", "v": {}},
        {"$type": "object", "class": 42, "v": {}},
        {"$type": "object", "class": "nocolon", "v": {}},
        {"$type": "enum", "class": "botbuilder.dialogs:DialogTurnStatus", "v": "nope"},
        {"$type": "enum", "class": "botbuilder.core:StoreItem", "v": 1},
        {"$type": "datetime", "v": "yesterday"},
        {"$type": "mystery"},
    ],
)
def test_hostile_stored_state_is_refused(document: dict) -> None:
    with pytest.raises(StateCodecError):
        decode(json.loads(json.dumps(document)))


async def test_hostile_row_in_the_database_is_refused_on_read(store: Store) -> None:
    await store.kv_write(
        "botstate", "evil", {"item": {"$type": "object", "class": "os:system"}}, None
    )
    with pytest.raises(StateCodecError):
        await StoreStorage(store).read(["evil"])
