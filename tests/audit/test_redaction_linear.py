"""Redaction stays linear on hostile input: every audit record, log line and reply passes it.

For each adversarial shape (a repeated prefix of one of the redactor's alternatives), one 64 KB
input must cost about as much as 64 inputs of 1 KB: the same bytes, so a linear redactor does the
same work. A quadratic one would do 64 times more. The bound is wide (8x) so that a loaded machine
cannot fail it; each side is the best of a few interleaved runs.
"""

from __future__ import annotations

import time

import pytest

from bot.kernel.redaction import MARK, Redactor

SMALL = 1024
LARGE = 64 * 1024
ROUNDS = 3
MAX_RATIO = 8.0

# Secrets Vigil has read are redacted too, and cut short before an ellipsis: one long one here.
LONG_SECRET = "Kx9" + "-".join(f"part{i}Q" for i in range(200))

SHAPES = [
    "a",
    " ",
    "\n",
    "password",
    "password=",
    "password = ",
    "password=a ",
    "password=a b ",
    "pwd: a ",
    "pwd: |\n",
    "pwd: |\nline\n",
    'password="',
    '"password": "\\',
    '{"client_secret": "a\\"b", ',
    "password=a b c d e f g h i ",
    "Password=a b;",
    "key key ",
    "Authorization: Digest ",
    "digest a",
    "Digest a=",
    "Authorization: Basic ",
    "Bearer ",
    "bearer aaaaaaaa ",
    "-----BEGIN PRIVATE KEY-----",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\n-",
    "-----END PRIVATE KEY-----",
    "-",
    "a://a:",
    "postgresql://u:",
    "a://",
    "@a.",
    "a@",
    "+1 (",
    "1-",
    "eyJ",
    "eyJa.",
    "AKIA",
    "aB3",
    "x" * 63 + "=",
    "hooks.slack.com/services/",
    "logic.azure.com?",
    "AccountKey=",
    "SharedAccessSignature ",
    "…",
    LONG_SECRET[:40] + "…",
    "[",
    "(",
    ".",
    "_",
]


def _input(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _cost(redactor: Redactor, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        redactor.redact(text)
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor([LONG_SECRET, "short-Secret-1"], pii=["email", "phone"])


@pytest.mark.parametrize("unit", SHAPES, ids=repr)
def test_one_large_input_costs_about_as_much_as_the_same_bytes_in_small_inputs(redactor, unit):
    small = [_input(unit, SMALL)] * (LARGE // SMALL)
    large = [_input(unit, LARGE)]
    small_costs, large_costs = [], []
    for _ in range(ROUNDS):
        small_costs.append(_cost(redactor, small))
        large_costs.append(_cost(redactor, large))
    # A floor keeps a shape that costs next to nothing from dividing by noise.
    ratio = min(large_costs) / max(min(small_costs), 0.002)
    assert ratio < MAX_RATIO, f"{unit!r}: 64 KB costs {ratio:.1f}x the same bytes in 1 KB inputs"


def test_the_redactor_still_redacts_at_the_largest_size(redactor):
    text = _input("pwd: S3cr3t-9 ", LARGE)
    assert "S3cr3t" not in redactor.redact(text)
    assert redactor.redact(f"{LONG_SECRET[:30]}…") == f"{MARK}…"
