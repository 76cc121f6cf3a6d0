"""Each normaliser on bodies shaped like the vendors' documented formats, and on broken ones."""

from __future__ import annotations

import pytest

from bot.alerts.model import Entity, InvalidAlert, Severity, Status
from bot.alerts.normalise import normalise
from bot.alerts.normalise.elastic import DEFAULT_FIELDS
from tests.alerts.samples import sample


def one(source, body):
    results = normalise(source, body, DEFAULT_FIELDS)
    assert len(results) == 1
    assert not isinstance(results[0], InvalidAlert), results[0]
    return results[0]


def test_sentinel_incident_trigger_body():
    alert = one("sentinel", sample("sentinel"))
    assert alert.source_id == "7a2c1f7e-4c3b-4ad2-9d43-2f1b7f9c0a11"
    assert alert.severity is Severity.HIGH
    assert alert.title == "Multistage attack involving credential access"
    assert Entity("host", "WS-FIN-0231.contoso.local") in alert.entities
    assert Entity("user", "j.doe@contoso.com") in alert.entities
    assert Entity("ip", "203.0.113.7") in alert.entities
    assert alert.entity("hash").startswith("e3b0c442")
    assert alert.category == "CredentialAccess, Exfiltration"
    assert alert.link.startswith("https://portal.azure.com/")
    assert alert.first_seen > 1.7e9
    assert alert.primary_entity == Entity("host", "WS-FIN-0231.contoso.local")


def test_sentinel_closed_incident_is_resolved_and_informational_is_info():
    body = sample("sentinel")
    body["object"]["properties"]["status"] = "Closed"
    body["object"]["properties"]["severity"] = "Informational"
    alert = one("sentinel", body)
    assert alert.status is Status.RESOLVED
    assert alert.severity is Severity.INFO


def test_defender_alerts_v2_with_evidence():
    alert = one("defender", sample("defender"))
    assert alert.source_id == "da637551227677560813_-961444813"
    assert alert.severity is Severity.MEDIUM
    assert alert.category == "DefenseEvasion"
    assert Entity("host", "tempDns") in alert.entities
    assert Entity("user", "identitytest@domain1.example") in alert.entities
    assert Entity("ip", "203.0.113.9") in alert.entities
    assert alert.entity("hash").startswith("8963a19f")
    assert alert.rule == "e0da400f-affd-43ef-b1d5-afc2eb6f2756"


def test_defender_list_page_keeps_good_alerts_and_names_the_bad_one():
    good = sample("defender")
    bad = sample("defender")
    del bad["title"]
    results = normalise("defender", {"value": [good, bad]})
    assert not isinstance(results[0], InvalidAlert)
    assert isinstance(results[1], InvalidAlert)
    assert results[1].field == "value[1].title"


def test_splunk_values_are_strings_and_search_name_may_be_null():
    alert = one("splunk", sample("splunk"))
    assert alert.severity is Severity.HIGH
    assert alert.rule == "Brute force against admin accounts"
    assert Entity("host", "dc01.contoso.local") in alert.entities
    assert Entity("ip", "198.51.100.23") in alert.entities
    assert alert.first_seen == 1714640000.0
    body = sample("splunk")
    body["search_name"] = None
    body["result"]["severity"] = "5"
    alert = one("splunk", body)
    assert alert.severity is Severity.CRITICAL
    assert alert.title == "Splunk alert (app search, owner admin)"
    # Without a name, the saved search's part of the sid keeps runs of one search on one card.
    assert alert.rule == "scheduler__admin__search__RMD5e461b39d5e97c1e8"


def test_alertmanager_batch_with_zero_end_time():
    results = normalise("alertmanager", sample("alertmanager"))
    assert [a.source_id for a in results] == ["c4b2a1d0e9f8a7b6", "d5c3b2a1f0e9d8c7"]
    first = results[0]
    assert first.status is Status.FIRING
    assert first.severity is Severity.CRITICAL
    assert first.rule == "NodeDown"
    assert first.entities == [Entity("host", "web-01")]
    assert first.last_seen == first.first_seen  # endsAt 0001-01-01 means "still firing"


def test_alertmanager_one_bad_alert_does_not_drop_the_others():
    body = sample("alertmanager")
    del body["alerts"][0]["labels"]["alertname"]
    results = normalise("alertmanager", body)
    assert isinstance(results[0], InvalidAlert)
    assert results[0].field == "alerts[0].labels.alertname"
    assert results[1].source_id == "d5c3b2a1f0e9d8c7"


def test_alertmanager_version_must_be_the_string_4():
    body = sample("alertmanager")
    body["version"] = 4
    with pytest.raises(InvalidAlert) as caught:
        normalise("alertmanager", body)
    assert caught.value.field == "version"


def test_alertmanager_warning_is_medium_and_odd_words_are_unknown_with_a_warning():
    body = sample("alertmanager")
    body["alerts"][0]["labels"]["severity"] = "warning"
    body["alerts"][1]["labels"]["severity"] = "page-everyone"
    results = normalise("alertmanager", body)
    assert results[0].severity is Severity.MEDIUM
    assert results[1].severity is Severity.UNKNOWN
    assert "page-everyone" in results[1].warnings[0]


def test_elastic_dotted_keys_and_risk_score():
    alert = one("elastic", sample("elastic"))
    assert alert.title == "Phishing link clicked"
    assert alert.severity is Severity.HIGH  # risk score 73
    assert alert.category == "phishing, email"
    assert Entity("host", "WS-HR-0107") in alert.entities
    assert Entity("url", "http://login-micros0ft.example.net/auth") in alert.entities


def test_elastic_nested_documents_and_severity_word_win():
    body = {
        "alert": {"id": "n-1"},
        "rule": {"name": "Nested rule", "id": "r-1"},
        "kibana": {"alert.severity": "critical", "alert.risk_score": 10},
    }
    alert = one("elastic", body)
    assert alert.source_id == "n-1"
    assert alert.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, "low"), (21, "low"), (22, "medium"), (47, "medium"), (48, "high"), (74, "critical")],
)
def test_elastic_risk_score_bands(score, expected):
    alert = one("elastic", {"rule.name": "r", "kibana.alert.risk_score": score})
    assert alert.severity.value == expected


def test_elastic_without_any_severity_is_unknown_with_a_warning():
    alert = one("elastic", {"rule.name": "r"})
    assert alert.severity is Severity.UNKNOWN
    assert alert.warnings


def test_wazuh_alerts_json_record():
    alert = one("wazuh", sample("wazuh"))
    assert alert.source_id == "1714641153.1234567"
    assert alert.severity is Severity.MEDIUM  # level 10
    assert alert.rule == "5763"
    assert Entity("host", "web-proxy-01") in alert.entities
    assert Entity("ip", "198.51.100.77") in alert.entities
    assert Entity("user", "admin") in alert.entities
    assert alert.first_seen > 1.7e9


@pytest.mark.parametrize(
    ("level", "expected"),
    [(0, "info"), (3, "low"), (7, "medium"), (12, "high"), (15, "critical")],
)
def test_wazuh_level_bands(level, expected):
    body = sample("wazuh")
    body["rule"]["level"] = level
    assert one("wazuh", body).severity.value == expected


def test_generic_format():
    alert = one("generic", sample("generic"))
    assert alert.source_id == "ueba-000123"
    assert alert.severity is Severity.HIGH
    assert alert.entities == [Entity("user", "j.doe@contoso.com"), Entity("ip", "203.0.113.50")]


def test_generic_without_id_gets_a_stable_content_id():
    body = {"title": "t", "severity": "low"}
    assert one("generic", body).source_id == one("generic", dict(body)).source_id


@pytest.mark.parametrize(
    ("source", "change", "field"),
    [
        ("generic", lambda b: b.pop("title"), "title"),
        ("generic", lambda b: b.update(severity=3), "severity"),
        ("generic", lambda b: b.update(entities="host"), "entities"),
        (
            "generic",
            lambda b: b["entities"].append({"type": "planet", "value": "x"}),
            "entities[2].type",
        ),
        ("generic", lambda b: b.update(status="maybe"), "status"),
        ("sentinel", lambda b: b.pop("object"), "object"),
        ("sentinel", lambda b: b["object"]["properties"].pop("title"), "object.properties.title"),
        ("defender", lambda b: b.pop("id"), "id"),
        ("splunk", lambda b: b.update(result="x"), "result"),
        ("splunk", lambda b: b.update(search_name=12), "search_name"),
        ("wazuh", lambda b: b["rule"].update(level=99), "rule.level"),
        ("wazuh", lambda b: b.pop("id"), "id"),
        ("elastic", lambda b: b.pop("rule.name"), "rule.name"),
    ],
)
def test_missing_or_wrong_fields_are_named(source, change, field):
    body = sample(source)
    change(body)
    with pytest.raises(InvalidAlert) as caught:
        results = normalise(source, body, DEFAULT_FIELDS)
        for item in results:
            if isinstance(item, InvalidAlert):
                raise item
    assert caught.value.field == field


@pytest.mark.parametrize(
    "source", ["sentinel", "defender", "splunk", "alertmanager", "wazuh", "generic", "elastic"]
)
@pytest.mark.parametrize("body", [None, [], "text", 7, {"": {}}])
def test_non_objects_are_refused_not_crashes(source, body):
    try:
        results = normalise(source, body, DEFAULT_FIELDS)
    except InvalidAlert:
        return
    assert all(isinstance(item, InvalidAlert) for item in results)
