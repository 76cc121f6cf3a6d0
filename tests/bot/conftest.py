from __future__ import annotations

import pytest

from tests.bot.harness import Harness


@pytest.fixture
async def harness(tmp_path):
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db")
    try:
        yield harness
    finally:
        await harness.close()
