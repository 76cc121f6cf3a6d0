"""`X-Vigil-Timestamp` is plain decimal epoch seconds: hostile stamps get 401 even when signed.

Each hostile stamp is signed with the right key, so only the timestamp rule can refuse it. Most of
them mean "now" to a lenient parser (float() reads `nan`, `+…`, `…e1`, `1_7…`, Arabic-Indic digits).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from bot.kernel.signature import sign
from tests.alerts.webhook import HMAC_KEY, alert_env, post
from tests.bot.harness import Harness


def _arabic_indic(number: int) -> str:
    return "".join(chr(0x0660 + int(digit)) for digit in str(number))


def hostile(now: int) -> dict[str, str]:
    return {
        "nan": "nan",
        "NaN": "NaN",
        "inf": "inf",
        "-inf": "-inf",
        "Infinity": "Infinity",
        "1e10": "1e10",
        "1E3": "1E3",
        "exponent meaning now": f"{now // 10}e1",
        "exponent with fraction": f"{now / 1000}E3",
        "empty": "",
        "leading space": f" {now}",
        "trailing space": f"{now} ",
        "plus sign": f"+{now}",
        "minus zero": "-0",
        "underscores": f"{now:_}",
        "21 characters": f"{now}." + "0" * (20 - len(str(now))),
        "long fraction": f"{now}." + "0" * 40,
        "arabic-indic digits": _arabic_indic(now),
        "huge int": "9" * 400,
        "hex": hex(now),
        "dot only": ".",
        "bare fraction": f"{now}.",
        "leading dot": f".{now}",
    }


def _signed(stamp: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Vigil-Timestamp": stamp,
        "X-Vigil-Signature": sign(HMAC_KEY, stamp, body),
    }


def _body() -> bytes:
    return json.dumps({"title": f"stamp {uuid.uuid4()}", "severity": "low"}).encode()


@pytest.fixture
async def bot(sqlite_url):
    harness = await Harness.start(sqlite_url, alert_env())
    try:
        yield harness
    finally:
        await harness.close()


async def test_signed_hostile_timestamps_are_401(bot):
    accepted = {}
    for name, stamp in hostile(int(time.time())).items():
        body = _body()
        status, answer = await post(
            bot.url, "generic", raw=body, signed=False, headers=_signed(stamp, body)
        )
        assert HMAC_KEY not in json.dumps(answer)
        if status != 401:
            accepted[name] = (stamp, status)
    assert accepted == {}


async def test_plain_decimal_seconds_are_accepted(bot):
    at = time.time()
    whole = str(int(at))
    for stamp in (whole, f"{at:.3f}", f"{whole}." + "0" * (19 - len(whole))):
        assert len(stamp) <= 20
        body = _body()
        status, answer = await post(
            bot.url, "generic", raw=body, signed=False, headers=_signed(stamp, body)
        )
        assert status == 202, (stamp, answer)
