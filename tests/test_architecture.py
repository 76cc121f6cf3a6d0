"""The layers of shared/DESIGN.md hold: import-linter's contracts in pyproject.toml are kept, and
each one breaks when a forbidden import is planted in a copy of the tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs", "cards")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    # The `lint-imports` console script, run by this interpreter (no shell PATH needed).
    run = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    command = [sys.executable, "-c", run, "--config", "pyproject.toml", "--no-cache"]
    return subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "node_modules", "*.json", "*.sql"),
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


# Where a forbidden import is planted, and the contract that must then break.
PLANTED = {
    "a capability importing Bot Framework": (
        "bot/intel/verdict.py",
        "import botbuilder.core",
        "Bot Framework is imported only by the Teams adapter",
    ),
    "the kernel importing a capability": (
        "bot/kernel/timefmt.py",
        "import bot.intel.verdict",
        "The kernel imports no capability",
    ),
    "a capability importing the adapter": (
        "bot/alerts/model.py",
        "import bot.teams.messenger",
        "Capabilities and ports import no adapter",
    ),
    "a capability importing another's chat commands": (
        "bot/alerts/model.py",
        "import bot.intel.commands",
        "Capabilities use each other only through their domain interfaces",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_planted_forbidden_import_breaks_its_contract(case, tmp_path):
    module, statement, contract = PLANTED[case]
    tree = copy_tree(tmp_path)
    path = tree / module
    path.write_text(path.read_text() + f"\n{statement}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
