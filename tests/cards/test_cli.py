"""`vigil card list` and `vigil card render NAME --data FILE`."""

from __future__ import annotations

import json

from bot.cli import main
from cards import render, template_names


def test_card_list_prints_every_template(capsys):
    assert main(["card", "list"]) == 0
    assert capsys.readouterr().out.split() == template_names()


def test_card_render_prints_the_expanded_card(capsys, tmp_path):
    data = {"title": "Oops", "message": "It broke", "correlationId": "abc-123"}
    path = tmp_path / "error.json"
    path.write_text(json.dumps(data))
    assert main(["card", "render", "error", "--data", str(path)]) == 0
    assert json.loads(capsys.readouterr().out) == render("error", data)


def test_card_render_defaults_to_the_sample(capsys):
    assert main(["card", "render", "verdict"]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "AdaptiveCard"


def test_card_render_rejects_unknown_templates_and_bad_files(capsys, tmp_path):
    assert main(["card", "render", "nope"]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["card", "render", "error", "--data", str(bad)]) == 2
    assert main(["card", "render", "error", "--data", str(tmp_path / "missing.json")]) == 2


def test_template_names_are_the_documented_set():
    assert template_names() == sorted(
        [
            "help",
            "welcome",
            "whoami",
            "error",
            "verdict",
            "bulk_verdict",
            "alert",
            "alert_digest",
            "incident",
            "approval",
            "exec_summary",
            "exec_summary_reminder",
            "audit_list",
            "audit_anchor",
            "playbook_run",
        ]
    )
