"""The service's own settings: where it listens and how it authenticates with Bot Framework."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kernel.config import (
    ConfigError,
    RawConfig,
    Setting,
    is_loopback_host,
    parse_choice,
    parse_existing_file,
    parse_float_range,
    parse_host,
    parse_int_range,
    parse_str,
    parse_url,
)

# Public Bot Framework values; the local channel and tests replace them with their own.
PUBLIC_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
PUBLIC_TOKEN_ISSUER = "https://api.botframework.com"  # noqa: S105 (an issuer URL)
PUBLIC_LOGIN_URL = "https://login.microsoftonline.com/botframework.com"
PUBLIC_OAUTH_SCOPE = "https://api.botframework.com"

HOST = Setting("service.host", "VIGIL_HOST", parse_host, "127.0.0.1", "address to listen on")
PORT = Setting("service.port", "VIGIL_PORT", parse_int_range(0, 65535), 3978, "port to listen on")
APP_ID = Setting("bot.app_id", "VIGIL_APP_ID", parse_str, "", "Azure Bot (Entra app) id")
APP_PASSWORD = Setting(
    "bot.app_password",
    "VIGIL_APP_PASSWORD",
    parse_str,
    "",
    "client secret; prefer the secret source (`bot-app-password`)",
    secret=True,
)
APP_TYPE = Setting(
    "bot.app_type",
    "VIGIL_APP_TYPE",
    parse_choice("MultiTenant", "SingleTenant", "UserAssignedMSI"),
    "MultiTenant",
)
APP_TENANT_ID = Setting("bot.tenant_id", "VIGIL_APP_TENANT_ID", parse_str, "")
OPENID_METADATA_URL = Setting(
    "bot.openid_metadata_url",
    "VIGIL_OPENID_METADATA_URL",
    parse_url("https", "http"),
    PUBLIC_OPENID_METADATA_URL,
)
TOKEN_ISSUER = Setting("bot.token_issuer", "VIGIL_TOKEN_ISSUER", parse_str, PUBLIC_TOKEN_ISSUER)
LOGIN_URL = Setting("bot.login_url", "VIGIL_LOGIN_URL", parse_url("https"), PUBLIC_LOGIN_URL)
OAUTH_SCOPE = Setting("bot.oauth_scope", "VIGIL_OAUTH_SCOPE", parse_str, PUBLIC_OAUTH_SCOPE)
CA_BUNDLE = Setting("bot.ca_bundle", "VIGIL_CA_BUNDLE", parse_existing_file, "")
MAX_BODY_BYTES = Setting(
    "service.max_body_bytes", "VIGIL_MAX_BODY_BYTES", parse_int_range(1024, 4 << 20), 256 * 1024
)
SHUTDOWN_GRACE = Setting(
    "service.shutdown_grace_seconds", "VIGIL_SHUTDOWN_GRACE", parse_float_range(0, 300), 20.0
)
USER_RATE = Setting(
    "service.user_rate_per_minute", "VIGIL_USER_RATE_PER_MINUTE", parse_int_range(1, 100000), 30
)
LOG_LEVEL = Setting(
    "service.log_level",
    "VIGIL_LOG_LEVEL",
    parse_choice("DEBUG", "INFO", "WARNING", "ERROR"),
    "INFO",
)

SETTINGS = (
    HOST,
    PORT,
    APP_ID,
    APP_PASSWORD,
    APP_TYPE,
    APP_TENANT_ID,
    OPENID_METADATA_URL,
    TOKEN_ISSUER,
    LOGIN_URL,
    OAUTH_SCOPE,
    CA_BUNDLE,
    MAX_BODY_BYTES,
    SHUTDOWN_GRACE,
    USER_RATE,
    LOG_LEVEL,
)


@dataclass(frozen=True)
class ServiceSettings:
    host: str
    port: int
    app_id: str
    app_password: str
    app_type: str
    tenant_id: str
    openid_metadata_url: str
    token_issuer: str
    login_url: str
    oauth_scope: str
    ca_bundle: str
    max_body_bytes: int
    shutdown_grace: float
    user_rate_per_minute: int
    log_level: str

    @classmethod
    def load(cls, raw: RawConfig) -> ServiceSettings:
        settings = cls(
            host=raw.get(HOST),
            port=raw.get(PORT),
            app_id=raw.get(APP_ID),
            app_password=raw.get(APP_PASSWORD),
            app_type=raw.get(APP_TYPE),
            tenant_id=raw.get(APP_TENANT_ID),
            openid_metadata_url=raw.get(OPENID_METADATA_URL),
            token_issuer=raw.get(TOKEN_ISSUER),
            login_url=raw.get(LOGIN_URL),
            oauth_scope=raw.get(OAUTH_SCOPE),
            ca_bundle=raw.get(CA_BUNDLE),
            max_body_bytes=raw.get(MAX_BODY_BYTES),
            shutdown_grace=raw.get(SHUTDOWN_GRACE),
            user_rate_per_minute=raw.get(USER_RATE),
            log_level=raw.get(LOG_LEVEL),
        )
        settings.check()
        return settings

    def check(self) -> None:
        # Without an app id botbuilder would accept unauthenticated requests: only loopback may.
        if not self.app_id and not is_loopback_host(self.host):
            raise ConfigError(
                f"bot.app_id (env VIGIL_APP_ID) is empty: refusing to listen on {self.host}; "
                "set the Azure Bot app id, or listen on 127.0.0.1"
            )
        if self.app_type in ("SingleTenant", "UserAssignedMSI") and not self.tenant_id:
            raise ConfigError(
                f"bot.tenant_id (env VIGIL_APP_TENANT_ID) is required with app type {self.app_type}"
            )
        if self.app_type == "UserAssignedMSI" and not self.app_id:
            raise ConfigError(
                "bot.app_id (env VIGIL_APP_ID) must be the managed identity's client id "
                "with app type UserAssignedMSI"
            )
