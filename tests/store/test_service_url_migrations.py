"""Upgrading a store whose records still hold a serviceUrl (migrations 0037, 0047 and 0067).

Records keep conversation ids and the Messenger resolves them to stored conversation references;
an incident channel Vigil never heard from keeps reachable through a reference built from the
serviceUrl its card was posted with.
"""

from __future__ import annotations

import time

from bot.incidents import records
from bot.kernel import conversation_refs
from bot.store import Store, open_store
from bot.store.schema import available

SERVICE_URL = "https://smba.trafficmanager.net/emea/"
CHANNEL = "19:incident0123456789@thread.tacv2"
KNOWN = "19:known0123456789@thread.tacv2"
FIRST_WITHOUT = 37


async def _migrated_before(store: Store, version: int) -> None:
    """Apply the migrations a store had before `version`, as an older Vigil did."""
    async with store.transaction() as tx:
        await tx.run_script(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at DOUBLE PRECISION NOT NULL)"
        )
        for migration in available(store.dialect):
            if migration.version >= version:
                break
            await tx.run_script(migration.sql)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                migration.version,
                migration.name,
                time.time(),
            )


async def _old_incident(store: Store, number: int, channel_id: str) -> None:
    await store.execute(
        "INSERT INTO incidents (id, day, number, title, severity, status, description,"
        " indicators, alert_id, opened_by_id, opened_by_name, commander_id, commander_name,"
        " scribe_id, scribe_name, opened_at, closed_at, summary, team_id, channel_id,"
        " channel_name, channel_url, channel_error, card_conversation_id, card_activity_id,"
        " service_url) VALUES (?, '20240502', ?, 'Phishing', 'high', 'triage', '', '[]', '', 'a',"
        " 'Ann', 'a', 'Ann', '', '', 1714640400, NULL, '', 'group-guid', ?, 'incident-room', '',"
        " '', ?, '42', ?)",
        f"INC-20240502-{number:03d}",
        number,
        channel_id,
        f"{channel_id};messageid=42",
        SERVICE_URL,
    )


async def test_old_records_lose_service_url_and_incident_channels_stay_reachable(store_url):
    store = await open_store(store_url)
    try:
        await _migrated_before(store, FIRST_WITHOUT)
        known = {
            "conversation": {"id": KNOWN, "conversationType": "channel", "tenantId": "t"},
            "serviceUrl": "https://smba.trafficmanager.net/amer/",
            "bot": {"id": "28:bot"},
        }
        await conversation_refs.save(store, known)
        await _old_incident(store, 1, CHANNEL)
        await _old_incident(store, 2, KNOWN)
        applied = await store.migrate()
        assert [name[:4] for name in applied if "service_url" in name] == ["0037", "0047", "0067"]

        # The channel Vigil never heard from: reachable by its id, through a card thread too.
        built = await conversation_refs.get(store, f"{CHANNEL};messageid=42")
        assert built is not None and built["serviceUrl"] == SERVICE_URL
        assert built["conversation"] == {"id": CHANNEL, "conversationType": "channel"}
        saved = await conversation_refs.get_saved(store, CHANNEL)
        assert saved is not None and saved.aad_group_id == "group-guid"
        # A reference Teams gave is kept as it was.
        assert await conversation_refs.get(store, KNOWN) == known

        incident = await records.get(store, "INC-20240502-001")
        assert incident.card_conversation_id == f"{CHANNEL};messageid=42"
        for table in ("incidents", "approvals", "summary_cadences", "summary_reminders"):
            row = await store.fetchone(f"SELECT * FROM {table} LIMIT 1")  # noqa: S608
            columns = set(row) if row else await _columns(store, table)
            assert "service_url" not in columns, table
    finally:
        await store.close()


async def _columns(store: Store, table: str) -> set[str]:
    if store.dialect == "sqlite":
        rows = await store.fetchall(f"SELECT name FROM pragma_table_info('{table}')")  # noqa: S608
        return {row["name"] for row in rows}
    rows = await store.fetchall(
        "SELECT column_name AS name FROM information_schema.columns"
        " WHERE table_name = ? AND table_schema = current_schema()",
        table,
    )
    return {row["name"] for row in rows}
