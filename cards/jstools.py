"""Official Adaptive Card JS tooling (templating, renderer) run from Python through node.

The npm packages pinned in cards/js/package-lock.json are installed with `npm ci` into a cache
directory (VIGIL_CARDS_JS_CACHE, default .cache/cards-js in the repository) on first use.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

JS_DIR = Path(__file__).parent / "js"
_MANIFESTS = ("package.json", "package-lock.json", ".npmrc")


class ToolingMissing(RuntimeError):
    """node, npm or chromium is not installed, or the npm install failed."""


def cache_dir() -> Path:
    """Where the npm packages are installed."""
    default = Path(__file__).resolve().parent.parent / ".cache" / "cards-js"
    return Path(os.environ.get("VIGIL_CARDS_JS_CACHE", default))


def ensure_node_modules() -> Path:
    """The node_modules directory, installed with `npm ci` when missing or out of date."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    lock_digest = hashlib.sha256((JS_DIR / "package-lock.json").read_bytes()).hexdigest()
    stamp = cache / "installed.sha256"
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # tests and benchmarks may install at the same time
        if stamp.exists() and stamp.read_text() == lock_digest:
            return cache / "node_modules"
        npm = _tool("npm", "apt-get install -y nodejs npm")
        for name in _MANIFESTS:
            shutil.copyfile(JS_DIR / name, cache / name)
        # Fixed argv of our own tools; no shell, nothing from untrusted input.
        done = subprocess.run(  # noqa: S603
            [npm, "ci", "--no-audit", "--no-fund"], cwd=cache, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ToolingMissing(f"npm ci in {cache} failed:\n{done.stdout}\n{done.stderr}")
        stamp.write_text(lock_digest)
    return cache / "node_modules"


def chromium() -> str:
    """Path of Debian's chromium (or $CHROMIUM)."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    found = found or shutil.which("chromium-browser")
    if not found:
        raise ToolingMissing(
            "chromium is not installed: run `bash .ci/setup.d/cards.sh` "
            "(apt-get update && apt-get install -y chromium)"
        )
    return found


def run_node(
    script: str, payload: Any, timeout: float = 600, env: dict[str, str] | None = None
) -> Any:
    """Run cards/js/SCRIPT with the JSON payload on stdin; return its JSON stdout.

    `env` adds variables, e.g. LC_ALL and TZ, which AEL reads for its default locale."""
    modules = ensure_node_modules()
    node = _tool("node", "apt-get install -y nodejs")
    env = dict(os.environ, **(env or {}), NODE_PATH=str(modules))
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [node, str(JS_DIR / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node {script} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


def _tool(name: str, hint: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolingMissing(f"{name} is not installed ({hint})")
    return found


if __name__ == "__main__":
    print(ensure_node_modules())
