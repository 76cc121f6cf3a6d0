"""`POST /api/alerts/{source}` as a SIEM meets it: auth, limits, store-first 202, re-sends."""

from __future__ import annotations

import base64
import json
import time

import pytest

from bot.alerts import repository
from tests.alerts.samples import sample
from tests.alerts.webhook import HMAC_KEY, SOURCES, TOKEN, alert_env, post, signed_headers
from tests.bot.harness import Harness


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, alert_env())
    try:
        yield harness
    finally:
        await harness.close()


@pytest.mark.parametrize("source", [s for s in SOURCES if s != "splunk"])
async def test_each_source_is_stored_before_202_and_a_resend_is_200_with_the_same_id(bot, source):
    status, answer = await post(bot.url, source, sample(source))
    assert status == 202, answer
    ids = answer["ids"]
    assert ids and all(i.startswith("al-") for i in ids)
    for alert_id in ids:
        assert await repository.get(bot.vigil.services.store, alert_id) is not None
    # A re-send is signed afresh (a replay of the same signature is refused, tested below).
    status, again = await post(bot.url, source, sample(source), at=time.time() - 10)
    assert status == 200, again
    assert again["ids"] == ids
    assert {a["outcome"] for a in again["accepted"]} == {"duplicate"}


async def test_splunk_with_a_bearer_token_and_with_basic_auth(bot):
    status, answer = await post(
        bot.url,
        "splunk",
        sample("splunk"),
        signed=False,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert status == 202, answer
    basic = base64.b64encode(f"splunk:{TOKEN}".encode()).decode()
    body = sample("splunk")
    body["sid"] = "another-run"
    status, answer = await post(
        bot.url, "splunk", body, signed=False, headers={"Authorization": f"Basic {basic}"}
    )
    assert status == 202, answer


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer wrong-token", f"Bearer {TOKEN}x", "Basic !!!", "Token " + TOKEN],
)
async def test_bad_or_missing_token_is_401(bot, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    status, answer = await post(bot.url, "splunk", sample("splunk"), signed=False, headers=headers)
    assert status == 401
    assert TOKEN not in json.dumps(answer)


async def test_signature_missing_bad_stale_and_replayed(bot):
    body = json.dumps(sample("generic")).encode()
    status, answer = await post(bot.url, "generic", raw=body, signed=False)
    assert (status, "signature missing" in answer["error"]) == (401, True)
    wrong = signed_headers(body, key="not-the-key")
    status, answer = await post(bot.url, "generic", raw=body, signed=False, headers=wrong)
    assert (status, answer["error"]) == (401, "bad credentials")
    stale = signed_headers(body, at=time.time() - 301)
    status, answer = await post(bot.url, "generic", raw=body, signed=False, headers=stale)
    assert status == 401 and "stale" in answer["error"]
    future = signed_headers(body, at=time.time() + 400)
    status, _ = await post(bot.url, "generic", raw=body, signed=False, headers=future)
    assert status == 401
    good = signed_headers(body)
    status, _ = await post(bot.url, "generic", raw=body, signed=False, headers=good)
    assert status == 202
    status, answer = await post(bot.url, "generic", raw=body, signed=False, headers=good)
    assert status == 401 and "replay" in answer["error"]
    tampered = body.replace(b"Impossible", b"Possible")
    status, _ = await post(bot.url, "generic", raw=tampered, signed=False, headers=good)
    assert status == 401


async def test_a_source_with_no_credentials_is_not_configured(store_url):
    harness = await Harness.start(store_url)
    try:
        status, answer = await post(harness.url, "generic", sample("generic"))
        assert status == 401
        assert "not configured" in answer["error"]
    finally:
        await harness.close()


async def test_unknown_source_is_404(bot):
    status, answer = await post(bot.url, "nagios", {"x": 1})
    assert status == 404
    assert "generic" in answer["error"]


async def test_body_over_one_megabyte_is_413(bot):
    body = {"title": "big", "severity": "low", "description": "x" * (1024 * 1024)}
    status, answer = await post(bot.url, "generic", body)
    assert status == 413
    assert "body over" in answer["error"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"title": "t", "severity": "lo',
        b"\xff\xfe\x00",
        b"not json at all",
        b"[" * 65 + b"]" * 65,
        b"[" * 100000 + b"]" * 100000,
        b'{"a":' * 70 + b"1" + b"}" * 70,
    ],
)
async def test_unreadable_truncated_or_too_deep_json_is_400(bot, raw):
    status, answer = await post(bot.url, "generic", raw=raw)
    assert status == 400, answer
    assert answer["error"]


async def test_nesting_of_exactly_64_levels_is_accepted_as_json(bot):
    body = {"title": "deep", "severity": "low", "extra": None}
    node: list = []
    body["extra"] = node
    for _ in range(62):
        child: list = []
        node.append(child)
        node = child
    status, answer = await post(bot.url, "generic", body)
    assert status == 202, answer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "high"}, "title"),
        ({"title": "t"}, "severity"),
        ({"title": "t", "severity": "high", "entities": [{"type": "host"}]}, "entities[0]"),
        ({"title": 5, "severity": "high"}, "title"),
        ([], "alerts"),
    ],
)
async def test_missing_fields_or_wrong_types_are_422_naming_the_field(bot, body, field):
    status, answer = await post(bot.url, "generic", body)
    assert status == 422, answer
    assert answer["field"] == field
    assert field in answer["error"]


async def test_unknown_severity_is_kept_as_unknown_with_a_warning(bot):
    status, answer = await post(bot.url, "generic", {"title": "odd", "severity": "purple"})
    assert status == 202
    assert "purple" in answer["accepted"][0]["warnings"][0]
    alert, _ = await repository.get(bot.vigil.services.store, answer["ids"][0])
    assert alert.severity.value == "unknown"
    assert alert.warnings


async def test_one_bad_alert_in_an_alertmanager_batch_keeps_the_good_ones(bot):
    body = sample("alertmanager")
    body["alerts"].insert(1, {"status": "firing", "labels": {}, "fingerprint": "f00"})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    status, answer = await post(bot.url, "alertmanager", body, signed=False, headers=headers)
    assert status == 202, answer
    assert len(answer["ids"]) == 2
    assert answer["rejected"][0]["field"] == "alerts[1].labels.alertname"


async def test_alertmanager_resolved_marks_the_alert_resolved(bot):
    headers = {"Authorization": f"Bearer {TOKEN}"}
    status, answer = await post(
        bot.url, "alertmanager", sample("alertmanager"), signed=False, headers=headers
    )
    assert status == 202
    first = answer["ids"][0]
    resolved = sample("alertmanager")
    resolved["status"] = "resolved"
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2024-05-02T09:30:00Z"
    status, answer = await post(bot.url, "alertmanager", resolved, signed=False, headers=headers)
    assert status == 202
    assert answer["ids"] == [first]
    assert answer["accepted"][0]["outcome"] == "updated"
    alert, _ = await repository.get(bot.vigil.services.store, first)
    assert alert.status.value == "resolved"


async def test_secrets_never_appear_in_answers(bot):
    for headers in ({"Authorization": f"Bearer {HMAC_KEY}"}, {}):
        status, answer = await post(bot.url, "generic", {"x": 1}, signed=False, headers=headers)
        assert status == 401
        assert HMAC_KEY not in json.dumps(answer)
