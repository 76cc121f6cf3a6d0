"""Each vendor source against samples from the vendor's own documentation or recorded from a real
producer (tests/fakes/alert_samples/published/README.md names every origin), posted over HTTP."""

from __future__ import annotations

from bot.alerts.model import Entity, Severity, Status
from tests.alerts.published import published
from tests.alerts.test_published_samples import BASIC, BEARER, stored
from tests.alerts.webhook import post


async def test_splunk_documentation_webhook_example(bot):
    # Splunk Alerting Manual, "Use a webhook alert action": the data payload example.
    body = published("splunk", "docs_webhook_example")
    status, answer = await post(bot.url, "splunk", body, signed=False, headers=BEARER)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.title == "Splunk alert (app search, owner admin)"
    assert alert.rule == "scheduler_admin_search_W2"
    assert alert.link == body["results_link"]
    assert alert.severity is Severity.UNKNOWN  # the example's result has no severity field


async def test_defender_graph_get_alert_documentation_example(bot):
    # Microsoft Graph v1.0 security-alert-get.md response example.
    body = published("defender", "graph_docs_get_alert")
    status, answer = await post(bot.url, "defender", body)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.source_id == "da637578995287051192_756343937"
    assert alert.title == "Suspicious execution of hidden file"
    assert alert.severity is Severity.LOW and alert.status is Status.FIRING
    assert Entity("host", "tempDns") in alert.entities
    assert Entity("process", '"MsSense.exe"') in alert.entities
    assert alert.entity("hash").startswith("8963a19f")
    assert alert.category == "DefenseEvasion"


async def test_alertmanager_recorded_bodies_old_and_new(bot):
    # matjaz99/alertmonitor docs/testing/Testing.md (before 0.19) and
    # liamkelly15-maker/pythonwebhook testsuites/testcurl7.sh (0.2x, with fingerprint).
    old = published("alertmanager", "alertmonitor_pre019_firing")
    status, answer = await post(bot.url, "alertmanager", old, signed=False, headers=BASIC)
    assert status == 202, answer and len(answer["ids"]) == 3
    new = published("alertmanager", "eric_deployment_resolved")
    status, answer = await post(bot.url, "alertmanager", new, signed=False, headers=BASIC)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.source_id == "fbab788ec4c1018b" and alert.status is Status.RESOLVED
    assert alert.severity is Severity.MEDIUM  # "Warning"
    # The summary already names the alertname, so it is the title as is.
    assert alert.title == "Kubernetes Deployment Replicas Mismatch"


async def test_wazuh_documentation_alerts_json_record(bot):
    # Wazuh documentation, "Learning Wazuh: Detect an SSH brute-force attack": the alerts.json
    # record of rule 5710 (wazuh/wazuh-documentation source/learning-wazuh/ssh-brute-force.rst).
    body = published("wazuh", "docs_learning_ssh_brute_force")
    status, answer = await post(bot.url, "wazuh", body)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.source_id == body["id"] == "1571166477.30198"
    assert alert.title == body["rule"]["description"]
    assert alert.rule == "5710"
    assert alert.severity is Severity.LOW  # level 5, Wazuh's 3-6 band
    assert Entity("host", body["agent"]["name"]) in alert.entities
    assert Entity("ip", body["data"]["srcip"]) in alert.entities
    assert Entity("user", body["data"]["srcuser"]) in alert.entities
    assert alert.category.startswith("syslog, sshd, invalid_login")
    assert alert.description == body["full_log"]
    assert alert.first_seen == 1571166477.741  # "2019-10-15T19:07:57.741+0000"


async def test_elastic_kibana_recorded_security_alert_document(bot):
    # An alert document written by Kibana 8.1.0's detection engine, kept by Elastic as an
    # es_archive (elastic/kibana x-pack/test/functional/es_archives/security_solution/alerts/
    # 8.1.0/data.json, first document's source), posted as the Webhook connector would send it.
    body = published("elastic", "kibana_8_1_threat_match_alert")
    status, answer = await post(bot.url, "elastic", body)
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    assert alert.source_id == body["kibana.alert.uuid"]
    assert alert.title == "threat-match-rule"
    assert alert.rule == body["kibana.alert.rule.uuid"]
    assert alert.severity is Severity.LOW and alert.status is Status.FIRING  # "low", "active"
    assert alert.severity_word == "low"
    assert Entity("host", "security-linux-1") in alert.entities
    assert alert.description == body["kibana.alert.reason"]


async def test_sentinel_rest_api_incident_examples_in_the_trigger_body(bot):
    # Microsoft's Security Insights REST API examples (Azure/azure-rest-api-specs, 2024-09-01
    # examples/incidents/GetIncidentById.json and GetAllIncidentEntities.json, response bodies).
    # The incident trigger sends that same incident resource as `object`, its entities as
    # `properties.relatedEntities`: that envelope is the only part written here.
    incident = published("sentinel", "rest_spec_get_incident_by_id")
    entities = published("sentinel", "rest_spec_get_all_incident_entities")["entities"]
    incident["properties"]["relatedEntities"] = entities
    status, answer = await post(bot.url, "sentinel", {"object": incident})
    assert status == 202, answer
    alert = await stored(bot, answer["ids"][0])
    props = incident["properties"]
    assert alert.source_id == incident["name"]
    assert alert.title == "My incident" and alert.description == props["description"]
    assert alert.severity is Severity.HIGH
    assert alert.status is Status.RESOLVED  # "Closed"
    assert alert.rule == props["relatedAnalyticRuleIds"][0]
    assert alert.category == "InitialAccess, Persistence"
    assert alert.link == props["incidentUrl"]
    assert Entity("user", "administrator") in alert.entities
