"""Override templates from a directory (`VIGIL_CARDS_DIR`), checked before any is used.

    $VIGIL_CARDS_DIR/alert.json             replaces the shipped `alert` template
    $VIGIL_CARDS_DIR/alert/my_alert.json    adds `my_alert`, with `alert`'s data contract

Every template is checked the way the shipped ones are: it must compile (an unsupported
expression function is named), and its card — rendered with the contract's sample, with empty
data and with hostile data in every text field — must parse with the official adaptivecards
library as schema 1.5 (cards/js/validate.js, through node), respect Teams' limits
(cards.limits), bind no field outside its contract, and show hostile text only as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cards import catalog, jstools
from cards.limits import violations
from cards.render import render
from cards.template import Template

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TEMPLATE_BYTES = 64 * 1024
# Text that is markup, a link or a template when it is not inert, and a long text for the limits.
HOSTILE = (
    "[click](javascript:alert(1)) <at>Everyone</at> **now** <script>x</script>"
    " {{DATE(2024-01-01T00:00:00Z)}} ${$root} \u202egpj.exe",
    "A" * 5000,
)
# What must never appear unescaped (after an even run of backslashes) in a card rendered with
# HOSTILE data: a link, a mention, HTML, a Teams date function, bold, a template binding.
_UNESCAPED = r"(?<!\\)(?:\\\\)*"
RAW_MARKERS = tuple(
    re.compile(_UNESCAPED + marker)
    for marker in (r"\]\(", r"<at", r"<script", r"\{\{DATE", r"\*\*now", r"\$\{")
)

# Checks the rendered cards with the official library: [{"name", "card"}] -> name -> problems.
Validator = Callable[[list[dict[str, Any]]], dict[str, list[str]]]


class OverrideError(ValueError):
    """An override directory or template is refused; the message lists every problem."""


def load(directory: str | Path, validate: Validator | None = None) -> catalog.Installed:
    """The checked overrides of a directory; OverrideError names every problem found."""
    root = Path(directory)
    if not root.is_dir():
        raise OverrideError(f"{root}: not a directory")
    shipped = set(catalog.shipped_names())
    found: dict[str, tuple[dict[str, Any], str]] = {}
    problems: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.name.startswith("."):
            continue
        where = path.relative_to(root).as_posix()
        parts = path.relative_to(root).parts
        name = path.name.removesuffix(".json")
        if len(parts) == 1 and path.suffix == ".json" and name in shipped:
            contract = name
        elif len(parts) == 2 and path.suffix == ".json" and parts[0] in shipped:
            contract = parts[0]
            if name in shipped or not NAME.fullmatch(name):
                problems.append(
                    f"{where}: an added template needs a new name of lowercase letters, digits"
                    " and _ (a shipped name is replaced by NAME.json at the top level)"
                )
                continue
        else:
            problems.append(
                f"{where}: expected NAME.json (NAME a shipped template: "
                f"{', '.join(sorted(shipped))}) or CONTRACT/NEW_NAME.json"
            )
            continue
        if name in found:
            problems.append(f"{where}: template {name!r} is defined twice")
            continue
        try:
            found[name] = (_read(path), contract)
        except OverrideError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise OverrideError("\n".join(problems))
    installed = catalog.Installed(found, str(root))
    check_templates(installed, validate or official_validator)
    return installed


def _read(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_TEMPLATE_BYTES:
        raise OverrideError(f"larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OverrideError(f"not valid JSON: {exc}") from None
    if not isinstance(payload, dict) or payload.get("type") != "AdaptiveCard":
        raise OverrideError('not an Adaptive Card template ({"type": "AdaptiveCard", …})')
    return payload


def check_templates(installed: catalog.Installed, validate: Validator) -> None:
    """Every template of `installed` compiles and renders cards that pass every check."""
    problems: list[str] = []
    rendered: list[dict[str, Any]] = []
    previous = catalog.installed()
    catalog.install(installed)
    try:
        for name in sorted(installed.templates):
            try:
                Template(installed.templates[name][0])
            except ValueError as exc:  # ExpressionSyntaxError included
                problems.append(f"{name}: {exc}")
                continue
            for case, data in cases(name):
                try:
                    card = render(name, data)
                except Exception as exc:  # noqa: BLE001 - any failure is the template's
                    problems.append(f"{name} ({case} data): rendering failed: {exc}")
                    continue
                problems.extend(f"{name} ({case} data): {p}" for p in card_problems(card, case))
                rendered.append({"name": f"{name} ({case} data)", "card": card})
        if rendered and not problems:
            for case, events in validate(rendered).items():
                problems.extend(f"{case}: adaptivecards 1.5: {event}" for event in events)
    finally:
        catalog.install(previous)
    if problems:
        raise OverrideError("\n".join(problems))


def cases(name: str) -> list[tuple[str, dict[str, Any]]]:
    """The data each template is rendered with: its sample, nothing, and hostile text."""
    sample = catalog.sample(name)
    result = [("sample", sample), ("empty", {})]
    for number, text in enumerate(HOSTILE, start=1):
        result.append((f"hostile {number}", _fill(sample, text)))
    return result


def _fill(example: Any, text: str) -> Any:
    """The sample's shape with every text replaced by `text` and every list three times over."""
    if isinstance(example, dict):
        return {key: _fill(value, text) for key, value in example.items()}
    if isinstance(example, list):
        return [_fill(example[0], text) for _ in range(3)] if example else []
    if isinstance(example, str):
        return text
    return example


def card_problems(card: Any, case: str) -> list[str]:
    """Teams' limits, and for hostile data: no raw markup, link or unbound field."""
    problems = list(violations(card))
    for text in _strings(card):
        if "${" in text and not case.startswith("hostile"):
            problems.append(f"binds a field outside its data contract: {text[:80]!r}")
        elif case.startswith("hostile"):
            raw = [found.group() for marker in RAW_MARKERS if (found := marker.search(text))]
            if raw:
                problems.append(f"shows data as markup or template ({raw[0]!r}): {text[:80]!r}")
    return problems


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in _strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in _strings(value)]
    return []


def official_validator(cards: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The official adaptivecards library's parse events and failures for each card."""
    results = jstools.run_node("validate.js", {"cards": cards})["results"]
    return {
        r["name"]: [f"{e.get('event', '')}: {e.get('message', '')}" for e in r["events"]]
        for r in results
        if r["events"]
    }
