"""Structured JSON logs: fields, correlation ids per task, redaction of every part of a record."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot.kernel.logs import configure_logging, correlation_id_var, new_correlation_id
from bot.kernel.redaction import Redactor

SECRET = "log-Secret-Value-31337"


@pytest.fixture
def stream():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogRecordFactory())
    out = io.StringIO()
    configure_logging("INFO", Redactor([SECRET]), out)
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.setLogRecordFactory(saved[2])


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_fields(stream):
    correlation_id_var.set(None)
    logging.getLogger("vigil.a").info("hello %s\nsecond line", "world")
    [entry] = lines(stream)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "vigil.a"
    assert entry["message"] == "hello world\nsecond line"
    assert entry["correlation_id"] is None
    assert entry["time"].endswith("+00:00")


def test_message_args_and_exception_are_redacted(stream):
    log = logging.getLogger("vigil.b")
    log.warning("value %s in %r", SECRET, {"password": "pw-123456"})
    try:
        raise ValueError(f"bad key {SECRET}")
    except ValueError:
        log.exception("failed with Bearer %s", "tok-abcdef123456")
    log.error("stack", stack_info=True, extra={"note": SECRET})
    output = stream.getvalue()
    assert SECRET not in output
    assert "pw-123456" not in output and "tok-abcdef123456" not in output
    entries = lines(stream)
    assert "ValueError: bad key [REDACTED]" in entries[1]["exception"]
    assert "stack" in entries[2]


def test_unformattable_record_is_still_logged(stream):
    logging.getLogger("vigil.c").info("%d items from %s", "not-a-number")
    [entry] = lines(stream)
    assert "unformattable" in entry["message"]


def test_hostile_message_stays_one_line_of_json(stream):
    logging.getLogger("vigil.d").info('"}\n{"level": "CRITICAL", "message": "forged"}\x00\u2028')
    [entry] = lines(stream)
    assert entry["level"] == "INFO"


async def test_correlation_ids_are_per_task(stream):
    log = logging.getLogger("vigil.e")

    async def request() -> str:
        value = new_correlation_id()
        await asyncio.sleep(0)
        log.info("handled")
        return value

    ids = await asyncio.gather(*(request() for _ in range(5)))
    assert len(set(ids)) == 5
    assert sorted(entry["correlation_id"] for entry in lines(stream)) == sorted(ids)


def test_reconfiguring_replaces_our_handler(stream):
    second = io.StringIO()
    configure_logging("WARNING", Redactor(), second)
    logging.getLogger("vigil.f").warning("once")
    assert stream.getvalue() == ""
    assert len(lines(second)) == 1


def test_azure_sdk_info_logs_are_quiet(stream):
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request headers")
    logging.getLogger("azure.identity").warning("real problem")
    assert [entry["message"] for entry in lines(stream)] == ["real problem"]
