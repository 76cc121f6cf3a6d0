"""Vendor-shaped example bodies from tests/fakes/alert_samples/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent.parent / "fakes" / "alert_samples"


def sample(source: str) -> Any:
    return copy.deepcopy(json.loads((SAMPLES / f"{source}.json").read_text(encoding="utf-8")))
