"""Structured logs: one redacted JSON object per line, carrying the request's correlation id."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys
import uuid
from typing import IO

from bot.kernel.redaction import Redactor

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vigil_correlation_id", default=None
)

# Libraries whose INFO output is request-by-request noise (and header dumps): warnings only.
QUIET_LOGGERS = ("azure", "msal", "urllib3", "aiohttp.access", "msrest")
# Database drivers log each call with its parameters at DEBUG (aiosqlite: "executing ... (...)"):
# what users typed and what Vigil stores. Never below INFO, whatever the level asked for.
SQL_LOGGERS = ("aiosqlite", "asyncpg")


def new_correlation_id() -> str:
    """Start a new correlation id in the current context (a request, a job) and return it."""
    value = uuid.uuid4().hex
    correlation_id_var.set(value)
    return value


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line, with every text field passed through the redactor."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not lose the record
            message = f"{record.msg!r} (unformattable args {record.args!r})"
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redactor.redact(message),
            "correlation_id": correlation_id_var.get(),
        }
        if record.exc_text:
            entry["exception"] = self._redactor.redact(record.exc_text)
        elif record.exc_info:
            entry["exception"] = self._redactor.redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self._redactor.redact(record.stack_info)
        # ASCII-only: U+2028 and friends would split the line for some log shippers.
        return json.dumps(entry, ensure_ascii=True, default=str)


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Replace a record's message, args and exception text by their redacted rendering."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not lose the record
        message = f"{record.msg!r} (unformattable args {record.args!r})"
    record.msg = redactor.redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.redact(record.stack_info)


def install_record_redaction(redactor: Redactor) -> None:
    """Redact every record as it is created, so every handler (not only ours) sees it redacted."""
    base = logging.getLogRecordFactory()
    base = getattr(base, "vigil_base", base)

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = base(*args, **kwargs)
        redact_record(record, redactor)
        return record

    factory.vigil_base = base  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_logging(
    level: str | int, redactor: Redactor, stream: IO[str] | None = None
) -> logging.Handler:
    """Send all logging to `stream` (stderr) as redacted JSON lines; returns the handler."""
    install_record_redaction(redactor)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "vigil_json", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.vigil_json = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(redactor))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in SQL_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    return handler
