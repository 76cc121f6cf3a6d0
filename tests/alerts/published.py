"""Samples recorded from real producers or copied from vendors' own documentation.

They live in tests/fakes/alert_samples/published/<source>/; README.md there names where each one
comes from, and each test that posts one names it again.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).parent.parent / "fakes" / "alert_samples" / "published"


def published(source: str, name: str) -> Any:
    path = PUBLISHED / source / f"{name}.json"
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8")))
