from __future__ import annotations

from pathlib import Path

import pytest

from bot.devchannel.channel import ChannelConversation
from tests.bot.harness import APP_ID, APP_PASSWORD, Harness
from tests.fakes.graph import GraphFake

SOC = ChannelConversation.channel("SOC", "General")


@pytest.fixture
async def graph(tmp_path):
    fake = GraphFake(app_id=APP_ID, app_password=APP_PASSWORD, teams={SOC.team_aad_group_id})
    await fake.start(tmp_path)
    try:
        yield fake
    finally:
        await fake.stop()


def _bundle(directory: Path, *ca_files: str) -> Path:
    """One CA file for the bot's one HTTP session: the channel's CA and Graph's."""
    bundle = Path(directory) / "bundle.pem"
    bundle.write_text("".join(Path(name).read_text() for name in ca_files))
    return bundle


def channel_registrar(harness: Harness):
    """Teams would know a channel Graph made; tell the local channel so the bot can post there."""

    def channel_made(group: str, channel: dict) -> None:
        harness.channel.register(
            ChannelConversation(
                "channel",
                channel["id"],
                SOC.tenant_id,
                name=channel["displayName"],
                team_id=SOC.team_id,
                team_aad_group_id=group,
                team_name="SOC",
                channel_id=channel["id"],
                channel_name=channel["displayName"],
            )
        )

    return channel_made


@pytest.fixture
async def bot(tmp_path, graph):
    """Vigil behind the local channel, with Graph pointed at the fake and both CAs trusted."""
    harness = await Harness.start(f"sqlite:///{tmp_path}/vigil.db")
    bundle = _bundle(tmp_path, harness.channel.ca_file, graph.ca_path)
    harness.extra_env.update(
        {
            "VIGIL_CA_BUNDLE": str(bundle),
            "VIGIL_GRAPH_URL": graph.graph_url,
            "VIGIL_AAD_AUTHORITY": graph.authority,
        }
    )
    await harness.restart_bot()

    graph.on_created = channel_registrar(harness)
    try:
        yield harness
    finally:
        await harness.close()
