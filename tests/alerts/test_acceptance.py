"""Issue #9 end to end: a resolve updates the posted card; the CLI as a user runs it."""

from __future__ import annotations

import asyncio
import base64
import copy
import json

from bot.cli import main
from tests.alerts.samples import sample
from tests.alerts.test_delivery import GENERAL, cards_in, settle
from tests.alerts.webhook import HMAC_KEY, TOKEN, post
from tests.bot.harness import card_text

BASIC = {"Authorization": "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()}


def text_of(call) -> str:
    return card_text(call.activity["attachments"][0]["content"])


async def test_alertmanager_resolved_updates_the_posted_card_in_place(bot):
    firing = sample("alertmanager")
    firing["alerts"] = firing["alerts"][:1]
    status, answer = await post(bot.url, "alertmanager", firing, signed=False, headers=BASIC)
    assert status == 202, answer
    calls = await settle(bot, GENERAL, lambda c: any(x.kind == "send" for x in c))
    posted = next(c for c in calls if c.kind == "send")
    assert "Firing" in text_of(posted)

    resolved = copy.deepcopy(firing)
    resolved["status"] = "resolved"
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2024-05-02T09:30:00Z"
    status, again = await post(bot.url, "alertmanager", resolved, signed=False, headers=BASIC)
    assert status == 202 and again["ids"] == answer["ids"], again

    def updated(calls):
        return [c for c in calls if c.kind == "update" and "Resolved" in text_of(c)]

    calls = await settle(bot, GENERAL, updated)
    assert updated(calls)[0].activity_id == posted.activity_id
    assert sum(1 for c in cards_in(bot, GENERAL) if c.kind == "send") == 1


async def test_cli_alert_send_then_replay_as_a_user_runs_them(
    bot, store_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("VIGIL_SECRET_ALERTS_GENERIC_HMAC_KEY", HMAC_KEY)
    monkeypatch.setenv("VIGIL_DB_URL", store_url)
    monkeypatch.setenv("VIGIL_ALERTS_DEFAULT_CHANNEL", "Alerts")
    file = tmp_path / "alert.json"
    file.write_text(
        json.dumps(
            {
                "title": "CLI-sent beacon",
                "severity": "high",
                "id": "cli-1",
                "entities": [{"type": "host", "value": "WS-CLI"}],
            }
        )
    )
    argv = ["alert", "send", "--source", "generic", str(file), "--url", bot.url]
    assert await asyncio.to_thread(main, argv) == 0
    # Again: a re-send is 200 with the same id, still a success for a script.
    assert await asyncio.to_thread(main, argv) == 0
    calls = await settle(bot, GENERAL, lambda c: any("CLI-sent beacon" in text_of(x) for x in c))
    before = len(calls)
    stored = await bot.vigil.services.store.fetchval(
        "SELECT id FROM alerts WHERE source = 'generic' AND source_id = 'cli-1'"
    )
    assert await asyncio.to_thread(main, ["alerts", "replay", stored]) == 0
    # The card is delivered again (an update of the same message, not a second post).
    calls = await settle(bot, GENERAL, lambda c: len(c) > before)
    assert sum(1 for c in calls if c.kind == "send" and "CLI-sent beacon" in text_of(c)) == 1
