"""Structured logs: one redacted JSON object per line, carrying the request's correlation id."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import sys
import uuid
from typing import IO

from bot.redaction import Redactor

correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vigil_correlation_id", default=None
)

# Libraries whose INFO output is request-by-request noise (and header dumps): warnings only.
QUIET_LOGGERS = ("azure", "msal", "urllib3", "aiohttp.access", "msrest")


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
            message = f"{record.msg!r} (unformattable args)"
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redactor.redact(message),
            "correlation_id": correlation_id_var.get(),
        }
        if record.exc_info:
            entry["exception"] = self._redactor.redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self._redactor.redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = self._redactor.redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    level: str | int, redactor: Redactor, stream: IO[str] | None = None
) -> logging.Handler:
    """Send all logging to `stream` (stderr) as redacted JSON lines; returns the handler."""
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
    return handler
