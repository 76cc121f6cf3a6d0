"""`vigil incident export` on a real store file."""

from __future__ import annotations

import json

from bot.cli import main
from bot.incidents import add_timeline, records
from bot.store import open_store


async def _seed(url: str) -> str:
    async with await open_store(url) as store:
        await store.migrate()
        incident = await records.create(
            store,
            title="Phishing wave finance",
            severity=records.Severity.HIGH,
            opened_by_id="a",
            opened_by_name="Ann",
        )
        await add_timeline(store, incident.id, "Ann", "note", "first note")
        return incident.id


async def test_export_markdown_json_and_errors(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    incident_id = await _seed(url)
    monkeypatch.setenv("VIGIL_DB_URL", url)
    out = tmp_path / "x.json"
    import asyncio

    def run(*argv: str) -> int:
        return asyncio.get_running_loop().run_in_executor(None, main, list(argv))

    assert await run("incident", "export", incident_id.lower(), "--format", "md") == 0
    assert capsys.readouterr().out.startswith(f"# {incident_id}: Phishing wave finance")
    assert (
        await run("incident", "export", incident_id, "--format", "json", "--output", str(out)) == 0
    )
    assert json.loads(out.read_text())["timeline"][0]["text"] == "first note"
    assert await run("incident", "export", "INC-20990101-001") == 1
    assert "no incident" in capsys.readouterr().err
    assert await run("incident", "export", "'; DROP TABLE incidents") == 2
