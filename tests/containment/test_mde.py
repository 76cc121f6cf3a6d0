"""The Defender for Endpoint connector against the local MDE fake: lookups, isolation, indicators,
rollback, crash reconciliation, provenance, and hostile or broken answers."""

from __future__ import annotations

import logging
import time

import pytest

from bot.app import build_services
from bot.containment.connector import Action, ConnectorError, Outcome, Request
from bot.containment.mde import MdeConnector
from bot.containment.registry import connectors_from_config
from bot.kernel.commands import CommandRegistry
from bot.kernel.config import RawConfig
from bot.kernel.rbac import RoleMap
from tests.containment.conftest import AUDIT_KEY
from tests.fakes.mde import MDE_SCOPE, MdeFake

HOST = "ws-fin-042.corp.example.com"


@pytest.fixture
async def fake(tmp_path):
    started = await MdeFake(polls_to_finish=2).start(tmp_path)
    started.add_machine(HOST, machineTags=["finance", "tier0"], riskScore="High")
    started.add_machine("ws-fin-043.corp.example.com")
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def tls_http(fake):
    async with fake.client_session() as session:
        yield session


@pytest.fixture
def connect(fake, tls_http, sqlite_store):
    def make(**overrides: str | None) -> MdeConnector:
        environ = {
            "VIGIL_SECRET_AUDIT_HMAC_KEY": AUDIT_KEY,
            **fake.vigil_env(),
            "VIGIL_CA_BUNDLE": fake.ca_path,
            "VIGIL_CONTAINMENT_BLOCK_CONNECTOR": "mde",
            "VIGIL_MDE_TIMEOUT": "2",
            "VIGIL_MDE_MAX_RETRY_AFTER": "1",
            **overrides,
        }
        raw = RawConfig({}, {key: value for key, value in environ.items() if value is not None})
        services = build_services(raw, sqlite_store, tls_http, CommandRegistry([]), RoleMap())
        connector = connectors_from_config(services).for_action(Action.ISOLATE_ENDPOINT)
        assert isinstance(connector, MdeConnector)
        assert connectors_from_config(services).for_action(Action.BLOCK_HASH) is connector
        return connector

    return make


@pytest.fixture
def mde(connect) -> MdeConnector:
    return connect()


def isolate(approval_id: str = "AP-20250101-0001", **fields) -> Request:
    values = {
        "approval_id": approval_id,
        "action": Action.ISOLATE_ENDPOINT,
        "target": HOST,
        "reason": "beaconing to evil.example.com",
        "requester": "Rita Responder",
        "approvers": ("Al Approver",),
    }
    return Request(**{**values, **fields})


def block(action: Action, target: str, approval_id: str = "AP-20250101-0002", **fields) -> Request:
    return Request(
        approval_id, action, target, "phishing kit", "Rita Responder", ("Al Approver",), **fields
    )


# --- lookups -------------------------------------------------------------------------------------


async def test_describe_finds_the_machine_by_name_in_any_case_and_by_short_name(mde, fake):
    info = await mde.describe(Action.ISOLATE_ENDPOINT, "WS-FIN-042.corp.example.com")
    assert info.found
    assert info.target == HOST
    facts = dict(info.facts)
    assert facts["Risk score"] == "High"
    assert facts["OS"] == "Windows11 10.0.22631"
    assert facts["Health"] == "Active"
    assert facts["IP"] == "10.20.30.42"
    assert info.tags == ("finance", "tier0")
    assert len(info.machine_id) == 40
    short = await mde.describe(Action.ISOLATE_ENDPOINT, "ws-fin-042")
    assert short.machine_id == info.machine_id
    by_id = await mde.describe(Action.ISOLATE_ENDPOINT, info.machine_id)
    assert by_id.target == HOST
    query = fake.requests("/api/machines")[0].query["$filter"]
    assert query == f"computerDnsName eq '{HOST}'"


async def test_unknown_ambiguous_and_hostile_hosts_are_not_found(mde, fake):
    assert not (await mde.describe(Action.ISOLATE_ENDPOINT, "ws-nope-001")).found
    # ws-fin-04 is a prefix of two machines, but the short-name rule needs "name." exactly.
    assert not (await mde.describe(Action.ISOLATE_ENDPOINT, "ws-fin-04")).found
    assert not (await mde.describe(Action.ISOLATE_ENDPOINT, "0" * 40)).found
    before = len(fake.recorded)
    for hostile in ("x' or computerDnsName ne '", "a b", "ws\n042", "", "../../api/indicators"):
        assert not (await mde.describe(Action.ISOLATE_ENDPOINT, hostile)).found
    assert len(fake.recorded) == before  # refused before any request


async def test_block_targets_are_checked_and_typed(mde):
    cases = {
        (Action.BLOCK_DOMAIN, "Evil.Example.com"): "DomainName evil.example.com",
        (Action.BLOCK_IP, "203.0.113.7"): "IpAddress 203.0.113.7",
        (Action.BLOCK_URL, "https://evil.example.com/x"): "Url https://evil.example.com/x",
        (Action.BLOCK_HASH, "A" * 64): f"FileSha256 {'a' * 64}",
        (Action.BLOCK_HASH, "b" * 40): f"FileSha1 {'b' * 40}",
        (Action.BLOCK_HASH, "c" * 32): f"FileMd5 {'c' * 32}",
    }
    for (action, target), expected in cases.items():
        info = await mde.describe(action, target)
        assert dict(info.facts)["Defender indicator"] == expected
    for action, target in (
        (Action.BLOCK_IP, "203.0.113.0/24"),
        (Action.BLOCK_HASH, "z" * 64),
        (Action.BLOCK_HASH, "a" * 50),
        (Action.BLOCK_URL, "javascript:alert(1)"),
        (Action.BLOCK_DOMAIN, "evil.example.com\nx"),
    ):
        with pytest.raises(ConnectorError):
            await mde.describe(action, target)


# --- isolation -----------------------------------------------------------------------------------


async def test_isolate_sends_once_and_polls_to_success(mde, fake):
    result = await mde.execute(isolate(selective=True))
    assert result.outcome is Outcome.PENDING
    assert result.http_status == 201
    sent = fake.requests("/isolate")
    assert len(sent) == 1
    assert sent[0].body["IsolationType"] == "Selective"
    assert sent[0].body["Comment"].startswith("Vigil AP-20250101-0001: beaconing")
    assert "approved by Al Approver" in sent[0].body["Comment"]
    assert result.external_id in fake.actions
    assert result.request_summary["method"] == "POST"
    assert result.request_summary["path"].endswith("/isolate")
    assert len(result.response_digest) == 64
    first = await mde.poll(isolate(), result.external_id)
    assert first.outcome is Outcome.PENDING
    assert "InProgress" in first.detail
    final = await mde.poll(isolate(), result.external_id)
    assert final.outcome is Outcome.SUCCEEDED
    assert final.detail.startswith("isolated")
    assert len(fake.requests("/isolate")) == 1


async def test_a_failed_machine_action_is_failed(mde, fake):
    fake.final_status = "TimeOut"
    fake.polls_to_finish = 1
    result = await mde.execute(isolate())
    assert (await mde.poll(isolate(), result.external_id)).outcome is Outcome.FAILED


async def test_provenance_names_scope_and_app_id_never_the_secret(mde, fake):
    result = await mde.execute(isolate())
    assert result.provenance.connector == "mde"
    assert result.provenance.scope == MDE_SCOPE
    assert result.provenance.credential_id == fake.app_id
    assert fake.app_password not in repr(result)
    # The token was asked for just in time, for the MDE scope only.
    scopes = {request.get("scope") for request in fake.token_requests}
    assert scopes == {MDE_SCOPE}


async def test_each_call_gets_a_fresh_token(mde, fake):
    await mde.describe(Action.ISOLATE_ENDPOINT, HOST)
    await mde.describe(Action.ISOLATE_ENDPOINT, HOST)
    assert len(fake.token_requests) == 2


async def test_the_comment_is_redacted_in_the_summary(connect, fake):
    mde = connect(VIGIL_REDACT_PATTERNS=r"case-\d+")
    result = await mde.execute(isolate(reason="see case-12345 for details"))
    assert "case-12345" in fake.requests("/isolate")[0].body["Comment"]
    assert "case-12345" not in str(result.request_summary)


async def test_already_isolating_is_a_4xx_failure_with_the_reason(mde, fake):
    await mde.execute(isolate("AP-1"))
    second = await mde.execute(isolate("AP-2"))
    assert second.outcome is Outcome.FAILED
    assert second.http_status == 400
    assert "ActiveRequestAlreadyExists" in second.detail


async def test_missing_permission_is_a_failure_naming_it(mde, fake):
    fake.permissions.discard("Machine.Isolate")
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.FAILED
    assert result.http_status == 403
    assert "Machine.Isolate" in result.detail


async def test_timeout_after_sending_is_unknown_and_find_sent_reconciles(mde, fake):
    request = isolate(machine_id=next(iter(fake.machines)))
    # The fake isolates, then never answers in time: the request was written and acted on.
    fake.fault("POST", "/isolate", status=201, apply_first=True, delay=5)
    result = await mde.execute(request)
    assert result.outcome is Outcome.UNKNOWN
    assert "status unknown" in result.detail
    assert len(fake.requests("/isolate")) == 1
    # After a crash, a new process recognises this approval's action by its comment.
    found = await mde.find_sent(request)
    assert found is not None
    assert found.external_id in fake.actions
    assert found.outcome is Outcome.PENDING
    assert await mde.find_sent(isolate("AP-20990101-0009", machine_id=request.machine_id)) is None
    assert len(fake.requests("/isolate")) == 1


async def test_find_sent_when_nothing_was_sent_is_none(mde):
    assert await mde.find_sent(isolate()) is None
    assert await mde.find_sent(block(Action.BLOCK_DOMAIN, "evil.example.com")) is None


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (500, None, Outcome.UNKNOWN),
        (503, b"<html>down</html>", Outcome.UNKNOWN),
        (201, b"not json", Outcome.UNKNOWN),
        (201, {"id": 42, "status": ["Pending"]}, Outcome.UNKNOWN),
        (201, {"status": "Pending"}, Outcome.UNKNOWN),
        (201, {"id": "abc\n", "status": "Pending"}, Outcome.UNKNOWN),
        (201, {"id": "a1", "status": "Exploded"}, Outcome.UNKNOWN),
        (201, b"x" * (2 << 20), Outcome.UNKNOWN),
        (400, {"error": {"code": 7, "message": ["x"]}}, Outcome.FAILED),
        (
            404,
            {"error": {"code": "ResourceNotFound", "message": "Machine not found"}},
            Outcome.FAILED,
        ),
    ],
)
async def test_broken_isolate_answers(mde, fake, status, body, outcome):
    fake.fault("POST", "/isolate", status=status, body=body)
    result = await mde.execute(isolate(machine_id=next(iter(fake.machines))))
    assert result.outcome is outcome, result.detail
    assert result.request_summary.get("path", "").endswith("/isolate") or outcome is Outcome.UNKNOWN


async def test_429_honours_retry_after_then_succeeds(mde, fake):
    fake.fault("POST", "/isolate", status=429, retry_after="0")
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.PENDING
    assert [call.status for call in fake.requests("/isolate")] == [429, 201]


async def test_429_with_a_retry_after_over_the_limit_fails_without_sending(mde, fake):
    fake.fault("POST", "/isolate", status=429, retry_after="3600")
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.FAILED
    assert "rate limited" in result.detail
    assert not fake.actions


async def test_a_wrong_password_is_a_clear_failure(connect, fake):
    mde = connect(VIGIL_APP_PASSWORD="wrong-password-for-the-fake")
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.FAILED
    assert "invalid_client" in result.detail
    assert not fake.requests("/isolate")
    with pytest.raises(ConnectorError, match="no token"):
        await mde.check()


async def test_missing_authority_says_what_to_set(connect):
    mde = connect(VIGIL_AAD_AUTHORITY=None)
    with pytest.raises(ConnectorError, match="VIGIL_AAD_AUTHORITY"):
        await mde.check()


async def test_unreachable_mde_is_not_sent(connect):
    mde = connect(VIGIL_MDE_URL="https://127.0.0.1:9")
    result = await mde.execute(isolate(machine_id="a" * 40))
    assert result.outcome is Outcome.FAILED
    assert "cannot connect" in result.detail


async def test_rollback_releases_the_machine(mde, fake):
    sent = await mde.execute(isolate())
    undo = await mde.rollback(isolate(), sent.external_id)
    assert undo.outcome is Outcome.PENDING
    action = fake.actions[undo.external_id]
    assert action["type"] == "Unisolate"
    assert "AP-20250101-0001 rollback" in action["requestorComment"]
    await mde.poll(isolate(), undo.external_id)
    assert (await mde.poll(isolate(), undo.external_id)).outcome is Outcome.SUCCEEDED


# --- indicators ----------------------------------------------------------------------------------


async def test_block_domain_submits_a_block_indicator(mde, fake):
    expires = time.time() + 7 * 86400
    request = block(
        Action.BLOCK_DOMAIN, "evil.example.com", expires_at=expires, incident_id="INC-1"
    )
    result = await mde.execute(request)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.http_status == 200
    indicator = fake.indicators[result.external_id]
    assert indicator["indicatorType"] == "DomainName"
    assert indicator["action"] == "Block"
    assert indicator["generateAlert"] is True
    assert indicator["severity"] == "High"
    assert "AP-20250101-0002" in indicator["title"]
    assert "Rita Responder" in indicator["description"]
    assert "Al Approver" in indicator["description"]
    assert indicator["expirationTime"].endswith("Z")
    found = await mde.find_sent(request)
    assert found is not None
    assert found.external_id == result.external_id
    assert (await mde.poll(request, result.external_id)).outcome is Outcome.SUCCEEDED
    undo = await mde.rollback(request, result.external_id)
    assert undo.outcome is Outcome.SUCCEEDED
    assert undo.http_status == 204
    assert not fake.indicators
    again = await mde.rollback(request, result.external_id)
    assert again.outcome is Outcome.SUCCEEDED
    assert "already gone" in again.detail


async def test_indicator_4xx_is_failed_with_the_reason(mde, fake):
    fake.fault(
        "POST",
        "/api/indicators",
        status=400,
        body={"error": {"code": "InvalidInput", "message": "Indicator limit of 15000 reached"}},
    )
    result = await mde.execute(block(Action.BLOCK_HASH, "a" * 64))
    assert result.outcome is Outcome.FAILED
    assert "InvalidInput: Indicator limit of 15000 reached" in result.detail


async def test_indicator_5xx_after_storing_is_unknown_then_found(mde, fake):
    request = block(Action.BLOCK_IP, "203.0.113.7")
    fake.fault("POST", "/api/indicators", status=502, apply_first=True)
    result = await mde.execute(request)
    assert result.outcome is Outcome.UNKNOWN
    found = await mde.find_sent(request)
    assert found is not None
    assert found.outcome is Outcome.SUCCEEDED


async def test_hostile_list_answers_are_errors_not_crashes(mde, fake):
    for body in (b"[]", {"value": "nope"}, {"value": [1, "x", None]}, b"\xff\xfe"):
        fake.fault("GET", "/api/indicators", status=200, body=body)
        try:
            assert await mde.find_sent(block(Action.BLOCK_DOMAIN, "evil.example.com")) is None
        except ConnectorError as exc:
            assert "OData list" in str(exc)


async def test_check_asks_for_a_token_and_lists_one_machine(mde, fake):
    line = await mde.check()
    assert fake.app_id in line
    assert "answered 200" in line
    assert fake.requests("/api/machines")[-1].query == {"$top": "1"}
    fake.permissions.clear()
    with pytest.raises(ConnectorError, match="Machine.Read.All"):
        await mde.check()


async def test_no_secret_or_token_in_the_logs(mde, fake, caplog):
    caplog.set_level(logging.DEBUG)
    await mde.execute(isolate())
    await mde.execute(block(Action.BLOCK_DOMAIN, "evil.example.com"))
    text = caplog.text
    assert fake.app_password not in text
    for token in fake._tokens:
        assert token not in text


async def test_managed_identity_token(connect, fake, monkeypatch):
    client_id = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
    fake.managed_identity_ids = (client_id,)
    for name, value in fake.environ().items():
        monkeypatch.setenv(name, value)
    mde = connect(
        VIGIL_APP_TYPE="UserAssignedMSI",
        VIGIL_APP_ID=client_id,
        VIGIL_APP_TENANT_ID="4b1d3c2a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        VIGIL_APP_PASSWORD="",
    )
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.PENDING
    assert result.provenance.credential_id == client_id
    assert fake.requests("/isolate")[0].token_client == client_id
    assert fake.token_requests[-1]["resource"].startswith(
        "https://api.securitycenter.microsoft.com"
    )


# --- documented shapes the client must meet --------------------------------------------------


async def test_no_recent_machines_is_a_404_meaning_unknown_host_not_an_error(mde, fake):
    fake.machines.clear()
    info = await mde.describe(Action.ISOLATE_ENDPOINT, "ws-fin-042")
    assert not info.found
    assert [call.status for call in fake.requests("/api/machines")] == [404, 404]
    line = await mde.check()
    assert "404 (no machines reported recently)" in line


async def test_a_429_that_outlasts_the_retries_fails_and_nothing_was_done(mde, fake):
    fake.fault("POST", "/isolate", status=429, retry_after="0", times=4)
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.FAILED
    assert "rate limit" in result.detail and "TooManyRequests" in result.detail
    assert [call.status for call in fake.requests("/isolate")] == [429] * 4
    assert not fake.actions
    fake.fault("POST", "/api/indicators", status=429, retry_after="0", times=4)
    blocked = await mde.execute(block(Action.BLOCK_IP, "203.0.113.7"))
    assert blocked.outcome is Outcome.FAILED and "nothing was done" in blocked.detail
    assert not fake.indicators


async def test_retry_after_as_an_http_date_is_honoured(mde, fake):
    fake.fault("POST", "/isolate", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    result = await mde.execute(isolate())
    assert result.outcome is Outcome.PENDING
    assert [call.status for call in fake.requests("/isolate")] == [429, 201]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"indicatorType": "DomainName", "action": "Block"}, "MissingRequiredParameter"),
        ({"indicatorValue": "abc", "indicatorType": "FileSha256"}, "InvalidHashValue"),
        ({"indicatorValue": "a" * 64, "indicatorType": "FileSha1"}, "InvalidHashValue"),
        ({"indicatorValue": "10.0.0.0/8", "indicatorType": "IpAddress"}, "InvalidIpAddress"),
        (
            {"indicatorValue": "evil example.com", "indicatorType": "DomainName"},
            "InvalidDomainName",
        ),
        ({"indicatorValue": "ftp://evil.example", "indicatorType": "Url"}, "InvalidUrl"),
        ({"indicatorValue": "evil.example.com", "indicatorType": "Domain"}, "InvalidInput"),
        ({"indicatorValue": "evil.example.com", "action": "Audit"}, "InvalidInput"),
    ],
)
async def test_the_fake_refuses_mistyped_indicators_with_the_documented_codes(
    mde, fake, body, code
):
    submit = {
        "indicatorValue": "evil.example.com",
        "indicatorType": "DomainName",
        "action": "Block",
        "title": "t",
        "description": "d",
        **body,
    }
    if "indicatorValue" not in body and "indicatorType" in body:
        del submit["indicatorValue"]
    reply = await mde.client.call("POST", "/api/indicators", submit)
    assert reply.status == 400
    assert reply.body["error"]["code"] == code
    assert set(reply.body["error"]) == {"code", "message", "target"}
    assert not fake.indicators


async def test_every_block_vigil_sends_is_one_the_documented_api_accepts(mde, fake):
    targets = [
        (Action.BLOCK_DOMAIN, "xn--80ak6aa92e.example"),
        (Action.BLOCK_IP, "2001:db8::7"),
        (Action.BLOCK_URL, "https://evil.example.com/kit?x=1"),
        (Action.BLOCK_HASH, "A" * 64),
        (Action.BLOCK_HASH, "b" * 40),
    ]
    for number, (action, target) in enumerate(targets):
        result = await mde.execute(block(action, target, approval_id=f"AP-20250101-01{number:02d}"))
        assert result.outcome is Outcome.SUCCEEDED, (target, result.detail)
    types = sorted(indicator["indicatorType"] for indicator in fake.indicators.values())
    assert types == ["DomainName", "FileSha1", "FileSha256", "IpAddress", "Url"]


@pytest.mark.parametrize("status", ["Failed", "TimeOut", "Cancelled"])
async def test_each_documented_final_failure_status_fails_the_isolation(mde, fake, status):
    fake.final_status = status
    sent = await mde.execute(isolate())
    await mde.poll(isolate(), sent.external_id)
    result = await mde.poll(isolate(), sent.external_id)
    assert result.outcome is Outcome.FAILED
    assert status in result.detail


async def test_unmanaged_device_isolation_is_a_documented_type_the_fake_takes(mde, fake):
    machine_id = next(iter(fake.machines))
    body = {"Comment": "c", "IsolationType": "UnManagedDevice"}
    reply = await mde.client.call("POST", f"/api/machines/{machine_id}/isolate", body)
    assert reply.status == 201 and reply.body["scope"] == "UnManagedDevice"
    odd = await mde.client.call("POST", f"/api/machines/{machine_id}/isolate", {"Comment": 5})
    assert odd.status == 400 and odd.body["error"]["code"] == "MissingRequiredParameter"
