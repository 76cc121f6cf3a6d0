"""Shared fixtures: the official JS tooling, installed on demand (never skipped)."""

from __future__ import annotations

import pytest

from cards import jstools


@pytest.fixture(scope="session")
def node_modules():
    # A missing node/npm/chromium fails the test with ToolingMissing's message; it never skips.
    return jstools.ensure_node_modules()


@pytest.fixture(scope="session")
def chromium_path():
    return jstools.chromium()
