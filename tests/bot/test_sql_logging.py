"""SQL parameters never reach the log, whatever the log level.

aiosqlite logs every call with its parameters at DEBUG ("executing ... 'INSERT INTO audit_log
...', (...)"): with Vigil's logging at DEBUG, what a user typed would be written to the server
log. Black-box: Vigil's own log configuration at DEBUG, a chat command over HTTP, then the log
lines are read. The chat text holds a credential and a harmless canary word; the canary is kept
in the audit record (it is no credential), so it reaches the SQL parameters either way.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.kernel.logs import configure_logging
from tests.bot.harness import ANALYST, Harness

SECRET = "S3cr3tLog-77"
CANARY = "zebra-canary-5521"


@pytest.fixture
def logs():
    """Restores the root logger and the SQL drivers' loggers after Vigil's configuration."""
    root = logging.getLogger()
    names = ("aiosqlite", "asyncpg")
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory())
    levels = {name: logging.getLogger(name).level for name in names}
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.setLogRecordFactory(saved[2])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_chat_command_at_debug_level_leaves_no_sql_parameters_in_the_log(store_url, logs):
    harness = await Harness.start(store_url)
    try:
        configure_logging("DEBUG", harness.vigil.services.redactor, logs)
        logging.getLogger("vigil.test").debug("debug logging is on")
        await harness.say(ANALYST, f"ping pwd: {SECRET} {CANARY}")
        await harness.say(ANALYST, f"alerts route-test {CANARY}")
    finally:
        await harness.close()
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(line["message"] == "debug logging is on" for line in lines)
    assert SECRET not in logs.getvalue()
    assert CANARY not in logs.getvalue()
    drivers = [line for line in lines if line["logger"].split(".")[0] in ("aiosqlite", "asyncpg")]
    assert all(line["level"] != "DEBUG" for line in drivers), drivers[:2]
