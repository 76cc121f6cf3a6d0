"""Bad `[[alerts.routes]]` and `[alerts]` config fails at start-up, the ConfigError naming the key.

Each case is checked three ways: Routes.load, `vigil config check` (exit 1, the key printed) and
start_vigil (the service refuses to start).
"""

from __future__ import annotations

import tomllib

import pytest

from bot.alerts.model import Severity
from bot.alerts.routing import Routes
from bot.app import start_vigil, stop_vigil
from bot.cli import main
from bot.kernel.config import ConfigError, RawConfig

GOOD = """
[[alerts.routes]]
name = "critical"
min_severity = "critical"
channel = "#soc-critical"

[[alerts.routes]]
name = "phishing"
category = "phishing"
channel = "soc-phishing"
"""


def rule(body: str) -> str:
    """Two good rules, then the bad one at index 2."""
    return GOOD + "\n[[alerts.routes]]\n" + body


BAD = {
    "unknown key": (rule('name = "x"\nchannel = "c"\ncolour = "red"'), "alerts.routes[2].colour"),
    "misspelt key": (
        rule('name = "x"\nchannel = "c"\nseverity = "high"'),
        "alerts.routes[2].severity",
    ),
    "bad severity": (
        rule('name = "x"\nchannel = "c"\nmin_severity = "severe"'),
        "alerts.routes[2].min_severity",
    ),
    "severity of the wrong type": (
        rule('name = "x"\nchannel = "c"\nmin_severity = 4'),
        "alerts.routes[2].min_severity",
    ),
    "invalid regex": (
        rule('name = "x"\nchannel = "c"\ntitle_regex = "(unclosed"'),
        "alerts.routes[2].title_regex",
    ),
    "catastrophic regex length": (
        rule(f'name = "x"\nchannel = "c"\ntitle_regex = "{"a" * 301}"'),
        "alerts.routes[2].title_regex",
    ),
    "nested quantifier": (
        rule('name = "x"\nchannel = "c"\ntitle_regex = \'^(\\w+\\s?)*$\''),
        "alerts.routes[2].title_regex",
    ),
    "back-reference": (
        rule('name = "x"\nchannel = "c"\ntitle_regex = \'(a+)b\\1\''),
        "alerts.routes[2].title_regex",
    ),
    "regex of the wrong type": (
        rule('name = "x"\nchannel = "c"\ntitle_regex = ["a"]'),
        "alerts.routes[2].title_regex",
    ),
    "channel as a URL": (
        rule('name = "x"\nchannel = "https://teams.microsoft.com/l/channel/19%3aabc"'),
        "alerts.routes[2].channel",
    ),
    "channel id without thread suffix": (
        rule('name = "x"\nchannel = "19:abcdef"'),
        "alerts.routes[2].channel",
    ),
    "a user id as channel": (
        rule('name = "x"\nchannel = "29:1abc-user"'),
        "alerts.routes[2].channel",
    ),
    "channel name with a slash": (
        rule('name = "x"\nchannel = "soc/critical"'),
        "alerts.routes[2].channel",
    ),
    "channel of the wrong type": (rule('name = "x"\nchannel = 19'), "alerts.routes[2].channel"),
    "route without channel": (
        rule('name = "x"\nmin_severity = "high"'),
        "alerts.routes[2].channel",
    ),
    "drop with a channel": (
        rule('name = "x"\naction = "drop"\nchannel = "c"'),
        "alerts.routes[2].channel",
    ),
    "snooze with a channel": (
        rule('name = "x"\naction = "snooze"\nchannel = "c"\nuntil = 2030-01-01T00:00:00Z'),
        "alerts.routes[2].channel",
    ),
    "drop with mentions": (
        rule('name = "x"\naction = "drop"\nmentions = ["Ann"]'),
        "alerts.routes[2].mentions",
    ),
    "snooze without until": (rule('name = "x"\naction = "snooze"'), "alerts.routes[2].until"),
    "snooze until not a time": (
        rule('name = "x"\naction = "snooze"\nuntil = "tomorrow"'),
        "alerts.routes[2].until",
    ),
    "snooze until a number": (
        rule('name = "x"\naction = "snooze"\nuntil = 1700000000'),
        "alerts.routes[2].until",
    ),
    "until on a route": (
        rule('name = "x"\nchannel = "c"\nuntil = 2030-01-01T00:00:00Z'),
        "alerts.routes[2].until",
    ),
    "unknown action": (
        rule('name = "x"\naction = "page"\nchannel = "c"'),
        "alerts.routes[2].action",
    ),
    "action of the wrong type": (
        rule('name = "x"\naction = true\nchannel = "c"'),
        "alerts.routes[2].action",
    ),
    "name missing": (rule('channel = "c"'), "alerts.routes[2].name"),
    "name of the wrong type": (rule('name = 5\nchannel = "c"'), "alerts.routes[2].name"),
    "name empty": (rule('name = "  "\nchannel = "c"'), "alerts.routes[2].name"),
    "name used twice": (rule('name = "Critical"\nchannel = "c"'), "alerts.routes[2].name"),
    "category of the wrong type": (
        rule('name = "x"\nchannel = "c"\ncategory = 7'),
        "alerts.routes[2].category",
    ),
    "category list with a number": (
        rule('name = "x"\nchannel = "c"\ncategory = ["phishing", 7]'),
        "alerts.routes[2].category",
    ),
    "unknown entity type": (
        rule('name = "x"\nchannel = "c"\nentity_type = "mac"'),
        "alerts.routes[2].entity_type",
    ),
    "unknown source": (
        rule('name = "x"\nchannel = "c"\nsource = "qradar"'),
        "alerts.routes[2].source",
    ),
    "mentions of the wrong type": (
        rule('name = "x"\nchannel = "c"\nmentions = [1]'),
        "alerts.routes[2].mentions",
    ),
    "a huge mention list": (
        rule('name = "x"\nchannel = "c"\nmentions = [' + ", ".join(['"a"'] * 51) + "]"),
        "alerts.routes[2].mentions",
    ),
    "severity map as a list": (
        rule('name = "x"\nchannel = "c"\nseverity_map = ["page"]'),
        "alerts.routes[2].severity_map",
    ),
    "severity map to an unknown severity": (
        rule('name = "x"\nchannel = "c"\nseverity_map = { page = "urgent" }'),
        "alerts.routes[2].severity_map.page",
    ),
    "post_resolved not a boolean": (
        rule('name = "x"\nchannel = "c"\npost_resolved = "yes"'),
        "alerts.routes[2].post_resolved",
    ),
    "post_resolved on a drop rule": (
        rule('name = "x"\naction = "drop"\npost_resolved = true'),
        "alerts.routes[2].post_resolved",
    ),
    "rule that is not a table": ('[alerts]\nroutes = ["critical"]', "alerts.routes[0]"),
    "routes as a table, not an array": ('[alerts.routes]\nname = "x"', "alerts.routes"),
    "negative window": ("[alerts]\ndedupe_window_seconds = -5", "alerts.dedupe_window_seconds"),
    "window of the wrong type": (
        '[alerts]\ndedupe_window_seconds = "10m"',
        "alerts.dedupe_window_seconds",
    ),
    "digest threshold of zero": ("[alerts]\ndigest_after = 0", "alerts.digest_after"),
    "default channel as a user id": (
        '[alerts]\ndefault_channel = "29:1abc"',
        "alerts.default_channel",
    ),
    "unknown elastic field": (
        '[alerts.elastic.fields]\ncolour = "x"',
        "alerts.elastic.fields.colour",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_routes_load_names_the_bad_key(case):
    text, key = BAD[case]
    with pytest.raises(ConfigError) as caught:
        Routes.load(RawConfig(tomllib.loads(text), {}, "vigil.toml"))
    assert key in str(caught.value), str(caught.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_config_check_exits_1_naming_the_key(case, tmp_path, capsys, monkeypatch):
    text, key = BAD[case]
    path = tmp_path / "vigil.toml"
    path.write_text(text)
    for name in ("VIGIL_CONFIG", "VIGIL_ALERTS_DEFAULT_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(path), "config", "check"]) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("✗") and key in line for line in out.splitlines()), out


@pytest.mark.parametrize(
    "case", ["invalid regex", "drop with a channel", "negative window", "unknown key"]
)
async def test_start_vigil_refuses_to_start(case, tmp_path):
    text, key = BAD[case]
    env = {"VIGIL_DB_URL": f"sqlite:///{tmp_path}/vigil.db"}
    with pytest.raises(ConfigError) as caught:
        vigil = await start_vigil(RawConfig(tomllib.loads(text), env, "vigil.toml"))
        await stop_vigil(vigil, 1)  # only reached if the bad config was accepted
    assert key in str(caught.value)


def test_the_documented_examples_and_an_env_channel_id_pass(tmp_path, capsys, monkeypatch):
    document = GOOD + (
        '\n[[alerts.routes]]\nname = "heartbeats"\naction = "drop"\ntitle_regex = "^heartbeat"\n'
        '\n[[alerts.routes]]\nname = "maintenance"\naction = "snooze"\nsource = "alertmanager"\n'
        'until = "2024-06-01T06:00:00Z"\n'
        '\n[[alerts.routes]]\nname = "ips"\nentity_type = ["ip", "domain"]\n'
        "title_regex = '\\d{1,3}(\\.\\d{1,3}){3}'\nchannel = \"19:a1b2-c3_d4.e5@thread.tacv2\"\n"
        'mentions = ["Ann Analyst"]\n'
        '\n[[alerts.routes]]\nname = "prometheus"\nsource = "alertmanager"\nchannel = "ops"\n'
        'severity_map = { major = "high", page = "high", none = "low" }\npost_resolved = true\n'
    )
    env = {"VIGIL_ALERTS_DEFAULT_CHANNEL": "19:abc123@thread.tacv2"}
    routes = Routes.load(RawConfig(tomllib.loads(document), env, "vigil.toml"))
    assert [r.name for r in routes.rules] == [
        "critical",
        "phishing",
        "heartbeats",
        "maintenance",
        "ips",
        "prometheus",
    ]
    assert dict(routes.rules[5].severity_map)["major"] is Severity.HIGH
    assert routes.rules[5].post_resolved and not routes.rules[0].post_resolved
    assert routes.rules[0].channel == "soc-critical"
    assert routes.default_channel == "19:abc123@thread.tacv2"
    path = tmp_path / "vigil.toml"
    path.write_text(document)
    monkeypatch.setenv("VIGIL_ALERTS_DEFAULT_CHANNEL", "19:abc123@thread.tacv2")
    assert main(["--config", str(path), "config", "check"]) == 0, capsys.readouterr().out
