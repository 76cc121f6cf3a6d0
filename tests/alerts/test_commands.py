"""Alert commands, card buttons and the CLI, as a user meets them."""

from __future__ import annotations

import json

from bot.alerts.keys import hmac_key_name
from bot.alerts.pipeline import describe
from bot.alerts.routing import Decision
from bot.cli import main
from tests.alerts.test_delivery import GENERAL, alert, routes_env, settle
from tests.alerts.webhook import HMAC_KEY, post
from tests.bot.harness import ADMIN, ANALYST, Harness, card_text


async def test_ack_button_records_who_on_the_card_and_recent_lists_alerts(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        _, answer = await post(harness.url, "generic", alert("Beacon", "WS-4", 1))
        alert_id = answer["ids"][0]
        calls = await settle(harness, GENERAL, lambda c: len(c) >= 1)
        status, body = await harness.channel.send_card_action(
            ANALYST,
            GENERAL,
            verb="alert.ack",
            data={"alertId": alert_id},
            reply_to_id=calls[0].activity_id or "1",
        )
        assert status == 200
        assert "acknowledged by Ann Analyst" in card_text(body["value"])
        await settle(
            harness,
            GENERAL,
            lambda c: any(
                x.kind == "update" and "acknowledged" in card_text(x.activity) for x in c
            ),
        )
        reply = await harness.say(ANALYST, "alerts recent", GENERAL)
        assert "Beacon" in reply.activity["text"]
        reply = await harness.say(ANALYST, "alerts snooze Beacon 1h", GENERAL)
        assert "responder" in reply.activity["text"]
        reply = await harness.say(ADMIN, "alerts snooze Beacon --host WS-4 1h", GENERAL)
        assert "Snoozed Beacon on WS-4" in reply.activity["text"]
        reply = await harness.say(ADMIN, "alerts snooze Beacon forever", GENERAL)
        assert "duration" in reply.activity["text"]
        test = '{"title": "Ransom", "severity": "critical"}'
        reply = await harness.say(ANALYST, f"alerts route-test {test}", GENERAL)
        assert "rule default: route to Alerts" in reply.activity["text"]
    finally:
        await harness.close()


async def test_bad_card_action_data_gets_a_clear_answer(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db", routes_env())
    try:
        await harness.say(ADMIN, "ping", GENERAL)
        for data in ({}, {"alertId": 5}, {"alertId": "al-nope"}):
            status, body = await harness.channel.send_card_action(
                ADMIN, GENERAL, verb="alert.ack", data=data, reply_to_id="1"
            )
            assert status == 200
            assert "Traceback" not in json.dumps(body)
    finally:
        await harness.close()


def test_cli_route_test_dead_and_send_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIGIL_DB_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("VIGIL_ALERTS_DEFAULT_CHANNEL", "soc")
    body = tmp_path / "alert.json"
    body.write_text(json.dumps({"title": "CLI alert", "severity": "high"}))
    assert main(["alerts", "route-test", str(body)]) == 2  # no database there yet
    assert "no Vigil database at" in capsys.readouterr().err
    assert main(["--create", "alerts", "route-test", str(body)]) == 0
    assert "rule default" in capsys.readouterr().out
    assert main(["alerts", "dead"]) == 0
    assert "0 dead letter" in capsys.readouterr().out
    assert main(["alerts", "replay", "al-missing"]) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["alerts", "route-test", str(bad)]) == 2
    monkeypatch.setenv(
        "VIGIL_SECRET_" + hmac_key_name("generic").upper().replace("-", "_"), HMAC_KEY
    )
    assert main(["alert", "send", str(body), "--url", "http://127.0.0.1:9"]) == 2
    assert HMAC_KEY not in capsys.readouterr().err


def test_route_test_lines_say_where_a_card_would_go():
    assert describe(Decision("default", "route", ""), None) == (
        "rule default: no channel (set VIGIL_ALERTS_DEFAULT_CHANNEL)"
    )
    assert describe(Decision("crit", "route", "soc-critical"), None) == (
        "rule crit: route to soc-critical -> not a channel the bot knows (add Vigil to its team)"
    )
    assert describe(Decision("crit", "route", "soc-critical"), "19:a@thread.tacv2") == (
        "rule crit: route to soc-critical -> 19:a@thread.tacv2"
    )
    assert describe(Decision("noise", "drop", ""), None) == "rule noise: drop"
