"""Anchors of the audit head: `vigil audit anchor` publishes it, `vigil audit verify --anchors`
shows what the chain alone cannot (its newest records, or all of them, deleted). Black-box
through the CLI on SQLite and PostgreSQL; an attacker with database access is simulated with SQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from bot.app import build_services
from bot.audit import anchor_job
from bot.audit import cli as audit_cli
from bot.audit.anchor_job import anchor_if_due
from bot.audit.anchor_settings import AnchorSettings, parse_sink
from bot.audit.log import AuditEntry, AuditLog
from bot.devchannel.channel import ChannelConversation
from bot.kernel.commands import CommandRegistry
from bot.kernel.config import RawConfig
from bot.store import Store, open_store
from tests.audit.anchor_receiver import AnchorReceiver
from tests.audit.tamper import bypass_triggers
from tests.bot.harness import ADMIN, AUDIT_KEY, Harness, card_text

KEY_TEXT = "correct horse battery staple audit key"
KEY = KEY_TEXT.encode()
ANCHOR_KEY = "anchor signing key for the receiver, 32+ chars"


async def cli(*argv: str) -> int:
    """Parse like `vigil` does and run the command, in this test's event loop."""
    parser = argparse.ArgumentParser(prog="vigil")
    parser.add_argument("--config")
    audit_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return await args.func(args)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, monkeypatch) -> str:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.setenv("VIGIL_DB_URL", url)
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", KEY_TEXT)
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_ANCHOR_HMAC_KEY", ANCHOR_KEY)
    monkeypatch.delenv("VIGIL_KEYVAULT_URL", raising=False)
    monkeypatch.delenv("VIGIL_AUDIT_ANCHOR_SINK", raising=False)
    return url


async def _append(url: str, count: int, key: bytes = KEY) -> None:
    async with await open_store(url) as store:
        await store.migrate()
        log = AuditLog(store, key)
        for i in range(count):
            await log.append(AuditEntry("aad-1", "Ada", "check-ip", ("admin",), target=f"t{i}"))


async def _sql(url: str, *statements: str) -> None:
    """What an attacker with write access to the database does (the triggers bypassed)."""
    async with await open_store(url) as store:
        await bypass_triggers(store)
        for statement in statements:
            await store.execute(statement)


def _out(capsys) -> str:
    captured = capsys.readouterr()
    assert KEY_TEXT not in captured.out + captured.err
    assert ANCHOR_KEY not in captured.out + captured.err
    return captured.out + captured.err


async def test_anchor_shows_the_newest_records_deleted(db: str, tmp_path: Path, capsys) -> None:
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 5)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    assert "anchored seq 5 to file:" in _out(capsys)
    (line,) = anchors.read_text().splitlines()
    published = json.loads(line)
    assert published["kind"] == "vigil-audit-anchor"
    assert published["seq"] == 5 and len(published["hash"]) == len(published["mac"]) == 64
    assert published["time"] and published["anchored_at"]

    await _sql(db, "DELETE FROM audit_log WHERE seq > 3")
    # The chain alone still looks whole: what is left is a good chain.
    assert await cli("audit", "verify") == 0
    assert _out(capsys).startswith("intact, 3 records")
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 3
    out = _out(capsys)
    assert "intact, 3 records" in out
    assert "records after anchor seq 5 deleted (head now seq 3 < anchored seq 5" in out


async def test_anchor_shows_every_record_deleted(db: str, tmp_path: Path, capsys) -> None:
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 3)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    _out(capsys)
    await _sql(db, "DELETE FROM audit_log")
    assert await cli("audit", "verify") == 0
    assert _out(capsys).startswith("intact, 0 records")
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 3
    assert "all records deleted (the log is empty; anchored seq 3" in _out(capsys)


async def test_anchor_shows_a_rewritten_tail(db: str, tmp_path: Path, capsys) -> None:
    """Deleted, then written again by Vigil itself: as many records as anchored, others."""
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 4)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    await _sql(db, "DELETE FROM audit_log WHERE seq > 2")
    await _append(db, 3)
    assert await cli("audit", "verify") == 0
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 4
    assert "anchored record seq 4 changed (hash differs)" in _out(capsys)


async def test_anchor_shows_a_changed_anchored_record(db: str, tmp_path: Path, capsys) -> None:
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 3)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    await _sql(
        db,
        "UPDATE audit_log SET hash = CASE WHEN substr(hash, 1, 1) = 'e' THEN 'f' ELSE 'e' END"
        " || substr(hash, 2) WHERE seq = 3",
    )
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 4
    out = _out(capsys)
    assert "broken at record 3" in out
    assert "anchored record seq 3 changed (hash differs)" in out


async def test_anchors_agree_with_a_log_that_grew(db: str, tmp_path: Path, capsys) -> None:
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 2)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    first = anchors.read_text()
    await _append(db, 3)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    # Appended, never rewritten.
    text = anchors.read_text()
    assert text.startswith(first) and len(text.splitlines()) == 2
    await _append(db, 1)
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 0
    assert "anchors: 2 checked, all consistent (newest anchored seq 5, head now seq 6)" in _out(
        capsys
    )


async def test_an_anchor_of_another_key_is_reported(db: str, tmp_path: Path, capsys) -> None:
    anchors = tmp_path / "anchors.jsonl"
    await _append(db, 2)
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    forged = json.loads(anchors.read_text())
    forged["mac"] = "0" * 64
    anchors.write_text(json.dumps(forged) + "\n")
    assert await cli("audit", "verify", "--anchors", str(anchors)) == 5
    assert "anchor of seq 2 is not signed by this audit key" in _out(capsys)


async def test_verify_cannot_check_without_anchors(db: str, tmp_path: Path, capsys) -> None:
    await _append(db, 1)
    assert await cli("audit", "verify", "--anchors", str(tmp_path / "missing.jsonl")) == 2
    assert "error:" in _out(capsys)
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"seq": 1}\nnot an anchor\n')
    assert await cli("audit", "verify", "--anchors", str(empty)) == 2
    assert "no audit anchors found" in _out(capsys)


async def test_anchor_of_an_empty_log_and_without_a_sink(db: str, tmp_path: Path, capsys) -> None:
    await _append(db, 0)
    assert await cli("audit", "anchor") == 2
    assert "VIGIL_AUDIT_ANCHOR_SINK" in _out(capsys)
    anchors = tmp_path / "anchors.jsonl"
    assert await cli("audit", "anchor", "--sink", f"file:{anchors}") == 0
    assert "nothing to anchor" in _out(capsys)
    assert not anchors.exists()


async def test_https_sink_posts_signed_heads(db: str, tmp_path: Path, monkeypatch, capsys) -> None:
    receiver = await AnchorReceiver(ANCHOR_KEY).start()
    try:
        monkeypatch.setenv("VIGIL_AUDIT_ANCHOR_SINK", receiver.url)
        await _append(db, 4)
        assert await cli("audit", "anchor") == 0
        assert "anchored seq 4 to http://127.0.0.1:" in _out(capsys)
        assert len(receiver.accepted) == 1 and not receiver.refused
        published = tmp_path / "received.jsonl"
        published.write_text(receiver.published())
        assert await cli("audit", "verify", "--anchors", str(published)) == 0
        await _sql(db, "DELETE FROM audit_log WHERE seq = 4")
        assert await cli("audit", "verify", "--anchors", str(published)) == 3
        assert "head now seq 3 < anchored seq 4" in _out(capsys)

        # A receiver holding another key refuses the post, and the CLI says so.
        receiver.key = "the receiver expects another key entirely"
        assert await cli("audit", "anchor") == 1
        out = _out(capsys)
        assert "refused the signature (401)" in out
        assert receiver.refused == ["bad signature"]
    finally:
        await receiver.close()


async def test_one_instance_anchors_each_due_time(db: str, tmp_path: Path) -> None:
    """Two instances (two stores on one database) run the job's round at the same moment."""
    anchors = tmp_path / "anchors.jsonl"
    settings = AnchorSettings(sinks=(parse_sink(f"file:{anchors}"),), every=60)
    raw = RawConfig({}, {"VIGIL_SECRET_AUDIT_HMAC_KEY": KEY_TEXT})
    await _append(db, 1)
    stores: list[Store] = [await open_store(db), await open_store(db)]
    async with aiohttp.ClientSession() as http:
        instances = [build_services(raw, store, http, CommandRegistry([])) for store in stores]
        try:
            now = time.time()
            for round_ in range(4):
                if round_ == 2:
                    now += 60  # due again, but the head has not moved: nothing is re-sent
                else:
                    await _append(db, 1)
                    now += 60
                won = await asyncio.gather(
                    *(anchor_if_due(services, settings, now) for services in instances)
                )
                assert won.count(True) == 1, won
            # Nothing is due before the cadence comes round.
            assert not any(
                await asyncio.gather(
                    *(anchor_if_due(services, settings, now + 1) for services in instances)
                )
            )
        finally:
            for services in instances:
                await services.secrets.close()
            for store in stores:
                await store.close()
    seqs = [json.loads(line)["seq"] for line in anchors.read_text().splitlines()]
    assert seqs == [2, 3, 4]


async def test_a_due_time_pushed_away_does_not_stop_the_anchors(db: str, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    settings = AnchorSettings(sinks=(parse_sink(f"file:{anchors}"),), every=60)
    raw = RawConfig({}, {"VIGIL_SECRET_AUDIT_HMAC_KEY": KEY_TEXT})
    await _append(db, 2)
    async with await open_store(db) as store, aiohttp.ClientSession() as http:
        services = build_services(raw, store, http, CommandRegistry([]))
        try:
            now = time.time()
            far = {"next_due": now + 10 * 365 * 86400}
            await store.kv_write(anchor_job.NAMESPACE, anchor_job.KEY, far, None)
            assert await anchor_if_due(services, settings, now)
        finally:
            await services.secrets.close()
    assert [json.loads(line)["seq"] for line in anchors.read_text().splitlines()] == [2]


async def test_teams_sink_posts_a_card_the_channel_export_verifies(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    db_url = f"sqlite:///{tmp_path}/vigil.db"
    soc = ChannelConversation.channel("SOC", "Audit")
    harness = await Harness.start(
        db_url,
        {"VIGIL_AUDIT_ANCHOR_SINK": f"teams:{soc.id}", "VIGIL_AUDIT_ANCHOR_EVERY": "1"},
    )
    try:
        await harness.say(ADMIN, "ping", soc)  # audited; the bot now knows the channel
        card = await harness.channel.wait_for(
            lambda call: (
                call.kind == "send"
                and (call.conversation_id or "").startswith(soc.id)
                and "vigil-audit-anchor" in json.dumps(call.activity)
            ),
            timeout=30,
        )
        shown = card_text(card.activity)
        assert "Audit log head anchored" in shown and "Sequence" in shown
        # The channel's export: the messages as Teams stores them, the card as JSON text.
        export = tmp_path / "channel-export.json"
        messages = [call.activity for call in harness.channel.sent(soc.id)]
        export.write_text(json.dumps({"value": messages}))
    finally:
        await harness.close()
    monkeypatch.setenv("VIGIL_DB_URL", db_url)
    monkeypatch.setenv("VIGIL_SECRET_AUDIT_HMAC_KEY", AUDIT_KEY)
    monkeypatch.delenv("VIGIL_KEYVAULT_URL", raising=False)
    assert await cli("audit", "verify", "--anchors", str(export)) == 0
    assert "all consistent" in capsys.readouterr().out
    await _sql(db_url, "DELETE FROM audit_log")
    assert await cli("audit", "verify", "--anchors", str(export)) == 3
    assert "all records deleted" in capsys.readouterr().out
