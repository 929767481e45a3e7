"""``login`` and ``logout``: check credentials against a registry, then save them; forget them.

Apart from ``credentials`` (which only reads and writes the files) because checking needs the client,
and the client needs the credentials: together they would import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.registry.config import RegistryConfig
from geedocker.registry.credentials import Credentials, DockerConfigStore, StaticCredentials
from geedocker.values import replace

if TYPE_CHECKING:
    from geedocker.registry.transport import Transport


def login(
    host: str,
    username: str,
    password: str,
    *,
    config: RegistryConfig | None = None,
    transport: Transport | None = None,
    store: DockerConfigStore | None = None,
) -> Path:
    """Check the credentials against ``host`` (a ping that must authenticate), then save them."""
    from geedocker.registry.client import RegistryClient  # the package imports this module: keep it light

    creds = Credentials(username, password)
    cfg = replace(config or RegistryConfig(), credentials=StaticCredentials({host: creds}))
    client = RegistryClient(host, config=cfg, transport=transport)
    try:
        client.ping()
    finally:
        if transport is None:
            client.close()
    return (store or DockerConfigStore.from_env()).save(host, creds)


def logout(host: str, store: DockerConfigStore | None = None) -> bool:
    return (store or DockerConfigStore.from_env()).remove(host)
