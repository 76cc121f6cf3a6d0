"""Each source against samples from the vendor's own documentation or recorded from a real
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
