"""The Python engine's output equals the official adaptivecards-templating 2.3.1 output."""

from __future__ import annotations

import json

from cards import catalog, gallery, jstools, render
from cards.render import prepare
from cards.template import Template
from tests.cards.hostile import BIG, HOSTILE_TEXT, hostile_alert, hostile_verdict

# Template Language corners, beyond what the shipped templates use.
ENGINE_TEMPLATE = {
    "single": "${x}",
    "mixed": "hi ${x} and ${y}",
    "missing": "${missing}",
    "missingDeep": "x ${missing.deep}",
    "repeat": [{"$data": "${items}", "t": "${name} ${$index}", "r": "${$root.x}"}],
    "whenTrue": {"$when": "${x == 5}", "k": 1},
    "whenFalse": {"$when": "${x == 6}", "k": 1},
    "whenList": [{"$when": "${x > 1}", "k": 2}, {"$when": "${x < 1}"}],
    "ifFunction": "${if(x == 5, 'five', 'other')}",
    "count": "${count(items)}",
    "indexOutside": "${$index}",
    "not": "${!flag}",
    "plus": "${x + 1}",
    "stringPlus": "${'a' + x}",
    "join": "${join(tags, ', ')}",
    "caseInsensitive": {"$data": "${items}", "z": "${NAME}"},
    "emptyData": {"$data": "${none}", "z": 1},
    "float": "${f}",
    "upper": "${toUpper(word)}",
    "decimal": "v${1.5 + 1}",
    "empty": "${empty(tags)}",
    "length": "${length(word)}",
    "escaped": "\\${x} ${x}",
    "nested": [[1, 2], [3]],
    "and": "${flag && x > 3}",
    "or": "${not(equals(x, 5)) || flag}",
    "gte": "${x >= 5}",
    "literalWhenTrue": {"$when": True, "a": 1},
    "literalWhenFalse": {"$when": False, "a": 1},
    "sub": "${sub(x, 2)}",
    "negate": "${-x}",
    "notEqual": "${x != 5}",
    "list": "${tags}",
    "stringify": "a ${tags} b ${obj} c ${flag}",
    "member": "${obj.k}",
    "ifMissing": "${if(missing, 1, 2)}",
    "countMissing": "${count(missing)}",
    "emptyMissing": "${empty(missing)}",
    "dataInData": [
        {"$data": "${groups}", "g": [{"$data": "${members}", "m": "${$data}-${$index}"}]}
    ],
}
ENGINE_DATA = {
    "x": 5,
    "y": "Y",
    "items": [{"name": "a"}, {"name": "b"}],
    "flag": False,
    "tags": ["t1", "t2", "t3"],
    "word": "héllo",
    "f": 1.0,
    "obj": {"k": [1, 2]},
    "none": [],
    "groups": [{"members": ["p", "q"]}, {"members": ["r"]}],
}


def strict(value):
    """JSON value with bools tagged, so that True never equals 1 in a comparison."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [strict(item) for item in value]
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    return value


def conformance_jobs() -> list[dict]:
    jobs = [
        {"name": case, "template": catalog.template_source(name), "data": prepare(name, data)}
        for case, name, data in gallery.cases()
    ]
    for case, text, _ in HOSTILE_TEXT:
        jobs.append(
            {
                "name": f"hostile-alert-{case}",
                "template": catalog.template_source("alert"),
                "data": prepare("alert", hostile_alert(text)),
            }
        )
        jobs.append(
            {
                "name": f"hostile-verdict-{case}",
                "template": catalog.template_source("verdict"),
                "data": prepare("verdict", hostile_verdict(text)),
            }
        )
    for name in catalog.names():
        jobs.append(
            {
                "name": f"empty-{name}",
                "template": catalog.template_source(name),
                "data": prepare(name, {}),
            }
        )
    rows = [{"indicator": f"198.51.100.{i}", "verdict": "clean", "hits": "0/3"} for i in range(150)]
    jobs.append(
        {
            "name": "bulk-150",
            "template": catalog.template_source("bulk_verdict"),
            "data": prepare("bulk_verdict", {"title": BIG, "rows": rows}),
        }
    )
    jobs.append({"name": "engine", "template": ENGINE_TEMPLATE, "data": ENGINE_DATA})
    return jobs


def test_python_engine_matches_official_js_engine(node_modules):
    jobs = conformance_jobs()
    # One node process expands everything with the official engine.
    official = {r["name"]: r for r in jstools.run_node("expand.js", {"jobs": jobs})["results"]}
    mismatches = []
    for job in jobs:
        ours = Template(job["template"]).expand(json.loads(json.dumps(job["data"])))
        theirs = official[job["name"]]
        assert "error" not in theirs, f"{job['name']}: official engine failed: {theirs}"
        if strict(ours) != strict(theirs["card"]):
            mismatches.append(job["name"])
    assert mismatches == [], f"differs from adaptivecards-templating 2.3.1: {mismatches}"
    assert len(jobs) > 40


def test_render_uses_the_prepared_data_the_conformance_test_checks():
    for case, name, data in gallery.cases():
        assert catalog.compiled(name).expand(prepare(name, data)) == render(name, data), case
