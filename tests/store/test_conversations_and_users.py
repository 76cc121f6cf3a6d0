"""Conversation references and the user directory, on both backends."""

from __future__ import annotations

import pytest

from bench.store_trips import CountingStore
from bot.kernel import conversation_refs, user_directory
from bot.kernel.user_directory import SeenUser
from bot.store import Store, open_store

TEAM_ID = "19:abcdef0123456789@thread.tacv2"
CHANNEL_ID = "19:fedcba9876543210@thread.tacv2"


def _ref(conversation_id: str, kind: str = "channel", activity_id: str = "1") -> dict:
    """The shape of `ConversationReference.serialize()` for a Teams activity."""
    return {
        "activityId": activity_id,
        "user": {"id": "29:user", "name": "Ada", "aadObjectId": "aad-1"},
        "bot": {"id": "28:bot", "name": "Vigil"},
        "conversation": {
            "isGroup": kind != "personal",
            "conversationType": kind,
            "id": conversation_id,
            "tenantId": "tenant-1",
        },
        "channelId": "msteams",
        "locale": "en-US",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
    }


def _channel_data(channel_name: str | None = "SOC alerts") -> dict:
    channel = {"id": CHANNEL_ID}
    if channel_name:
        channel["name"] = channel_name
    return {
        "team": {"id": TEAM_ID, "name": "Security", "aadGroupId": "group-guid"},
        "channel": channel,
        "tenant": {"id": "tenant-1"},
    }


async def test_save_and_get(store: Store) -> None:
    ref = _ref(CHANNEL_ID)
    assert await conversation_refs.save(store, ref, conversation_refs.team_info(_channel_data()))
    saved = await conversation_refs.get_saved(store, CHANNEL_ID)
    assert saved is not None
    assert saved.reference["serviceUrl"] == ref["serviceUrl"]
    assert saved.reference["conversation"]["id"] == CHANNEL_ID
    assert (saved.team_id, saved.team_name, saved.aad_group_id) == (
        TEAM_ID,
        "Security",
        "group-guid",
    )
    assert (saved.channel_id, saved.channel_name) == (CHANNEL_ID, "SOC alerts")
    assert (saved.conversation_type, saved.tenant_id) == ("channel", "tenant-1")
    assert await conversation_refs.get_saved(store, "19:unknown@thread.tacv2") is None


async def test_unchanged_reference_is_not_rewritten(store: Store) -> None:
    team = conversation_refs.team_info(_channel_data())
    assert await conversation_refs.save(store, _ref(CHANNEL_ID, activity_id="1"), team) is True
    # A new activity id alone is not a change worth a write.
    assert await conversation_refs.save(store, _ref(CHANNEL_ID, activity_id="2"), team) is False
    changed = _ref(CHANNEL_ID)
    changed["serviceUrl"] = "https://smba.trafficmanager.net/amer/"
    assert await conversation_refs.save(store, changed, team) is True
    saved = await conversation_refs.get_saved(store, CHANNEL_ID)
    assert saved is not None and saved.reference["serviceUrl"].endswith("/amer/")


async def test_an_unchanged_reference_is_not_even_sent(store: Store) -> None:
    counted = CountingStore(store)
    team = conversation_refs.team_info(_channel_data())
    await conversation_refs.save(counted, _ref(CHANNEL_ID, activity_id="1"), team)
    assert await conversation_refs.save(counted, _ref(CHANNEL_ID, activity_id="2"), team) is False
    assert counted.trips == {"INSERT conversation_refs": 1}
    changed = _ref(CHANNEL_ID)
    changed["serviceUrl"] = "https://smba.trafficmanager.net/amer/"
    assert await conversation_refs.save(counted, changed, team) is True
    assert counted.trips == {"INSERT conversation_refs": 2}
    saved = await conversation_refs.get_saved(store, CHANNEL_ID)
    assert saved is not None and saved.reference["serviceUrl"].endswith("/amer/")


async def test_a_reference_is_saved_by_each_instance_that_sees_it_change(
    store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = await open_store(store_url)  # a second instance on the same database
    try:
        emea, amer = _ref("a:chat", "personal"), _ref("a:chat", "personal")
        amer["serviceUrl"] = "https://smba.trafficmanager.net/amer/"

        async def stored_url() -> str:
            return (await conversation_refs.get(store, "a:chat"))["serviceUrl"]

        assert await conversation_refs.save(store, emea, None) is True
        assert await conversation_refs.save(other, amer, None) is True
        assert (await stored_url()).endswith("/amer/")
        # This instance last stored emea, so amer is a change for it: the upsert is sent (and
        # finds amer stored already).
        assert await conversation_refs.save(store, amer, None) is False
        assert await conversation_refs.save(other, emea, None) is True
        assert (await stored_url()).endswith("/emea/")
        # Within MEMO_SECONDS of storing amer itself, this instance skips re-storing it even
        # though the other stored emea meanwhile (both were current moments apart)...
        assert await conversation_refs.save(store, amer, None) is False
        assert (await stored_url()).endswith("/emea/")
        # ...and past that bound it sends the upsert again.
        monkeypatch.setattr(conversation_refs, "MEMO_SECONDS", 0.0)
        assert await conversation_refs.save(store, amer, None) is True
        assert (await stored_url()).endswith("/amer/")
    finally:
        await other.close()


async def test_thread_reply_is_stored_under_the_channel(store: Store) -> None:
    await conversation_refs.save(
        store, _ref(f"{CHANNEL_ID};messageid=1700000000000"), _channel_data()["team"]
    )
    saved = await conversation_refs.get_saved(store, f"{CHANNEL_ID};messageid=99")
    assert saved is not None and saved.conversation_id == CHANNEL_ID
    assert saved.reference["conversation"]["id"] == CHANNEL_ID


async def test_team_info_is_kept_when_a_later_turn_lacks_it(store: Store) -> None:
    await conversation_refs.save(
        store, _ref(CHANNEL_ID), conversation_refs.team_info(_channel_data())
    )
    changed = _ref(CHANNEL_ID)
    changed["locale"] = "fr-FR"
    await conversation_refs.save(store, changed, None)
    saved = await conversation_refs.get_saved(store, CHANNEL_ID)
    assert saved is not None and saved.team_id == TEAM_ID and saved.channel_name == "SOC alerts"


async def test_find_channel_by_id_and_name(store: Store) -> None:
    await conversation_refs.save(
        store, _ref(CHANNEL_ID), conversation_refs.team_info(_channel_data())
    )
    general = _ref(TEAM_ID)
    await conversation_refs.save(
        store,
        general,
        conversation_refs.team_info(_channel_data(None) | {"channel": {"id": TEAM_ID}}),
    )
    await conversation_refs.save(store, _ref("a:personal-chat", "personal"), None)
    by_id = await conversation_refs.find_channel(store, CHANNEL_ID)
    assert by_id is not None and by_id.channel_name == "SOC alerts"
    by_name = await conversation_refs.find_channel(store, "soc ALERTS")
    assert by_name is not None and by_name.conversation_id == CHANNEL_ID
    general_found = await conversation_refs.find_channel(store, "General")
    assert general_found is not None and general_found.conversation_id == TEAM_ID
    assert await conversation_refs.find_channel(store, "SOC alerts", team_id="19:other") is None
    assert await conversation_refs.find_channel(store, "no such channel") is None
    assert await conversation_refs.find_channel(store, "a:personal-chat") is None  # not a channel
    team = await conversation_refs.list_for_team(store, TEAM_ID)
    assert {saved.conversation_id for saved in team} == {CHANNEL_ID, TEAM_ID}
    assert len(await conversation_refs.list_for_team(store, "group-guid")) == 2


@pytest.mark.parametrize(
    "ref",
    [{}, {"conversation": None}, {"conversation": {"id": ""}}, {"conversation": {"id": 42}}],
)
async def test_malformed_reference_is_refused(store: Store, ref: dict) -> None:
    with pytest.raises(ValueError):
        await conversation_refs.save(store, ref, None)


async def test_hostile_team_info_is_stored_as_data(store: Store) -> None:
    team = {"id": "19:x'); DROP TABLE conversation_refs; --", "name": 42, "channel": "not a dict"}
    await conversation_refs.save(store, _ref("19:c@thread.tacv2"), team)
    saved = await conversation_refs.get_saved(store, "19:c@thread.tacv2")
    assert saved is not None and saved.team_id == team["id"] and saved.team_name is None
    assert conversation_refs.team_info({"team": "x"}) is None
    assert conversation_refs.team_info(None) is None


async def test_user_directory_upsert_and_merge(store: Store) -> None:
    assert await user_directory.get(store, "aad-1") is None
    await user_directory.upsert(
        store, SeenUser("aad-1", "Ada", "tenant-1", "ada@example.com", ("g2", "g1")), now=1000.0
    )
    await user_directory.upsert(store, SeenUser("aad-1", "Ada L."), now=1001.0)
    user = await user_directory.get(store, "aad-1")
    assert user == SeenUser("aad-1", "Ada L.", "tenant-1", "ada@example.com", ("g1", "g2"), 1001.0)


async def test_user_directory_skips_writes_within_the_resolution(store: Store) -> None:
    await user_directory.upsert(store, SeenUser("aad-2", "Bo"), now=1000.0)
    await user_directory.upsert(store, SeenUser("aad-2", "Bo"), now=1010.0)
    assert (await user_directory.get(store, "aad-2")).last_seen == 1000.0
    await user_directory.upsert(store, SeenUser("aad-2", "Bo"), now=1100.0)
    assert (await user_directory.get(store, "aad-2")).last_seen == 1100.0
    await user_directory.upsert(store, SeenUser("aad-2", "Bo", group_ids=()), now=1101.0)
    assert (await user_directory.get(store, "aad-2")).group_ids == ()


async def test_user_directory_sends_no_upsert_that_would_write_nothing(store: Store) -> None:
    counted = CountingStore(store)
    await user_directory.remember(counted, aad_object_id="aad-4", name="Di", now=1000.0)
    await user_directory.remember(counted, aad_object_id="aad-4", name="Di", now=1030.0)
    assert counted.trips == {"INSERT users": 1}
    await user_directory.remember(counted, aad_object_id="aad-4", name="Di Renamed", now=1031.0)
    await user_directory.remember(counted, aad_object_id="aad-4", name="Di Renamed", now=1100.0)
    assert counted.trips == {"INSERT users": 3}
    assert await user_directory.get(store, "aad-4") == SeenUser(
        "aad-4", "Di Renamed", None, None, (), 1100.0
    )


async def test_flat_team_info_and_plain_get(store: Store) -> None:
    team = {
        "team_id": TEAM_ID,
        "aad_group_id": "group-guid",
        "team_name": "",
        "channel_id": CHANNEL_ID,
        "channel_name": "SOC alerts",
    }
    await conversation_refs.save(store, _ref(CHANNEL_ID), team)
    saved = await conversation_refs.get_saved(store, CHANNEL_ID)
    assert saved is not None and saved.team_id == TEAM_ID and saved.team_name is None
    assert saved.channel_name == "SOC alerts" and saved.aad_group_id == "group-guid"
    reference = await conversation_refs.get(store, CHANNEL_ID)
    assert reference is not None and reference["serviceUrl"].startswith("https://smba")
    assert await conversation_refs.get(store, "19:none@thread.tacv2") is None


async def test_user_directory_remember_keeps_known_fields(store: Store) -> None:
    await user_directory.remember(
        store, aad_object_id="aad-3", name="Cy", tenant_id="t", upn="cy@example.com", now=10.0
    )
    await user_directory.remember(store, aad_object_id="aad-3", name="", tenant_id="", now=200.0)
    assert await user_directory.get(store, "aad-3") == SeenUser(
        "aad-3", "Cy", "t", "cy@example.com", (), 200.0
    )


async def test_user_directory_refuses_empty_id(store: Store) -> None:
    with pytest.raises(ValueError):
        await user_directory.upsert(store, SeenUser(""))
