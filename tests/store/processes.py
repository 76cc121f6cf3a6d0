"""Start several worker processes at once and collect their JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def run_workers(module: str, *argvs: list[str]) -> list:
    """Run `python -m module ARGV` once per argv, concurrently; their decoded stdout, in order."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *argv,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        results.append(json.loads(out))
    return results
