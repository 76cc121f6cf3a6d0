"""infra/: checkov finds nothing to fix, and main.bicep defines what the design asks for
(parsed with pycep, the Bicep parser checkov itself uses; there is no Bicep CLI offline)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.store.url import parse_store_url

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SECRET_WORDS = {"PASSWORD", "SECRET", "TOKEN", "KEY", "STRING"}


@pytest.fixture(scope="module")
def bicep() -> dict[str, Any]:
    try:
        from pycep import BicepParser
    except ImportError:
        pytest.fail("pycep is missing: pip install 'checkov>=3.2' (pyproject test extra)")
    return BicepParser().parse(text=(INFRA / "main.bicep").read_text())


def resources(bicep: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    # A conditional resource (`= if (...) {...}`) nests its body one level down.
    found = [item["config"] for item in bicep["resources"].values() if item["type"] == kind]
    return [config.get("config", config) for config in found]


def resource(bicep: dict[str, Any], kind: str) -> dict[str, Any]:
    found = resources(bicep, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def app_settings(bicep: dict[str, Any]) -> dict[str, Any]:
    site = resource(bicep, "Microsoft.Web/sites")
    return {item["name"]: item["value"] for item in site["properties"]["siteConfig"]["appSettings"]}


def dotted(expression: Any) -> str:
    """`identity.properties.clientId` from pycep's nested property_accessor form."""
    if isinstance(expression, str):
        return expression
    operands = expression["operator"]["operands"]
    assert expression["operator"]["type"] == "property_accessor", expression
    return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"


def param_file(name: str) -> dict[str, str]:
    text = (INFRA / name).read_text()
    assert text.splitlines()[0].startswith("//") and "using 'main.bicep'" in text
    return dict(re.findall(r"^param (\w+) = (.+)$", text, re.MULTILINE))


def test_checkov_finds_no_failed_check() -> None:
    checkov = shutil.which("checkov")
    assert checkov, "checkov is not installed: pip install 'checkov>=3.2' (pyproject test extra)"
    done = subprocess.run(
        [
            checkov,
            "-d",
            str(INFRA),
            "--framework",
            "bicep",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    summary = report["summary"]
    failed = [
        f"{check['check_id']} {check['resource']}: {check['check_name']}"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 12
    assert summary["passed"] > 0
    for check in report["results"]["skipped_checks"]:
        assert check["check_result"]["suppress_comment"].strip(), (
            f"{check['check_id']} skipped without a reason"
        )


def test_app_service_is_linux_python_https_tls12_with_health_check(bicep: dict[str, Any]) -> None:
    site = resource(bicep, "Microsoft.Web/sites")
    config = site["properties"]["siteConfig"]
    assert site["properties"]["httpsOnly"] is True
    assert config["linuxFxVersion"] == "PYTHON|3.11"
    assert config["minTlsVersion"] == "1.2"
    assert config["ftpsState"] == "Disabled"
    assert config["healthCheckPath"] == "/readyz"
    assert site["identity"]["type"] == "UserAssigned"
    plan = resource(bicep, "Microsoft.Web/serverfarms")
    assert plan["properties"]["reserved"] is True  # Linux
    assert plan["sku"]["capacity"] == "instanceCount"


def test_prod_runs_at_least_two_instances_and_dev_one() -> None:
    prod, dev = param_file("main.prod.bicepparam"), param_file("main.dev.bicepparam")
    assert int(prod["instanceCount"]) >= 2
    assert prod["environment"] == "'prod'" and dev["environment"] == "'dev'"
    assert prod["postgresHighAvailability"] == "true"


def test_param_files_only_set_declared_parameters(bicep: dict[str, Any]) -> None:
    declared = set(bicep["parameters"])
    for name in ("main.dev.bicepparam", "main.prod.bicepparam"):
        assert set(param_file(name)) <= declared, name


def test_bot_uses_the_user_assigned_identity_and_the_teams_channel(bicep: dict[str, Any]) -> None:
    bot = resource(bicep, "Microsoft.BotService/botServices")["properties"]
    assert bot["msaAppType"] == "UserAssignedMSI"
    assert "identity" in json.dumps(bot["msaAppId"])
    assert "identity" in json.dumps(bot["msaAppMSIResourceId"])
    assert bot["msaAppTenantId"] == "tenantId"
    assert bot["endpoint"] == "https://${hostName}/api/messages"
    channel = resource(bicep, "Microsoft.BotService/botServices/channels")
    assert channel["properties"]["channelName"] == "MsTeamsChannel"


def test_key_vault_is_rbac_with_purge_protection_and_the_secrets_user_role(
    bicep: dict[str, Any],
) -> None:
    vault = resource(bicep, "Microsoft.KeyVault/vaults")["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True
    assert bicep["variables"]["keyVaultSecretsUserRoleId"]["value"] == (
        "4633458b-17de-408a-b874-0445c86b69e6"
    )
    [role] = [
        role
        for role in resources(bicep, "Microsoft.Authorization/roleAssignments")
        if role["scope"] == "vault"
    ]
    assert "keyVaultSecretsUserRoleId" in json.dumps(role["properties"]["roleDefinitionId"])
    assert role["properties"]["principalType"] == "ServicePrincipal"
    assert role["scope"] == "vault"


def test_postgres_uses_entra_auth_for_the_identity(bicep: dict[str, Any]) -> None:
    server = resource(bicep, "Microsoft.DBforPostgreSQL/flexibleServers")["properties"]
    assert server["authConfig"]["activeDirectoryAuth"] == "Enabled"
    assert server["authConfig"]["passwordAuth"] == "Disabled"
    admins = resources(bicep, "Microsoft.DBforPostgreSQL/flexibleServers/administrators")
    identity_admin = [a for a in admins if a["properties"]["principalType"] == "ServicePrincipal"]
    assert len(identity_admin) == 1
    assert "identity" in json.dumps(identity_admin[0]["name"])
    assert dotted(identity_admin[0]["properties"]["principalName"]) == "identity.name"
    url = app_settings(bicep)["VIGIL_DB_URL"]
    assert url.startswith("postgresql://${identity.name}@${postgres.properties")
    assert ":" not in url.split("://", 1)[1].split("@", 1)[0], "the DB URL must hold no password"


def test_db_url_signs_in_as_the_identity_with_an_entra_token(bicep: dict[str, Any]) -> None:
    settings = app_settings(bicep)
    url = settings["VIGIL_DB_URL"]
    client_id = dotted(settings["VIGIL_MANAGED_IDENTITY_CLIENT_ID"])
    assert client_id == "identity.properties.clientId"
    assert url.endswith("&client_id=${" + client_id + "}")
    # Substitute what Azure fills in, and the URL is one Vigil accepts as an Entra sign-in.
    deployed = (
        url.replace("${identity.name}", "vigil-prod-id")
        .replace(
            "${postgres.properties.fullyQualifiedDomainName}", "pg.postgres.database.azure.com"
        )
        .replace("${databaseName}", bicep["variables"]["databaseName"]["value"])
        .replace("${" + client_id + "}", "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c")
    )
    assert "${" not in deployed
    parsed = parse_store_url(deployed)
    assert (parsed.dialect, parsed.auth) == ("postgresql", "entra")
    assert parsed.client_id == "6f1d2c3b-4a5e-4f60-8b7c-9d0e1f2a3b4c"
    assert (
        parsed.dsn
        == "postgresql://vigil-prod-id@pg.postgres.database.azure.com:5432/vigil?sslmode=require"
    )


def test_monitoring_is_log_analytics_and_application_insights(bicep: dict[str, Any]) -> None:
    resource(bicep, "Microsoft.OperationalInsights/workspaces")
    insights = resource(bicep, "Microsoft.Insights/components")
    assert "logs" in json.dumps(insights["properties"]["WorkspaceResourceId"])
    # Local auth off: only an Entra identity with Monitoring Metrics Publisher may send telemetry.
    assert insights["properties"]["DisableLocalAuth"] is True
    assert bicep["variables"]["monitoringMetricsPublisherRoleId"]["value"] == (
        "3913510d-42f4-4e42-8a64-420c390055eb"
    )
    [role] = [
        role
        for role in resources(bicep, "Microsoft.Authorization/roleAssignments")
        if role["scope"] == "appInsights"
    ]
    assert "monitoringMetricsPublisherRoleId" in json.dumps(role["properties"]["roleDefinitionId"])
    assert "identity" in json.dumps(role["properties"]["principalId"])
    assert role["properties"]["principalType"] == "ServicePrincipal"


def test_the_teams_channel_is_enabled_with_its_terms_accepted(bicep: dict[str, Any]) -> None:
    channel = resource(bicep, "Microsoft.BotService/botServices/channels")
    assert channel["name"] == "MsTeamsChannel"
    assert channel["properties"]["properties"] == {"isEnabled": True, "acceptedTerms": True}


def test_app_settings_configure_vigil_and_hold_no_secret_values(bicep: dict[str, Any]) -> None:
    settings = app_settings(bicep)
    assert settings["VIGIL_APP_TYPE"] == "UserAssignedMSI"
    assert settings["VIGIL_HOST"] == "0.0.0.0"  # noqa: S104 - App Service forwards to the port
    assert settings["VIGIL_PORT"] == "8000"
    assert settings["VIGIL_APP_TENANT_ID"] == "tenantId"
    client_id = json.dumps(settings["VIGIL_APP_ID"])
    assert "identity" in client_id and "clientId" in client_id
    assert json.dumps(settings["VIGIL_MANAGED_IDENTITY_CLIENT_ID"]) == client_id
    assert "vaultUri" in json.dumps(settings["VIGIL_KEYVAULT_URL"])
    for name, value in settings.items():
        if SECRET_WORDS & set(name.split("_")):
            assert isinstance(value, str) and value.startswith("@Microsoft.KeyVault(SecretUri="), (
                f"{name} must be a Key Vault reference"
            )


def test_every_vigil_setting_is_one_the_service_reads(bicep: dict[str, Any]) -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "bot").rglob("*.py"))
    for name in app_settings(bicep):
        if name.startswith("VIGIL_"):
            assert f'"{name}"' in source, f"{name} is not a setting in bot/"
