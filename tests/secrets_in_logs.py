"""A session-wide watch on every log record: no configured secret value may ever appear."""

from __future__ import annotations

import logging
import traceback

# Secret values the suite configures for the bot it runs (tests/bot/harness.py, tests/doctor).
WATCHED = (
    "local-test-password-not-a-secret",
    "audit-key-for-tests-0123456789abcdef",
    "doctor-test-password",
    "doctor-audit-key-0123456789abcdef",
    "serve-test-audit-key-0123456789",
)


class LogWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        for value in WATCHED:
            if value in text:
                self.leaks.append(f"{record.name}: {text[:200]}")
