"""`vigil alerts replay --all [--since 1h]`: dead letters in bulk (#17)."""

from __future__ import annotations

import asyncio
import time

from bot.alerts import outbox
from bot.cli import main
from tests.alerts.test_delivery import GENERAL, alert, settle
from tests.alerts.webhook import post
from tests.bot.harness import card_text


async def dead_letters(bot, count, within=20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        rows = await outbox.dead_letters(bot.vigil.services.store)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError("the cards did not become dead letters")


async def test_replay_all_and_since_revive_dead_letters(bot, store_url, monkeypatch, capsys):
    monkeypatch.setenv("VIGIL_DB_URL", store_url)
    bot.channel.inject_faults(403, 2)  # refused for good: both cards become dead letters
    await post(bot.url, "generic", [alert("Dead one", "WS-1", 1), alert("Dead two", "WS-2", 1)])
    rows = await dead_letters(bot, 2)
    old = rows[0]
    # One card's latest alert came two hours ago: outside --since 1h.
    await bot.vigil.services.store.execute(
        "UPDATE alert_groups SET last_seen = ? WHERE id = ?", time.time() - 7200, old["id"]
    )

    argv = ["alerts", "replay", "--all", "--since", "1h"]
    assert await asyncio.to_thread(main, argv) == 0
    assert "1 dead letter(s) queued" in capsys.readouterr().out
    calls = await settle(bot, GENERAL, lambda c: len(c) >= 1)
    assert len(await outbox.dead_letters(bot.vigil.services.store)) == 1

    assert await asyncio.to_thread(main, ["alerts", "replay", "--all"]) == 0
    assert "1 dead letter(s) queued" in capsys.readouterr().out
    calls = await settle(bot, GENERAL, lambda c: len(c) >= 2)
    texts = " ".join(card_text(c.activity) for c in calls)
    assert "Dead one" in texts and "Dead two" in texts
    assert await outbox.dead_letters(bot.vigil.services.store) == []


def test_replay_needs_an_id_or_all_and_a_readable_window(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIGIL_DB_URL", f"sqlite:///{tmp_path}/cli.db")
    assert main(["alerts", "replay"]) == 2
    assert main(["alerts", "replay", "al-1", "--all"]) == 2
    assert main(["alerts", "replay", "al-1", "--since", "1h"]) == 2
    assert main(["alerts", "replay", "--all", "--since", "soon"]) == 2
    assert "--since" in capsys.readouterr().err
    assert main(["alerts", "replay", "--all"]) == 2  # no database there: refused, none made
    assert "no Vigil database" in capsys.readouterr().err
    assert main(["--create", "alerts", "replay", "--all"]) == 0
    assert "0 dead letter(s)" in capsys.readouterr().out
