"""Override templates (VIGIL_CARDS_DIR): checked at load like the shipped ones, previewed by
`vigil card render`, equal to the official JS engine, and refused with the reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.kernel.card_templates import load_overrides
from bot.kernel.config import ConfigError, RawConfig
from cards import catalog, jstools, overrides, render
from cards.overrides import OverrideError

EXAMPLES = Path(__file__).parent / "overrides"
SOC_ALERT = json.loads((EXAMPLES / "alert" / "soc_alert.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def shipped_templates_after():
    yield
    catalog.install(catalog.Installed())


def cards_dir(tmp_path: Path, files: dict[str, object]) -> Path:
    for name, payload in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return tmp_path


def with_body(*elements: dict) -> dict:
    return {"type": "AdaptiveCard", "version": "1.5", "body": list(elements)}


def test_the_shipped_templates_pass_the_checks_overrides_get(node_modules):
    shipped = {name: (catalog.shipped_source(name), name) for name in catalog.shipped_names()}
    overrides.check_templates(catalog.Installed(shipped), overrides.official_validator)


def test_an_added_alert_template_renders_with_the_alert_data_contract(node_modules):
    installed = overrides.load(EXAMPLES)
    assert installed.templates["soc_alert"][1] == "alert"
    catalog.install(installed)
    card = render("soc_alert", catalog.sample("alert"))
    texts = json.dumps(card, ensure_ascii=False)
    assert "HIGH · Suspicious PowerShell download cradle" in texts
    assert "Hosts: WS-FIN-0231" in texts
    assert "1st host" in texts and "4th user" in texts  # sortBy, addOrdinal, toLower
    assert "2 alerts on this card (+3 more)" in texts
    # A field the contract lacks is dropped; a field the template does not use is ignored.
    assert render("soc_alert", {"title": "x", "colour": "red"})["body"][0]["text"] == " · x"


def test_an_override_replaces_a_shipped_template_under_its_name(node_modules, tmp_path):
    error = with_body(
        {"type": "TextBlock", "text": "${toUpper(title)}: ${message}", "wrap": True},
        {"type": "TextBlock", "text": "ref ${correlationId}", "wrap": True},
    )
    catalog.install(overrides.load(cards_dir(tmp_path, {"error.json": error})))
    card = render("error", {"title": "Oops", "message": "It broke", "correlationId": "c-1"})
    assert [block["text"] for block in card["body"]] == ["OOPS: It broke", "ref c-1"]


def test_override_cards_equal_the_official_engine(node_modules):
    installed = overrides.load(EXAMPLES)
    catalog.install(installed)
    jobs = [
        {"name": case, "template": SOC_ALERT, "data": overrides_data}
        for case, overrides_data in _prepared_cases("soc_alert")
    ]
    official = {r["name"]: r for r in jstools.run_node("expand.js", {"jobs": jobs})["results"]}
    for job in jobs:
        assert "error" not in official[job["name"]], official[job["name"]]
        assert catalog.compiled("soc_alert").expand(job["data"]) == official[job["name"]]["card"]


def _prepared_cases(name: str) -> list[tuple[str, dict]]:
    from cards.render import prepare

    return [(case, prepare(name, data)) for case, data in overrides.cases(name)]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        (
            {"alert.json": with_body({"type": "TextBlock", "text": "${utcNow()}"})},
            "'utcNow' is not supported",
        ),
        (
            {"alert.json": with_body({"type": "TextBlock", "text": "${title}", "colour": "red"})},
            "colour is not a property of TextBlock",
        ),
        (
            {
                "alert.json": with_body(
                    {"type": "TextBlock", "text": "${replace(title, '\\\\', '')}"}
                )
            },
            "shows data as markup",
        ),
        (
            {"alert.json": with_body({"type": "TextBlock", "text": "${runbook}"})},
            "binds a field outside its data contract",
        ),
        (
            {
                "alert.json": with_body(
                    {
                        "type": "ActionSet",
                        "actions": [{"type": "Action.OpenUrl", "title": "Go", "url": "${title}"}],
                    }
                )
            },
            "is not https",
        ),
        (
            {"alert.json": with_body({"type": "TextBlock", "text": "${isMatch(title, category)}"})},
            "the pattern must be a literal string",
        ),
        ({"alert.json": "{not json"}, "not valid JSON"),
        ({"alarm.json": with_body()}, "expected NAME.json"),
        ({"alert/verdict.json": with_body()}, "needs a new name"),
        ({"nope/x.json": with_body()}, "expected NAME.json"),
    ],
)
def test_a_bad_override_is_refused_naming_the_problem(node_modules, tmp_path, files, reason):
    with pytest.raises(OverrideError, match=reason):
        overrides.load(cards_dir(tmp_path, files))
    assert catalog.installed().templates == {}  # nothing half-installed


def test_the_setting_reports_a_refused_directory_as_a_config_error(node_modules, tmp_path):
    bad = cards_dir(tmp_path, {"alert.json": with_body({"type": "TextBlock", "text": "${nope()}"})})
    raw = RawConfig({}, {"VIGIL_CARDS_DIR": str(bad)})
    with pytest.raises(ConfigError, match="cards.dir .* is refused:\n.*'nope' is not supported"):
        load_overrides(raw)
    missing = RawConfig({}, {"VIGIL_CARDS_DIR": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="cards.dir .*is not a directory"):
        load_overrides(missing)


def test_vigil_card_render_previews_an_override(node_modules, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "cards"
    shutil.copytree(EXAMPLES, folder)
    monkeypatch.setenv("VIGIL_CARDS_DIR", str(folder))
    monkeypatch.delenv("VIGIL_CONFIG", raising=False)
    data = tmp_path / "alert.json"
    data.write_text(json.dumps({"title": "Ransom note", "severity": "critical"}))
    assert main(["card", "render", "soc_alert", "--data", str(data)]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["body"][0]["text"] == "CRIT · Ransom note"
    assert card["body"][0]["color"] == "Attention"
    assert main(["card", "list"]) == 0
    assert "soc_alert  (override, data of alert)" in capsys.readouterr().out


def test_vigil_card_render_names_what_is_wrong_with_the_directory(
    node_modules, tmp_path, capsys, monkeypatch
):
    bad = cards_dir(tmp_path, {"alert.json": with_body({"type": "TextBlock", "text": "${nope()}"})})
    monkeypatch.setenv("VIGIL_CARDS_DIR", str(bad))
    monkeypatch.delenv("VIGIL_CONFIG", raising=False)
    assert main(["card", "render", "alert"]) == 2
    assert "'nope' is not supported" in capsys.readouterr().err
