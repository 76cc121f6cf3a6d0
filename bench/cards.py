"""Cards per second: the Python engine against the official JS engine (node), same run.

Run: python bench/cards.py [seconds-per-measurement]
The JS engine is measured inside one node process both as documented (`new Template(t)` per
card) and with one Template reused; the ratio Python/JS is printed for both. No assertions.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cards import catalog, jstools  # noqa: E402
from cards.render import prepare, render  # noqa: E402
from cards.template import Template  # noqa: E402

CASES = ("alert", "bulk_verdict")


def bulk_100() -> dict:
    rows = [
        {"indicator": f"198.51.100.{i}", "verdict": ("malicious", "clean")[i % 2], "hits": "1/3"}
        for i in range(100)
    ]
    return {**catalog.sample("bulk_verdict"), "rows": rows}


def rate(function, seconds: float) -> float:
    for _ in range(20):
        function()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            function()
        count += 10
    return count / elapsed


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    inputs = {
        "alert": catalog.sample("alert"),
        "bulk_verdict (6 rows)": catalog.sample("bulk_verdict"),
        "bulk_verdict (100 rows)": bulk_100(),
    }
    jobs = []
    for label, data in inputs.items():
        name = label.split()[0]
        jobs.append(
            {"name": label, "template": catalog.template_source(name), "data": prepare(name, data)}
        )
    js = {
        r["name"]: r
        for r in jstools.run_node("expand.js", {"jobs": jobs, "bench": {"seconds": seconds}})[
            "bench"
        ]
    }

    print(
        f"{'card':26} {'py expand':>10} {'py render':>10} {'js fresh':>10} {'js reused':>10}"
        f" {'py/js fresh':>12} {'py/js reused':>13}   (cards/s)"
    )
    for job in jobs:
        name = job["name"].split()[0]
        template = Template(job["template"])  # compiled once, like catalog.compiled()
        expand = rate(lambda t=template, d=job["data"]: t.expand(d), seconds)
        full = rate(lambda n=name, d=inputs[job["name"]]: render(n, d), seconds)
        fresh = js[job["name"]]["fresh_template_cards_per_s"]
        reused = js[job["name"]]["reused_template_cards_per_s"]
        print(
            f"{job['name']:26} {expand:10.0f} {full:10.0f} {fresh:10.0f} {reused:10.0f}"
            f" {expand / fresh:12.2f} {expand / reused:13.2f}"
        )
    print(
        "py expand: compiled template, prepared data (what the JS engine does);"
        " py render: render() incl. data preparation and the size check."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
