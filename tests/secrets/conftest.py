"""Fixtures: the local Key Vault and its managed-identity endpoint, wired through env."""

from __future__ import annotations

import socket

import pytest

from tests.fakes.keyvault import KeyVaultFake

USER_ASSIGNED_CLIENT_ID = "5a6b7c8d-0000-4000-8000-00000000abcd"

# Variables that would steer azure-identity elsewhere on a developer machine.
AZURE_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "IDENTITY_SERVER_THUMBPRINT",
)


@pytest.fixture
async def vault(tmp_path, monkeypatch):
    for name in AZURE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    fake = await KeyVaultFake(client_ids=(USER_ASSIGNED_CLIENT_ID,)).start(tmp_path)
    for name, value in fake.environ().items():
        monkeypatch.setenv(name, value)
    yield fake
    await fake.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
