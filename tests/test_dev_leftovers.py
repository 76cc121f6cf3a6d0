"""Nothing `vigil dev` writes changes the test outcomes: the README's order (`vigil dev` in the
checkout, then the tests) leaves ./vigil.db and ./.vigil/secrets/audit-hmac-key behind, and
perhaps a ./vigil.toml and a user config; the suite runs the same with all of them there."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The test the issue saw fail, with its neighbours: their outcome depends on which audit key,
# configuration and database the command line finds.
AFFECTED = ("tests/audit/test_audit_cli.py",)


def leave_what_vigil_dev_leaves(folder: Path) -> None:
    secrets = folder / ".vigil" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "audit-hmac-key").write_text("a key `vigil dev` generated 0123456789abcdef")
    sqlite3.connect(folder / "vigil.db").close()
    (folder / "vigil.toml").write_text('[db]\nurl = "sqlite:///./vigil.db"\n', encoding="utf-8")


def test_the_suite_ignores_what_vigil_dev_left_in_the_folder_it_runs_in(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    user_config = tmp_path / "config"
    for folder in (checkout, user_config / "vigil"):
        leave_what_vigil_dev_leaves(folder)
    # A developer's shell: what `vigil dev` printed to export, no test variable removed.
    env = {**os.environ, "XDG_CONFIG_HOME": str(user_config), "PYTHONPATH": str(ROOT)}
    env |= {"VIGIL_SECRET_AUDIT_HMAC_KEY": "exported in the shell 0123456789"}
    env.pop("VIGIL_CONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--rootdir={ROOT}"]
        + [str(ROOT / test) for test in AFFECTED],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-3000:]
    # And the tests changed none of it: the database is still the empty file `vigil dev` left.
    assert (checkout / "vigil.db").stat().st_size == 0
