"""The official adaptivecards renderer in headless Chromium draws every card without complaint."""

from __future__ import annotations

from cards import gallery, jstools, render
from tests.cards.hostile import HOSTILE_TEXT, hostile_alert


def test_every_card_renders_without_errors_or_warnings(node_modules, chromium_path, tmp_path):
    cards = [{"name": case, "card": render(name, data)} for case, name, data in gallery.cases()]
    for case, text, _ in HOSTILE_TEXT:
        cards.append({"name": f"hostile-{case}", "card": render("alert", hostile_alert(text))})
    payload = {"cards": cards, "outDir": str(tmp_path), "chromium": chromium_path}
    results = jstools.run_node("render.js", payload)["results"]  # one Chromium for all cards

    assert [r["name"] for r in results] == [c["name"] for c in cards]
    for result in results:
        name = result["name"]
        assert result["errors"] == [], name
        assert result["warnings"] == [], name
        assert result["width"] > 100 and result["height"] > 50, name
        assert result["text"], name
        assert (tmp_path / f"{name}.png").stat().st_size > 1000, name
        # Hostile text never becomes a link, a script or a mention.
        assert all(link.startswith("https://") for link in result["links"]), name
        assert not {"script", "img", "at", "iframe"} & set(result["tags"]), name

    shown = {r["name"]: r["text"] for r in results}
    # Escaped markdown renders as the literal characters the alert contained.
    assert "**urgent** _now_ ~~gone~~" in shown["hostile-markdown-bold"]
    assert "[click me](javascript:alert(1))" in shown["hostile-markdown-link"]
    assert "<at>Everyone</at>" in shown["hostile-at-mention"]
    assert "{{DATE(2017-02-14T06:08:39Z, SHORT)}}" in shown["hostile-template-mustache"]
    assert "\nApprove\nReject" in shown["approval"]
    assert "\nApprove\nReject" not in shown["approval.approved"]
