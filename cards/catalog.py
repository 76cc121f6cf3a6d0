"""The card templates and sample data shipped in this package, loaded and compiled once."""

from __future__ import annotations

import json
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
}


def names() -> list[str]:
    """Template names, sorted."""
    return sorted(_files(TEMPLATES_DIR, ".json"))


def template_source(name: str) -> dict[str, Any]:
    """The template JSON as written (for the official engine and for tools)."""
    return json.loads(_path(TEMPLATES_DIR, name, ".json").read_text(encoding="utf-8"))


def sample(name: str) -> dict[str, Any]:
    """The sample data of a template: the contract of its data shape."""
    return json.loads(_path(SAMPLES_DIR, name, ".data.json").read_text(encoding="utf-8"))


@cache
def compiled(name: str) -> Template:
    """The compiled template, built on first use."""
    return Template(template_source(name))


@cache
def shape(name: str) -> dict[str, Any]:
    """The sample, cached: render() conforms data to it on every call."""
    return sample(name)


def group(name: str) -> str:
    """The capability a template belongs to (its folder)."""
    return _path(TEMPLATES_DIR, name, ".json").parent.name


def _path(folder: Path, name: str, suffix: str) -> Path:
    files = _files(folder, suffix)
    if name not in files:
        raise KeyError(f"unknown card template {name!r}; known: {', '.join(names())}")
    return files[name]


@cache
def _files(folder: Path, suffix: str) -> dict[str, Path]:
    return {path.name.removesuffix(suffix): path for path in sorted(folder.glob(f"*/*{suffix}"))}
