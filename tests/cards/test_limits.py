"""Teams limits: 28 KB per card, cut lists and text with "+N more"/ellipsis, 60 refresh users."""

from __future__ import annotations

import json

from cards import catalog, render, template_names
from cards.limits import MAX_CARD_BYTES, MAX_REFRESH_USERS, serialized_size, violations
from tests.cards.hostile import BIG, HUGE


def texts(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in texts(item)]
    if isinstance(node, dict):
        return [text for item in node.values() for text in texts(item)]
    return []


def table_rows(card: dict) -> list:
    table = next(item for item in card["body"] if item["type"] == "Table")
    return table["rows"][1:]  # the first row is the header


def bulk(count: int, indicator: str = "") -> dict:
    return {
        "title": f"Bulk check: {count} indicators",
        "summary": "mixed",
        "rows": [
            {
                "indicator": indicator or f"https://host-{i}.example/path/{i}",
                "verdict": "malicious",
                "hits": "3/3",
            }
            for i in range(count)
        ],
    }


def test_hundred_row_bulk_verdict_fits_with_every_row():
    card = render("bulk_verdict", bulk(100))
    assert serialized_size(card) <= MAX_CARD_BYTES
    assert len(table_rows(card)) == 100
    assert violations(card) == []


def test_longer_bulk_verdict_is_cut_with_more_marker():
    card = render("bulk_verdict", bulk(250))
    assert len(table_rows(card)) == 100
    assert "+150 more" in texts(card)


def test_bulk_verdict_with_long_indicators_still_fits():
    card = render("bulk_verdict", bulk(100, indicator="x" * 5000))
    assert serialized_size(card) <= MAX_CARD_BYTES
    # Text is shortened before rows are dropped: every row stays, each indicator cut.
    rows = table_rows(card)
    assert len(rows) == 100
    assert rows[0]["cells"][0]["items"][0]["text"].endswith("…")


def test_two_megabyte_alert_description_is_cut_with_ellipsis():
    data = {**catalog.sample("alert"), "description": HUGE, "title": BIG}
    card = render("alert", data)
    assert serialized_size(card) <= MAX_CARD_BYTES
    cut = [text for text in texts(card) if text.startswith("BBBB")]
    assert cut and cut[0].endswith("…") and len(cut[0]) <= 1000


def test_every_template_fits_when_every_field_is_huge():
    for name in template_names():
        sample = catalog.sample(name)
        stuffed = json.loads(json.dumps(sample), parse_constant=str)

        def stuff(node):
            if isinstance(node, dict):
                return {k: stuff(v) for k, v in node.items()}
            if isinstance(node, list):
                return [stuff(node[0])] * 500 if node else []
            return BIG if isinstance(node, str) else node

        card = render(name, stuff(stuffed))
        assert serialized_size(card) <= MAX_CARD_BYTES, name


def test_refresh_user_ids_are_capped_at_sixty():
    approvers = [f"29:approver-{i}" for i in range(200)]
    for name in ("approval", "alert"):
        card = render(name, {**catalog.sample(name), "userIds": approvers})
        assert card["refresh"]["userIds"] == approvers[:MAX_REFRESH_USERS]
        assert card["refresh"]["action"]["type"] == "Action.Execute"


def test_violations_reports_each_limit():
    card = {
        "type": "AdaptiveCard",
        "version": "1.6",
        "refresh": {"userIds": ["u"] * 61},
        "body": [{"type": "TextBlock", "text": "x" * 40_000}],
        "actions": [{"type": "Action.OpenUrl", "title": "x", "url": "http://example.com"}],
    }
    problems = " | ".join(violations(card))
    for expected in ("bytes", "version", "userIds", "https"):
        assert expected in problems
