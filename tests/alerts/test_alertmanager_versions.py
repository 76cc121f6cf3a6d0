"""Alertmanager webhook v4 as versions 0.15 to today send it: fingerprint, status and
truncatedAlerts optional, fingerprints derived exactly as Alertmanager derives them."""

from __future__ import annotations

from bot.alerts import repository
from bot.alerts.model import Alert, Severity, Status
from bot.alerts.normalise import normalise
from bot.alerts.normalise.alertmanager import label_fingerprint
from tests.alerts.published import published
from tests.alerts.test_published_samples import BASIC, stored
from tests.alerts.webhook import post

# github.com/prometheus/common model/signature_test.go, TestMetricToFingerprint: the values
# model.LabelSet.Fingerprint() gives (Alertmanager's alert fingerprint is exactly that).
PROMETHEUS_COMMON_CASES = [
    ({}, 14695981039346656037),
    ({"name": "garland, briggs", "fear": "love is not enough"}, 5799056148416392346),
    ({"first-label": "first-label-value"}, 5146282821936882169),
]


def test_fingerprint_matches_prometheus_common_test_values():
    for labels, expected in PROMETHEUS_COMMON_CASES:
        assert label_fingerprint(labels) == f"{expected:016x}"


def test_fingerprint_matches_one_a_real_alertmanager_sent_with_its_labels():
    # Recorded body (Alertmanager 0.2x, labels and fingerprint both sent): see README.md.
    body = published("alertmanager", "eric_deployment_resolved")
    sent = body["alerts"][0]
    assert label_fingerprint(sent["labels"]) == sent["fingerprint"] == "fbab788ec4c1018b"
    del sent["fingerprint"]
    (alert,) = normalise("alertmanager", body)
    assert isinstance(alert, Alert) and alert.source_id == "fbab788ec4c1018b"


def test_a_pre_0_19_body_without_fingerprint_or_truncated_alerts_is_accepted():
    # Recorded by github.com/matjaz99/alertmonitor docs/testing/Testing.md (2019, Alertmanager
    # before 0.19: no fingerprint, no truncatedAlerts).
    results = normalise("alertmanager", published("alertmanager", "alertmonitor_pre019_firing"))
    assert all(isinstance(r, Alert) for r in results), results
    ids = [r.source_id for r in results]
    assert len(set(ids)) == 3
    assert ids[0] == label_fingerprint(
        published("alertmanager", "alertmonitor_pre019_firing")["alerts"][0]["labels"]
    )
    assert results[0].title.startswith("ICMP ping failed")
    assert all(r.status is Status.FIRING for r in results)


def test_an_alert_without_its_own_status_takes_the_groups():
    body = published("alertmanager", "alertmonitor_pre019_resolved")
    for item in body["alerts"]:
        del item["status"]
    results = normalise("alertmanager", body)
    assert [r.status for r in results] == [Status.RESOLVED] * 3


def test_page_and_the_other_common_words_map_to_the_scale():
    expected = {
        "critical": Severity.CRITICAL,
        "page": Severity.CRITICAL,
        "error": Severity.HIGH,
        "high": Severity.HIGH,
        "warning": Severity.MEDIUM,
        "medium": Severity.MEDIUM,
        "info": Severity.INFO,
        "informational": Severity.INFO,
        "low": Severity.LOW,
        "none": Severity.INFO,
    }
    body = published("alertmanager", "alertmonitor_pre019_firing")
    for word, severity in expected.items():
        body["alerts"][0]["labels"]["severity"] = word
        alert = normalise("alertmanager", body)[0]
        assert alert.severity is severity, word
        assert not alert.warnings and alert.severity_word == word


async def test_recorded_pre_0_19_firing_then_clear_over_http(bot):
    firing = published("alertmanager", "alertmonitor_pre019_firing")
    status, answer = await post(bot.url, "alertmanager", firing, signed=False, headers=BASIC)
    assert status == 202, answer
    assert len(answer["ids"]) == 3
    alert = await stored(bot, answer["ids"][0])
    assert alert.group == firing["groupKey"]
    assert alert.labels["instance"] == "172.29.254.30"
    clear = published("alertmanager", "alertmonitor_pre019_resolved")
    status, again = await post(bot.url, "alertmanager", clear, signed=False, headers=BASIC)
    assert status == 202, again
    assert again["ids"] == answer["ids"]
    assert [a["outcome"] for a in again["accepted"]] == ["updated"] * 3
    found = await repository.get(bot.vigil.services.store, answer["ids"][2])
    assert found is not None and found[0].status is Status.RESOLVED
