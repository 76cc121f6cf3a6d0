"""Every expanded card validates with the official adaptivecards library as schema 1.5."""

from __future__ import annotations

from cards import gallery, jstools, render
from cards.limits import violations
from tests.cards.hostile import HOSTILE_TEXT, hostile_alert, hostile_verdict


def all_cards() -> list[dict]:
    cards = [{"name": case, "card": render(name, data)} for case, name, data in gallery.cases()]
    for case, text, _ in HOSTILE_TEXT:
        cards.append({"name": f"alert-{case}", "card": render("alert", hostile_alert(text))})
        cards.append({"name": f"verdict-{case}", "card": render("verdict", hostile_verdict(text))})
    return cards


def test_every_card_is_valid_adaptive_card_1_5(node_modules):
    cards = all_cards()
    broken = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "txt": 1}]}
    cards.append({"name": "control-unknown-property", "card": broken})
    results = {
        r["name"]: r["events"] for r in jstools.run_node("validate.js", {"cards": cards})["results"]
    }
    # The validator does catch mistakes: the control card must be reported.
    assert any("txt" in e["message"] for e in results.pop("control-unknown-property"))
    problems = {name: events for name, events in results.items() if events}
    assert problems == {}


def test_every_card_respects_teams_limits():
    for item in all_cards():
        assert violations(item["card"]) == [], item["name"]
        assert item["card"]["version"] == "1.5"
