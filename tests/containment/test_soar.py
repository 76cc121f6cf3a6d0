"""The signed SOAR webhook against a receiver that checks signatures, skew and idempotency keys."""

from __future__ import annotations

import json
import time

import pytest

from bot.containment.connector import Action, ConnectorError, Outcome, Request
from bot.containment.registry import connectors_from_config
from bot.containment.soar import SoarConnector
from tests.fakes.soar_receiver import SoarReceiver, signature_of

KEY = "soar-test-hmac-key-0123456789abcdef"
NEW_KEY = "soar-test-hmac-key-rotated-9876543210"


@pytest.fixture
async def receiver():
    started = await SoarReceiver([KEY]).start()
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
def secrets_dir(tmp_path):
    directory = tmp_path / "secrets"
    directory.mkdir()
    (directory / "soar-webhook-hmac-key").write_text(KEY)
    return directory


@pytest.fixture
def connect(make_services, receiver, secrets_dir):
    def make(**overrides: str) -> SoarConnector:
        environ = {
            "VIGIL_CONTAINMENT_ISOLATE_CONNECTOR": "soar",
            "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "soar",
            "VIGIL_SOAR_WEBHOOK_URL": receiver.url,
            "VIGIL_SECRETS_DIR": str(secrets_dir),
            "VIGIL_SOAR_MAX_BACKOFF": "0.05",
            "VIGIL_SOAR_TIMEOUT": "1",
            **overrides,
        }
        connector = connectors_from_config(make_services(environ)).for_action(Action.BLOCK_HASH)
        assert isinstance(connector, SoarConnector)
        return connector

    return make


@pytest.fixture
def soar(connect) -> SoarConnector:
    return connect()


def request(approval_id: str = "AP-20250101-0007", **fields) -> Request:
    values = {
        "approval_id": approval_id,
        "action": Action.ISOLATE_ENDPOINT,
        "target": "ws-fin-042",
        "reason": "beaconing",
        "requester": "Rita Responder",
        "approvers": ("Al Approver", "Cy Commander"),
        "incident_id": "INC-20250101-001",
        "selective": True,
        "expires_at": 1_750_000_000.0,
    }
    return Request(**{**values, **fields})


async def test_execute_posts_a_signed_body_with_the_idempotency_key(soar, receiver):
    result = await soar.execute(request())
    assert result.outcome is Outcome.SUCCEEDED
    assert result.external_id == "SOAR-1"
    assert result.http_status == 200
    assert result.provenance.connector == "soar"
    assert result.provenance.credential_id == "secret soar-webhook-hmac-key"
    assert KEY not in repr(result)
    [delivery] = receiver.deliveries
    assert delivery.key == "AP-20250101-0007"
    assert delivery.body == {
        "approval_id": "AP-20250101-0007",
        "action": "isolate_endpoint",
        "target": "ws-fin-042",
        "reason": "beaconing",
        "requester": "Rita Responder",
        "approvers": ["Al Approver", "Cy Commander"],
        "incident_id": "INC-20250101-001",
        "selective": True,
        "expires_at": "2025-06-15T15:06:40Z",
        "kind": "execute",
    }
    assert delivery.headers["X-Vigil-Signature"].startswith("sha256=")
    assert abs(int(delivery.headers["X-Vigil-Timestamp"]) - time.time()) < 120
    assert receiver.refused == []


async def test_the_signature_is_the_documented_hmac_over_timestamp_dot_body(soar, receiver):
    await soar.execute(request())
    await soar.execute(request(reason="second post, new timestamp and body"))
    for delivery in receiver.deliveries:
        stamp = delivery.headers["X-Vigil-Timestamp"]
        assert stamp.isdigit()
        assert delivery.headers["X-Vigil-Signature"] == signature_of(KEY, stamp, delivery.raw)
        assert delivery.headers["Idempotency-Key"] == "AP-20250101-0007"
        assert delivery.headers["Content-Type"] == "application/json"
        assert json.loads(delivery.raw) == delivery.body
    # Any other key, or the body or timestamp changed by one byte, no longer matches.
    delivery = receiver.deliveries[0]
    stamp = delivery.headers["X-Vigil-Timestamp"]
    signature = delivery.headers["X-Vigil-Signature"]
    assert signature != signature_of(NEW_KEY, stamp, delivery.raw)
    assert signature != signature_of(KEY, stamp, delivery.raw + b" ")
    assert signature != signature_of(KEY, str(int(stamp) + 1), delivery.raw)


async def test_a_re_send_is_one_action_for_the_receiver(soar, receiver):
    await soar.execute(request())
    again = await soar.execute(request())
    assert again.external_id == "SOAR-1"
    assert len(receiver.actions) == 1
    assert await soar.find_sent(request()) is None


async def test_pending_is_polled_to_succeeded(soar, receiver):
    receiver.status = "pending"
    first = await soar.execute(request())
    assert first.outcome is Outcome.PENDING
    polled = await soar.poll(request(), first.external_id)
    assert polled.outcome is Outcome.SUCCEEDED
    assert len(receiver.actions) == 1


async def test_a_bare_2xx_counts_as_accepted(soar, receiver):
    receiver.status = None
    receiver.answer_code = 202
    result = await soar.execute(request())
    assert result.outcome is Outcome.SUCCEEDED
    assert result.detail == "SOAR accepted"


async def test_rollback_has_its_own_key_and_kind(soar, receiver):
    sent = await soar.execute(request())
    undone = await soar.rollback(request(), sent.external_id)
    assert undone.outcome is Outcome.SUCCEEDED
    rollback = receiver.deliveries[-1]
    assert rollback.key == "AP-20250101-0007:rollback"
    assert rollback.body["kind"] == "rollback"
    assert rollback.body["external_id"] == "SOAR-1"


async def test_5xx_is_retried_then_succeeds(soar, receiver):
    receiver.fault(status=503, times=2, retry_after="0")
    result = await soar.execute(request())
    assert result.outcome is Outcome.SUCCEEDED
    assert [d.status for d in receiver.deliveries] == [503, 503, 200]


async def test_a_final_5xx_is_failed(connect, receiver):
    soar = connect(VIGIL_SOAR_ATTEMPTS="3")
    receiver.fault(status=500, times=5)
    result = await soar.execute(request())
    assert result.outcome is Outcome.FAILED
    assert "500 after 3 tries" in result.detail
    assert len(receiver.deliveries) == 3


async def test_timeouts_are_retried_and_then_unknown(connect, receiver):
    soar = connect(VIGIL_SOAR_ATTEMPTS="2")
    receiver.fault(delay=2.5, status=200, times=2)
    result = await soar.execute(request())
    assert result.outcome is Outcome.UNKNOWN
    assert "status unknown" in result.detail


async def test_4xx_is_failed_with_the_receivers_reason(soar, receiver):
    receiver.fault(status=422, body={"detail": "target\nnot   in CMDB"})
    result = await soar.execute(request())
    assert result.outcome is Outcome.FAILED
    assert result.detail == "SOAR webhook refused it: 422 target not in CMDB"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "SOAR accepted"),
        (b"[1, 2]", "SOAR accepted"),
        ({"status": 7, "id": ["x"]}, "SOAR accepted"),
        (
            {"status": "failed", "id": "T-9", "detail": "no such host"},
            "SOAR failed (T-9): no such host",
        ),
        ({"status": "succeeded", "id": "bad id\n$x"}, "SOAR succeeded"),
        (b"x" * 200_000, "SOAR accepted"),
    ],
)
async def test_odd_2xx_answers(soar, receiver, body, detail):
    receiver.fault(status=200, body=body)
    result = await soar.execute(request())
    assert result.detail == detail
    assert result.outcome is (Outcome.FAILED if "failed" in detail else Outcome.SUCCEEDED)


async def test_a_rotated_key_is_re_read_once(soar, receiver, secrets_dir):
    assert (await soar.execute(request("AP-1"))).outcome is Outcome.SUCCEEDED
    receiver.keys = [NEW_KEY]
    (secrets_dir / "soar-webhook-hmac-key").write_text(NEW_KEY)
    result = await soar.execute(request("AP-2"))
    assert result.outcome is Outcome.SUCCEEDED
    assert receiver.refused == ["bad signature"]


async def test_a_key_the_receiver_never_accepts_fails_clearly(soar, receiver):
    receiver.keys = ["some-other-key-entirely-0123456789"]
    result = await soar.execute(request())
    assert result.outcome is Outcome.FAILED
    assert result.detail == "SOAR refused the signature (401)"


async def test_missing_key_fails_and_doctor_says_so(connect, secrets_dir):
    (secrets_dir / "soar-webhook-hmac-key").unlink()
    soar = connect()
    result = await soar.execute(request())
    assert result.outcome is Outcome.FAILED
    assert "soar-webhook-hmac-key" in result.detail
    with pytest.raises(ConnectorError, match="signing key unavailable"):
        await soar.check()


async def test_unreachable_receiver_is_failed_not_unknown(connect):
    soar = connect(VIGIL_SOAR_WEBHOOK_URL="http://127.0.0.1:9/hook", VIGIL_SOAR_ATTEMPTS="2")
    result = await soar.execute(request())
    assert result.outcome is Outcome.FAILED
    assert "cannot connect" in result.detail


async def test_the_reason_is_redacted_in_the_summary(connect, receiver):
    soar = connect(VIGIL_REDACT_PATTERNS=r"case-\d+")
    result = await soar.execute(request(reason="see case-12345"))
    assert receiver.deliveries[0].body["reason"] == "see case-12345"
    assert "case-12345" not in json.dumps(result.request_summary)


async def test_hostile_text_travels_as_json_data(soar, receiver):
    reason = 'x"}\n{"kind":"rollback"\u2028<script>'
    await soar.execute(request(reason=reason, target="evil.example.com\r\nX-Evil: 1"))
    body = receiver.deliveries[0].body
    assert body["reason"] == reason
    assert body["kind"] == "execute"
    assert "X-Evil" not in receiver.deliveries[0].headers


async def test_check_names_key_and_url(soar, receiver):
    line = await soar.check()
    assert receiver.url in line
    assert KEY not in line
