"""isolate-endpoint looks the machine up in Defender before any card: unknown hosts are refused."""

from __future__ import annotations

from pathlib import Path

from bot.containment.approvals import records
from tests.bot.harness import APP_ID, APP_PASSWORD, RESPONDER, card_text
from tests.containment.approvals.test_two_instances import HOST, mde_env
from tests.containment.approvals.workflow import answer_to, ask, start
from tests.fakes.mde import MdeFake


async def test_unknown_host_is_refused_and_a_known_one_shows_machine_facts(tmp_path):
    fake = await MdeFake(app_id=APP_ID, app_password=APP_PASSWORD).start(tmp_path)
    fake.add_machine(HOST)
    harness = await start(tmp_path, VIGIL_CROWN_JEWELS="ws-fin-*", **mde_env(fake))
    try:
        # The bot trusts the fake's CA besides the channel's (restart with both in the bundle).
        bundle = tmp_path / "bundle.pem"
        pem = [Path(harness.channel.ca_file).read_text(), Path(fake.ca_path).read_text()]  # noqa: ASYNC240
        bundle.write_text("".join(pem))
        harness.extra_env = {**harness.extra_env, "VIGIL_CA_BUNDLE": str(bundle)}
        await harness.restart_bot()
        unknown = await answer_to(harness, RESPONDER, "isolate-endpoint ws-nope-001 --reason x")
        assert "Unknown host ws-nope-001" in unknown
        assert await records.listing(harness.vigil.services.store) == []
        approval_id, _, posted = await ask(
            harness, f"isolate-endpoint {HOST.upper()} --selective --reason 'beaconing'"
        )
        text = card_text(posted)
        assert "Isolate endpoint (selective)" in text and "Crown jewel" in text
        stored = await records.get(harness.vigil.services.store, approval_id)
        assert stored.options["machine_id"] and stored.required_approvals == 2

        # The contain dialog asks full or selective for isolation (and no expiry).
        await answer_to(harness, RESPONDER, "contain")
        await answer_to(harness, RESPONDER, HOST)
        await answer_to(harness, RESPONDER, "isolate-endpoint")
        await answer_to(harness, RESPONDER, "beaconing again")
        assert "`full` or `selective`" in await answer_to(harness, RESPONDER, "none")
        assert "`full` or `selective`" in await answer_to(harness, RESPONDER, "half")
        dialog_card = await answer_to(harness, RESPONDER, "Selective")
        assert "Isolate endpoint (selective)" in dialog_card
        made = await records.listing(harness.vigil.services.store)
        assert sorted(a.options.get("selective", False) for a in made) == [True, True]
    finally:
        await harness.close()
        await fake.close()


async def test_the_contain_dialog_in_a_channel_with_the_mention_in_every_answer(tmp_path):
    """Teams puts `<at>Vigil</at>` in front of every channel message, the answers included."""
    fake = await MdeFake(app_id=APP_ID, app_password=APP_PASSWORD).start(tmp_path)
    machine = fake.add_machine(HOST)
    harness = await start(tmp_path, **mde_env(fake))
    try:
        bundle = tmp_path / "bundle.pem"
        pem = [Path(harness.channel.ca_file).read_text(), Path(fake.ca_path).read_text()]  # noqa: ASYNC240
        bundle.write_text("".join(pem))
        harness.extra_env = {**harness.extra_env, "VIGIL_CA_BUNDLE": str(bundle)}
        await harness.restart_bot()

        async def say(text: str) -> str:
            return await answer_to(harness, RESPONDER, text, mention=True)

        assert "What should be contained" in await say("contain")
        assert "`isolate-endpoint` (say yes)" in await say("ws-fin-042")
        assert "Why?" in await say("yes")
        assert "Incident id" in await say("beaconing to evil.example.com")
        assert "`full` or `selective`" in await say("none")
        assert "Isolate endpoint" in await say("full")
        [made] = await records.listing(harness.vigil.services.store)
        assert made.target == "ws-fin-042" and made.reason == "beaconing to evil.example.com"
        assert made.options["machine_id"] == machine["id"] and not made.options.get("selective")
    finally:
        await harness.close()
        await fake.close()
