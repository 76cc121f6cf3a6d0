"""/readyz says why the store is unreachable in one short line, secrets and tokens redacted."""

from __future__ import annotations

from bot.app import REASON_LIMIT, short_reason
from bot.kernel.redaction import MARK, Redactor
from bot.store import StoreError

PASSWORD = "Db-Passw0rd-for-readyz-test"  # noqa: S105 (a test value the redactor is told about)
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJvc3NyZGJtcy1hYWQifQ."
    "c2lnbmF0dXJlLW9mLWEtdG9rZW4tdGhhdC1tdXN0LW5vdC1zaG93"
)


def test_the_reason_is_the_class_and_the_first_line_redacted():
    redactor = Redactor(secrets=[PASSWORD])
    exc = StoreError(
        f"cannot connect with password={PASSWORD} using Bearer {JWT}\n"
        f"second line repeats {PASSWORD}"
    )
    reason = short_reason(exc, redactor)
    assert reason.startswith("StoreError: cannot connect with password=")
    assert MARK in reason
    assert PASSWORD not in reason and JWT not in reason and JWT[:40] not in reason
    assert "second line" not in reason


def test_a_long_reason_is_cut_after_redaction_and_an_empty_one_is_the_class():
    redactor = Redactor(secrets=[PASSWORD])
    # The secret straddles the cut: redacting first means no prefix of it survives.
    text = "x" * (REASON_LIMIT - 5) + PASSWORD + "y" * 500
    reason = short_reason(StoreError(text), redactor)
    assert len(reason) <= len("StoreError: ") + REASON_LIMIT
    assert PASSWORD[:5] not in reason
    assert short_reason(TimeoutError(), redactor) == "TimeoutError"
    assert short_reason(StoreError("  \n  "), redactor) == "StoreError"
