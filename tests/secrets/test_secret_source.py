"""Secret values, the env and directory backends, the cache and retry-once on rotation."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from bot.kernel.config import RawConfig
from bot.secrets.local import DirectorySecretSource, EnvSecretSource, env_name
from bot.secrets.source import (
    CachedSecretSource,
    CredentialRejected,
    Secret,
    SecretNotFound,
    SecretUnavailable,
    call_with_rotation,
    check,
    secret_source_from_config,
)

VALUE = "v4lue-that-must-not-leak"


class Clock:
    """A hand-driven monotonic clock for TTL tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_secret_is_masked_everywhere_but_reveal():
    secret = Secret("audit-hmac-key", VALUE)
    for shown in (str(secret), repr(secret), f"{secret}", f"{secret!r:>40}", "%s" % (secret,)):  # noqa: UP031
        assert VALUE not in shown
    assert repr(secret) == "Secret('audit-hmac-key', ***)"
    assert VALUE not in repr([secret]) and VALUE not in repr({"k": secret})
    assert secret.reveal() == VALUE
    assert secret == Secret("audit-hmac-key", VALUE)
    assert secret != Secret("audit-hmac-key", VALUE + "x")
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_env_names_follow_the_convention():
    assert env_name("audit-hmac-key") == "VIGIL_SECRET_AUDIT_HMAC_KEY"
    assert env_name("alerts-splunk-token") == "VIGIL_SECRET_ALERTS_SPLUNK_TOKEN"


async def test_env_backend_reads_and_refuses_empty():
    source = EnvSecretSource({"VIGIL_SECRET_AUDIT_HMAC_KEY": VALUE, "VIGIL_SECRET_EMPTY": ""})
    assert (await source.get("audit-hmac-key")).reveal() == VALUE
    with pytest.raises(SecretNotFound, match="^not configured: empty$"):
        await source.get("empty")
    with pytest.raises(SecretNotFound, match="^not configured: virustotal-api-key$"):
        await source.get("virustotal-api-key")


async def test_directory_backend_strips_one_trailing_newline(tmp_path):
    (tmp_path / "audit-hmac-key").write_text(VALUE + "\n")
    (tmp_path / "crlf").write_bytes(b"abc def\r\n")
    (tmp_path / "inner-newlines").write_text("line1\nline2\n\n")
    source = DirectorySecretSource(tmp_path)
    assert (await source.get("audit-hmac-key")).reveal() == VALUE
    assert (await source.get("crlf")).reveal() == "abc def"
    assert (await source.get("inner-newlines")).reveal() == "line1\nline2\n"


@pytest.mark.parametrize(
    ("content", "error", "reason"),
    [
        (None, SecretNotFound, "not configured: s"),
        (b"", SecretNotFound, "not configured: s"),
        (b"\n", SecretNotFound, "not configured: s"),
        (b"\xff\xfe\x00bad", SecretUnavailable, "not UTF-8"),
        (b"x" * (64 * 1024 + 1), SecretUnavailable, "larger than"),
    ],
    ids=["missing", "empty", "newline-only", "binary", "oversized"],
)
async def test_directory_backend_bad_files(tmp_path, content, error, reason):
    if content is not None:
        (tmp_path / "s").write_bytes(content)
    with pytest.raises(error) as caught:
        await DirectorySecretSource(tmp_path).get("s")
    assert reason in str(caught.value)
    assert "xxxx" not in str(caught.value)


async def test_directory_backend_unreadable_entry(tmp_path):
    (tmp_path / "a-directory").mkdir()
    with pytest.raises(SecretUnavailable, match="cannot read secret file"):
        await DirectorySecretSource(tmp_path).get("a-directory")


@pytest.mark.parametrize(
    "name", ["../escape", "/etc/passwd", "a/b", ".", "..", "a.b", "a\x00b", ""]
)
async def test_hostile_names_are_refused_before_any_read(tmp_path, name):
    (tmp_path.parent / "escape").write_text("outside")
    source = secret_source_from_config(RawConfig({}, {"VIGIL_SECRETS_DIR": str(tmp_path)}))
    with pytest.raises(ValueError, match="invalid secret name"):
        await source.get(name)


async def test_env_wins_over_directory_and_directory_fills_gaps(tmp_path):
    (tmp_path / "audit-hmac-key").write_text("from-file-value")
    (tmp_path / "virustotal-api-key").write_text("vt-from-file")
    raw = RawConfig(
        {}, {"VIGIL_SECRETS_DIR": str(tmp_path), "VIGIL_SECRET_AUDIT_HMAC_KEY": "from-env-value"}
    )
    source = secret_source_from_config(raw)
    assert (await source.get("audit-hmac-key")).reveal() == "from-env-value"
    assert (await source.get("virustotal-api-key")).reveal() == "vt-from-file"
    with pytest.raises(SecretNotFound, match="^not configured: alerts-splunk-token$"):
        await source.get("alerts-splunk-token")
    await source.close()


async def test_toml_configures_the_directory_and_ttl(tmp_path):
    (tmp_path / "audit-hmac-key").write_text("one-value")
    clock = Clock()
    raw = RawConfig({"secrets": {"dir": str(tmp_path), "cache_ttl_seconds": 60}}, {})
    source = secret_source_from_config(raw, clock=clock)
    assert (await source.get("audit-hmac-key")).reveal() == "one-value"
    (tmp_path / "audit-hmac-key").write_text("two-value")
    clock.now += 59
    assert (await source.get("audit-hmac-key")).reveal() == "one-value"
    clock.now += 2
    assert (await source.get("audit-hmac-key")).reveal() == "two-value"


async def test_cache_invalidate_rereads(tmp_path):
    (tmp_path / "k").write_text("before-rotation")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300, clock=Clock())
    assert (await source.get("k")).reveal() == "before-rotation"
    (tmp_path / "k").write_text("after-rotation")
    assert (await source.get("k")).reveal() == "before-rotation"
    source.invalidate("k")
    assert (await source.get("k")).reveal() == "after-rotation"


async def test_cache_reports_each_value_read(tmp_path):
    seen: list[str] = []
    (tmp_path / "k").write_text("first-value")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300, on_value=seen.append)
    await source.get("k")
    await source.get("k")
    (tmp_path / "k").write_text("second-value")
    source.invalidate("k")
    await source.get("k")
    assert seen == ["first-value", "second-value"]


async def test_failures_are_remembered_briefly(tmp_path):
    clock = Clock()
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300, clock=clock)
    with pytest.raises(SecretNotFound):
        await source.get("k")
    (tmp_path / "k").write_text("now-present")
    with pytest.raises(SecretNotFound, match="^not configured: k$"):
        await source.get("k")
    clock.now += 11
    assert (await source.get("k")).reveal() == "now-present"


async def test_invalidate_forgets_a_failure(tmp_path):
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300, clock=Clock())
    with pytest.raises(SecretNotFound):
        await source.get("k")
    (tmp_path / "k").write_text("now-present")
    source.invalidate("k")
    assert (await source.get("k")).reveal() == "now-present"


async def test_a_cancelled_reader_does_not_cancel_the_others(vault):
    vault.set_secret("k", VALUE)
    raw = RawConfig({}, {"VIGIL_KEYVAULT_URL": vault.vault_url, "VIGIL_CA_BUNDLE": vault.ca_path})
    source = secret_source_from_config(raw)
    try:
        first = asyncio.ensure_future(source.get("k"))
        second = asyncio.ensure_future(source.get("k"))
        await asyncio.sleep(0)
        first.cancel()
        assert (await second).reveal() == VALUE
    finally:
        await source.close()
    assert vault.secret_gets["k"] == 1


async def test_call_with_rotation_retries_once_with_the_new_value(tmp_path):
    (tmp_path / "api-key").write_text("old-api-key")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300)
    accepted = {"new-api-key"}
    calls: list[str] = []

    async def call(secret: Secret) -> str:
        calls.append(secret.reveal())
        if secret.reveal() not in accepted:
            raise CredentialRejected("intel", 401)
        return "ok"

    await source.get("api-key")  # cached old value
    (tmp_path / "api-key").write_text("new-api-key")
    assert await call_with_rotation(source, "api-key", call) == "ok"
    assert calls == ["old-api-key", "new-api-key"]


async def test_call_with_rotation_gives_up_after_one_retry(tmp_path):
    (tmp_path / "api-key").write_text("old-api-key")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300)
    calls: list[str] = []

    async def call(secret: Secret) -> str:
        calls.append(secret.reveal())
        (tmp_path / "api-key").write_text(f"value-{len(calls)}")
        raise CredentialRejected("intel", 403)

    with pytest.raises(CredentialRejected, match=r"intel rejected the credential \(HTTP 403\)"):
        await call_with_rotation(source, "api-key", call)
    assert calls == ["old-api-key", "value-1"]


async def test_call_with_rotation_does_not_resend_an_unchanged_value(tmp_path):
    (tmp_path / "api-key").write_text("same-api-key")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300)
    calls: list[str] = []

    async def call(secret: Secret) -> str:
        calls.append(secret.reveal())
        raise CredentialRejected("intel", 401)

    with pytest.raises(CredentialRejected):
        await call_with_rotation(source, "api-key", call)
    assert calls == ["same-api-key"]


async def test_call_with_rotation_passes_other_errors_through(tmp_path):
    (tmp_path / "api-key").write_text("some-api-key")
    source = CachedSecretSource(DirectorySecretSource(tmp_path), ttl=300)

    async def call(secret: Secret) -> str:
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        await call_with_rotation(source, "api-key", call)


async def test_check_names_statuses_for_local_backends(tmp_path):
    (tmp_path / "audit-hmac-key").write_text(VALUE)
    source = secret_source_from_config(RawConfig({}, {"VIGIL_SECRETS_DIR": str(tmp_path)}))
    statuses = await check(source, ["audit-hmac-key", "bot-app-password", "bad name"])
    assert statuses["audit-hmac-key"] == "ok"
    assert statuses["bot-app-password"] == "not configured: bot-app-password"
    assert statuses["bad name"].startswith("invalid secret name")
    assert VALUE not in repr(statuses)
