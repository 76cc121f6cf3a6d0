"""Vendor shapes re-checked against the published formats: the details the first samples missed.

Alertmanager webhook v4 `truncatedAlerts`, Graph change-notification and list shapes posted to the
defender source, and Sentinel Mailbox entities (kind + properties.mailboxPrimaryAddress).
"""

from __future__ import annotations

from bot.alerts.model import Alert, InvalidAlert, Severity, timestamp
from bot.alerts.normalise import normalise
from bot.alerts.settings import AlertSettings
from bot.kernel.config import ConfigError, RawConfig
from tests.alerts.samples import sample

FIELDS = AlertSettings.load(RawConfig({}, {})).elastic_fields


def test_alertmanager_truncated_alerts_are_a_warning_on_each_alert():
    body = sample("alertmanager")
    body["truncatedAlerts"] = 7
    results = normalise("alertmanager", body, FIELDS)
    assert all(isinstance(r, Alert) for r in results)
    assert all(any("7 more alerts" in w for w in r.warnings) for r in results)
    body["truncatedAlerts"] = 0
    assert not any(normalise("alertmanager", body, FIELDS)[0].warnings)


def test_alertmanager_truncated_alerts_of_the_wrong_type_is_named():
    body = sample("alertmanager")
    body["truncatedAlerts"] = "many"
    try:
        normalise("alertmanager", body, FIELDS)
    except InvalidAlert as exc:
        assert exc.field == "truncatedAlerts"
    else:
        raise AssertionError("accepted a string truncatedAlerts")


def test_defender_list_page_with_odata_context_and_next_link():
    alert = sample("defender")
    page = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2",
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/security/alerts_v2?$skiptoken=x",
        "value": [alert, dict(alert, id="da2", title="Second")],
    }
    results = normalise("defender", page, FIELDS)
    assert [r.source_id for r in results] == [alert["id"], "da2"]


def test_defender_change_notification_with_resource_data_is_the_alert():
    alert = sample("defender")
    note = {
        "value": [
            {
                "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
                "changeType": "created",
                "clientState": "secret-state-not-a-credential",
                "resource": f"security/alerts_v2/{alert['id']}",
                "tenantId": alert["tenantId"],
                "resourceData": dict(alert, **{"@odata.type": "#microsoft.graph.security.alert"}),
            }
        ]
    }
    (result,) = normalise("defender", note, FIELDS)
    assert isinstance(result, Alert)
    assert result.source_id == alert["id"] and result.severity is Severity.MEDIUM


def test_defender_basic_change_notification_without_content_is_refused_clearly():
    note = {
        "value": [
            {
                "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
                "changeType": "created",
                "resource": "security/alerts_v2/da1",
                "resourceData": {
                    "@odata.type": "#microsoft.graph.security.alert",
                    "@odata.id": "security/alerts_v2/da1",
                    "id": "da1",
                },
            }
        ]
    }
    try:
        results = normalise("defender", note, FIELDS)
    except InvalidAlert as exc:
        results = [exc]
    (bad,) = results
    assert isinstance(bad, InvalidAlert)
    assert bad.field == "value[0].resourceData"
    assert "only the alert id" in bad.problem


def test_sentinel_mailbox_entity_is_a_user():
    body = sample("sentinel")
    body["object"]["properties"]["relatedEntities"].append(
        {
            "id": "e9",
            "kind": "Mailbox",
            "properties": {
                "mailboxPrimaryAddress": "ceo@contoso.com",
                "displayName": "CEO",
                "friendlyName": "CEO",
            },
        }
    )
    (result,) = normalise("sentinel", body, FIELDS)
    assert ("user", "ceo@contoso.com") in [(e.type, e.value) for e in result.entities]


def test_elastic_field_paths_may_be_a_list_and_a_wrong_one_is_named():
    raw = RawConfig(
        {"alerts": {"elastic": {"fields": {"title": ["event.title", "rule.name"]}}}}, {}
    )
    fields = AlertSettings.load(raw).elastic_fields
    (alert,) = normalise("elastic", {"rule.name": "From the second path"}, fields)
    assert alert.title == "From the second path"
    for bad in ([], [""], [3], {"a": 1}):
        raw = RawConfig({"alerts": {"elastic": {"fields": {"title": bad}}}}, {})
        try:
            AlertSettings.load(raw)
        except ConfigError as exc:
            assert "alerts.elastic.fields.title" in str(exc)
        else:
            raise AssertionError(f"accepted {bad!r}")


def test_times_with_fractions_keep_their_zone_offset():
    warnings: list[str] = []
    assert timestamp("2024-05-02T10:20:00.456+0200", "t", warnings) == 1714638000.456
    assert timestamp("2024-05-02T06:50:00.5-01:30", "t", warnings) == 1714638000.5
    assert timestamp("2024-05-02T08:20:00.123456789Z", "t", warnings) == 1714638000.123456
    assert timestamp("1714638000.25", "t", warnings) == 1714638000.25
    assert not warnings
    assert timestamp("2024-13-45T99:00:00.1+0200", "t", warnings) == 0.0 and warnings
