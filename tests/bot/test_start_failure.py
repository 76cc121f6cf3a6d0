"""A start-up that refuses a setting leaves no HTTP session, store thread or secret source open."""

from __future__ import annotations

import gc
import threading
import tomllib
import warnings

import pytest

from bot.app import start_vigil, stop_vigil
from bot.kernel.config import ConfigError, RawConfig

AUDIT = {"VIGIL_SECRET_AUDIT_HMAC_KEY": "start-failure-audit-key-0123456789"}
BAD_ROUTE = (
    '[[alerts.routes]]\nname = "r"\ntitle_regex = "(unclosed"\nchannel = "19:a@thread.tacv2"\n'
)

# Each fails at a different stage: roles (ports), routing (a background job), exec channel (areas).
REFUSALS = {
    "bad role id": ("", {"VIGIL_ROLE_ADMIN": "not an id!"}, "VIGIL_ROLE_ADMIN"),
    "bad routing rule": (BAD_ROUTE, {}, "alerts.routes"),
    "bad exec channel": ("", {"VIGIL_EXEC_CHANNEL": "exec-room"}, "summaries.exec_channel"),
}


def _store_threads() -> int:
    # aiosqlite runs each connection on its own worker thread until the store is closed.
    return sum("_connection_worker_thread" in t.name for t in threading.enumerate())


@pytest.mark.parametrize("case", sorted(REFUSALS))
async def test_a_refused_start_closes_what_it_opened(case, tmp_path):
    toml, env, key = REFUSALS[case]
    raw = RawConfig(
        tomllib.loads(toml), {**AUDIT, "VIGIL_DB_URL": f"sqlite:///{tmp_path}/v.db", **env}
    )
    gc.collect()  # what earlier tests left behind warns now, not inside the check below
    threads = _store_threads()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            vigil = await start_vigil(raw)
        except ConfigError as exc:
            assert key in str(exc)
        else:
            await stop_vigil(vigil, 1)
            pytest.fail("the bad setting was accepted")
        gc.collect()  # an unclosed aiohttp session warns when collected
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
    assert _store_threads() == threads


async def test_a_refused_start_leaves_a_given_store_open(store):
    raw = RawConfig({}, {**AUDIT, "VIGIL_EXEC_CHANNEL": "exec-room"})
    with pytest.raises(ConfigError):
        await start_vigil(raw, store=store)
    # The caller opened it, so the caller closes it: it still answers.
    await store.ping()
    assert await store.fetchval("SELECT 1") == 1
