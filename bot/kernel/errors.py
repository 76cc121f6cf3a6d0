"""Domain errors: how a capability says it cannot do what was asked, in words for the user but
without knowing chat. The one way in answers them: a `Refused` as a refusal, audited with its
detail; any other `DomainError` as the usage answer of the command that raised it."""

from __future__ import annotations


class DomainError(ValueError):
    """What was asked cannot be done as asked; the message says what is wrong."""


class Refused(DomainError):
    """A well-formed request that Vigil declines (policy, state, an unknown target).

    `detail` is the reason the audit record keeps; `target` what it names (None: whatever the
    command names by default)."""

    def __init__(self, message: str, detail: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail
        self.target = target
