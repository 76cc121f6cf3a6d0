"""Each expression function equals the official JS engine (adaptive-expressions 4.23.3 driven by
adaptivecards-templating 2.3.1): every case of expression_cases.py is expanded by both engines
as `{"v": "${EXPR}"}` — the JS ones in one node process for the whole table."""

from __future__ import annotations

import json
import re

import pytest

from cards import jstools
from cards.expressions import ExpressionSyntaxError, supported_functions
from cards.template import Template, TemplateError
from tests.cards.expression_cases import CASES, DATA, REFUSED_AT_LOAD
from tests.cards.test_conformance import strict

# AEL takes its default locale from the process (Intl), and Vigil's engine is en-US.
NODE_ENV = {"LC_ALL": "en_US.UTF-8", "LANG": "en_US.UTF-8", "TZ": "UTC"}
ERROR = "error"


def _data(overrides: dict) -> dict:
    return json.loads(json.dumps({**DATA, **overrides}))


def _ours(expression: str, data: dict) -> object:
    try:
        card = Template({"v": "${" + expression + "}"}).expand(data)
    except (TemplateError, ExpressionSyntaxError):
        return ERROR
    # What the card serialises to, as JSON.stringify does for JS (NaN and Infinity are null).
    return json.loads(json.dumps(card, allow_nan=True), parse_constant=lambda _: None)


@pytest.fixture(scope="module")
def official(node_modules) -> dict[str, object]:
    jobs = [
        {"name": str(i), "template": {"v": "${" + expression + "}"}, "data": _data(overrides)}
        for i, (expression, overrides) in enumerate(CASES)
    ]
    results = jstools.run_node("expand.js", {"jobs": jobs}, env=NODE_ENV)["results"]
    return {r["name"]: ERROR if "error" in r else r["card"] for r in results}


def test_every_function_case_equals_the_official_engine(official):
    differ = []
    for i, (expression, overrides) in enumerate(CASES):
        ours, theirs = _ours(expression, _data(overrides)), official[str(i)]
        if strict(ours) != strict(theirs):
            differ.append(f"{expression}: ours {ours!r}, official {theirs!r}")
    assert differ == [], "\n".join(differ)


def test_the_table_covers_every_supported_function():
    used = {
        name
        for expression, _ in CASES
        for name in re.findall(r"([A-Za-z][A-Za-z0-9]*)\(", expression)
    }
    missing = sorted(set(supported_functions()) - used)
    assert missing == [], f"functions without a conformance case: {missing}"
    assert len(CASES) > 300


def test_the_table_has_cases_where_both_engines_fail(official):
    # A table of only happy paths would not show that errors are errors in both engines.
    assert sum(1 for value in official.values() if value == ERROR) > 50


@pytest.mark.parametrize("expression", REFUSED_AT_LOAD)
def test_unsupported_or_unsafe_expressions_are_refused_at_load(expression):
    with pytest.raises(ExpressionSyntaxError):
        Template({"v": "${" + expression + "}"})


def test_an_unsupported_function_is_named_when_refused():
    with pytest.raises(ExpressionSyntaxError, match="'utcNow' is not supported"):
        Template({"body": [{"type": "TextBlock", "text": "at ${utcNow()}"}]})


def test_hostile_data_stays_data():
    data = _data({})
    card = Template({"v": "${hostile}", "w": "x ${toUpper(hostile)}"}).expand(data)
    assert card["v"] == DATA["hostile"]
    assert card["w"] == "x " + DATA["hostile"].upper()
