"""Redaction for executives: internal names → roles, kept names, defanged indicators."""

from __future__ import annotations

import ipaddress

import pytest

from bot.intel.guard import InternalGuard
from bot.kernel.config import ConfigError, RawConfig
from bot.summaries.redaction import internal_names, redact
from bot.summaries.settings import EXEC_CHANNEL, HOST_ROLES, RolePolicy, SummarySettings

POLICY = RolePolicy(
    guard=InternalGuard.with_extra([ipaddress.ip_network("203.0.113.0/24")], ["contoso.net"]),
    roles=(
        ("ws-fin-*", "a finance workstation"),
        ("dc-*", "a domain controller"),
        ("10.9.*", "the payments network"),
    ),
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Isolated WS-FIN-0231 at 09:36.", "Isolated a finance workstation at 09:36."),
        ("ws-fin-7.contoso.net is clean", "a finance workstation is clean"),
        ("dc-01.example.com replicated", "a domain controller replicated"),
        ("fileserver.contoso.net", "an internal host"),
        ("nas.corp and printer.local", "an internal host and an internal host"),
        ("from 10.1.2.3 to 192.168.0.9", "from an internal address to an internal address"),
        ("10.9.0.4 talked out", "the payments network talked out"),
        ("203.0.113.7 is ours", "an internal address is ours"),
        ("[fe80::1] and fd00::5", "an internal address and an internal address"),
        ("::ffff:10.0.0.1 mapped", "an internal address mapped"),
        ("http://10.0.0.5/admin, then", "an internal address, then"),
        ("https://intranet.contoso.net/hr?id=1", "an internal host"),
        ("mail to alice@contoso.net", "mail to an internal account"),
        ("C2 at 198.51.100.23 now", "C2 at 198.51.100[.]23 now"),
        ("evil.example.com", "evil[.]example[.]com"),
        ("evil[.]example[.]com", "evil[.]example[.]com"),
        ("hxxps://evil.example.com/login?a=b.", "hxxps://evil[.]example[.]com/login?a=b."),
        ("(see https://bad.example.org/x)", "(see hxxps://bad[.]example[.]org/x)"),
        ("bob@phish.example.net", "bob@phish[.]example[.]net"),
        ("2001:db8::1 scanned", "2001:db8::1 scanned"),
        ("hash 44D88612FEA8A8F36DE82E1F5C8EB5A5", "hash 44d88612fea8a8f36de82e1f5c8eb5a5"),
        ("invoice.pdf, v1.2, e.g. 1.5 and 12:30:45", "invoice.pdf, v1.2, e.g. 1.5 and 12:30:45"),
        ("Status triage → contained", "Status triage → contained"),
        ("", ""),
    ],
)
def test_names_become_roles_and_indicators_are_defanged(text, shown):
    # 198.51.100.x is the documentation range the intel guard treats as public on purpose.
    assert redact(text, POLICY) == shown


def test_an_address_with_a_port_is_shown_defanged_without_it():
    assert redact("C2 at 198.51.100.23:443", POLICY) == "C2 at 198.51.100[.]23"


def test_kept_names_stay_as_written_and_indicators_are_still_defanged():
    text = "WS-FIN-0231 (10.1.2.3) beaconed to evil.example.com; dc-01 fine"
    kept = redact(text, POLICY, keep={"ws-fin-0231", "10.1.2.3"})
    assert (
        kept == "WS-FIN-0231 (10.1.2.3) beaconed to evil[.]example[.]com; a domain controller fine"
    )
    assert internal_names([text], POLICY) == ["WS-FIN-0231", "10.1.2.3", "dc-01"]


def test_known_hosts_without_a_glob_become_internal_hosts():
    text = "Isolated endpoint LAPTOP-77 and laptop-77.contoso.com"
    assert redact(text, POLICY, hosts={"LAPTOP-77"}) == (
        "Isolated endpoint an internal host and an internal host"
    )
    assert redact(text, POLICY) == "Isolated endpoint LAPTOP-77 and laptop-77[.]contoso[.]com"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # Zero-padded octets (some firewalls write them; inet_aton reads them as octal).
        (
            "from 010.000.000.001 and 192.168.001.010",
            "from an internal address and an internal address",
        ),
        ("010.009.000.004 again", "the payments network again"),
        ("008.008.008.008 resolved", "008.008.008[.]008 resolved"),
        ("١٠.٠.٠.١ in Arabic-Indic digits", "an internal address in Arabic-Indic digits"),
        ("10.0.0.1:99999 and 198.51.100.7:99999", "an internal address and 198.51.100[.]7"),
        # A mailbox on an address.
        ("mail from user@10.0.0.5", "mail from an internal account"),
        ("mail from bob@198.51.100.7", "mail from bob@198.51.100[.]7"),
        # URLs the URL parser refuses: the host alone decides, and nothing stays clickable.
        ("http://010.000.000.001/admin", "an internal address"),
        ("http://10.0.0.1:99999/x", "an internal address"),
        ("http://ws-fin-1/c$ share", "a finance workstation share"),
        ("https://intranet.contoso.net:99999/", "an internal host"),
        ("http://[fd00::1%25eth0]/", "an internal address"),
        ("http://fileserver/share", "an internal host"),
        ("https://evil.example.com:99999/x", "hxxps://evil[.]example[.]com:99999/x"),
        ("https://intranet.contoso.net/" + "a" * 3000, "an internal host"),
        ("https://evil.example.com/" + "a" * 3000, "hxxps://evil[.]example[.]com/" + "a" * 3000),
        # Not addresses: left as written.
        ("300.1.1.1 and 10.0.0.999 and v1.2.3.4", "300.1.1.1 and 10.0.0.999 and v1.2.3.4"),
    ],
)
def test_odd_addresses_and_unparsable_urls_do_not_leak(text, shown):
    assert redact(text, POLICY) == shown


def test_odd_forms_are_offered_as_internal_names_and_can_be_kept():
    text = "010.000.000.001 and http://ws-fin-1/c$ and user@10.0.0.5"
    names = internal_names([text], POLICY)
    assert names == ["010.000.000.001", "http://ws-fin-1/c$", "user@10.0.0.5"]
    assert redact(text, POLICY, keep=names) == text


@pytest.mark.parametrize(
    "hostile",
    [
        "**bold** [x](javascript:alert(1)) <at>CEO</at> ${title} {{DATE(x)}}",
        '"}]},{"type":"Action.OpenUrl","url":"https://evil.example.com"}',
        "\u202eWS-FIN-0231\u202c reversed",
        "a." * 5000 + "b",
        "1." * 3000,
        ":" * 5000,
        "x@" * 3000,
        "[" * 4000 + "]" * 4000,
        "ws-fin-" + "a" * 100_000,
        "\x00\x1b[31mred\x1b[0m 10.0.0.1",
    ],
)
def test_hostile_text_is_cut_and_never_raises(hostile):
    shown = redact(hostile, POLICY)
    assert isinstance(shown, str) and len(shown) <= 4000 + 100
    assert "10.0.0.1" not in shown


def test_settings_name_the_key_when_wrong():
    with pytest.raises(ConfigError, match="summaries.exec_channel"):
        RawConfig({}, {"VIGIL_EXEC_CHANNEL": "19:abc@thread.tacv2;messageid=1"}).get(EXEC_CHANNEL)
    for bad in ("General", "https://teams.microsoft.com/l/channel/x", "19:a b@thread.tacv2"):
        with pytest.raises(ConfigError, match="VIGIL_EXEC_CHANNEL"):
            RawConfig({}, {"VIGIL_EXEC_CHANNEL": bad}).get(EXEC_CHANNEL)
    ok = RawConfig({}, {"VIGIL_EXEC_CHANNEL": " 19:AbC_1-2.x@thread.skype "}).get(EXEC_CHANNEL)
    assert ok == "19:AbC_1-2.x@thread.skype"
    for bad in ("ws-fin-*", "*=a host", "ws fin*=x", "ws-*=" + "x" * 101, "ws-*=\x07"):
        with pytest.raises(ConfigError, match="summaries.roles"):
            RawConfig({}, {"VIGIL_SUMMARY_ROLES": bad}).get(HOST_ROLES)
    with pytest.raises(ConfigError, match="summaries.roles"):
        RawConfig({"summaries": {"roles": {"ws-*": 3}}}).get(HOST_ROLES)


def test_settings_from_toml_and_env():
    raw = RawConfig(
        {"summaries": {"roles": {"WS-FIN-*": " a  finance workstation "}}},
        {"VIGIL_INTEL_INTERNAL_DOMAINS": "contoso.net"},
    )
    settings = SummarySettings.load(raw)
    assert settings.exec_channel == ""
    assert settings.policy.roles == (("ws-fin-*", "a finance workstation"),)
    assert settings.policy.guard.is_internal_domain("x.contoso.net")
    assert settings.max_items == 8 and settings.next_update_hours == 2.0


async def test_start_vigil_refuses_a_bad_exec_channel(tmp_path):
    from bot.app import start_vigil, stop_vigil

    env = {"VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db", "VIGIL_EXEC_CHANNEL": "exec-room"}
    with pytest.raises(ConfigError) as caught:
        vigil = await start_vigil(RawConfig({}, env))
        await stop_vigil(vigil, 1)  # only reached if the bad value was accepted
    assert "summaries.exec_channel" in str(caught.value)
