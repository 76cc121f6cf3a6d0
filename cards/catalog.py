"""The card templates: those shipped in this package, and the overrides an admin installed.

An override (cards.overrides, `VIGIL_CARDS_DIR`) either replaces a shipped template under its
own name or adds a template with a shipped template's data contract (its sample).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cards.template import Template

# Templates and samples are grouped in a folder per capability: templates/intel/verdict.json and
# samples/intel/verdict.data.json; a template's name ("verdict") is unique across the groups.
TEMPLATES_DIR = Path(__file__).parent / "templates"
SAMPLES_DIR = Path(__file__).parent / "samples"

# Longest lists a card shows before "+N more"; other lists show 10 items.
LIST_CAPS: dict[str, dict[str, int]] = {
    "bulk_verdict": {"rows": 100},
    "audit_list": {"entries": 50},
    "alert_digest": {"alerts": 10, "byHost": 8, "byRule": 8},
    "alert": {"alerts": 25},
    "incident": {"timeline": 5},
    "help": {"commands": 12},
    "playbook_run": {"steps": 40},
}


@dataclass(frozen=True)
class Installed:
    """Templates from outside the package: name -> (template JSON, data contract name)."""

    templates: Mapping[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    origin: str = ""


_installed = Installed()


def install(overrides: Installed) -> None:
    """Use these override templates from now on (checked by cards.overrides beforehand)."""
    global _installed
    _installed = overrides
    compiled.cache_clear()


def installed() -> Installed:
    return _installed


def shipped_names() -> list[str]:
    """The templates this package ships, sorted."""
    return sorted(_files(TEMPLATES_DIR, ".json"))


def names() -> list[str]:
    """Template names (shipped and added by overrides), sorted."""
    return sorted(set(shipped_names()) | set(_installed.templates))


def contract(name: str) -> str:
    """The shipped template whose sample is this template's data contract."""
    if name in _installed.templates:
        return _installed.templates[name][1]
    _path(TEMPLATES_DIR, name, ".json")  # a KeyError naming the known ones
    return name


def is_override(name: str) -> bool:
    return name in _installed.templates


def template_source(name: str) -> dict[str, Any]:
    """The template JSON in use (an override when one is installed), for tools and node."""
    if name in _installed.templates:
        return _installed.templates[name][0]
    return shipped_source(name)


def shipped_source(name: str) -> dict[str, Any]:
    """The template JSON as shipped."""
    return json.loads(_path(TEMPLATES_DIR, name, ".json").read_text(encoding="utf-8"))


def sample(name: str) -> dict[str, Any]:
    """The sample data of a template's contract: the shape its data takes."""
    shipped = contract(name)
    return json.loads(_path(SAMPLES_DIR, shipped, ".data.json").read_text(encoding="utf-8"))


@cache
def compiled(name: str) -> Template:
    """The compiled template, built on first use."""
    return Template(template_source(name))


def shape(name: str) -> dict[str, Any]:
    """The contract's sample, cached: render() conforms data to it on every call."""
    return _shape(contract(name))


@cache
def _shape(shipped: str) -> dict[str, Any]:
    return sample(shipped)


def list_caps(name: str) -> dict[str, int]:
    return LIST_CAPS.get(contract(name), {})


def group(name: str) -> str:
    """The capability a template belongs to (its contract's folder)."""
    return _path(TEMPLATES_DIR, contract(name), ".json").parent.name


def _path(folder: Path, name: str, suffix: str) -> Path:
    files = _files(folder, suffix)
    if name not in files:
        raise KeyError(f"unknown card template {name!r}; known: {', '.join(names())}")
    return files[name]


@cache
def _files(folder: Path, suffix: str) -> dict[str, Path]:
    return {path.name.removesuffix(suffix): path for path in sorted(folder.glob(f"*/*{suffix}"))}
