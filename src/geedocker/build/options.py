"""The options of a build: the Dockerfile, its context and what ``docker build``'s flags say.

Separate from the builder so that the front ends (``cli/build``, ``api/build``) can make them without importing
the build machinery.
"""

from __future__ import annotations

from pathlib import Path

from geedocker.values import field, value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.registry import RegistryConfig


@value
class BuildOptions:
    dockerfile: str  # the Dockerfile's text
    context: Path | None = None  # None: no context (a Dockerfile from stdin)
    dockerfile_path: Path | None = None  # for <Dockerfile>.dockerignore
    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    target: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    pull: bool = False
    network: str = "default"
    quiet: bool = False
    platform: str = ""
    add_hosts: tuple[tuple[str, str], ...] = ()
    shm_size: int | None = None
    ulimits: tuple[tuple[str, int, int], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # (id, host path)
    parallel: int = 0  # stages built at once; 0: as many as there are CPUs, between 2 and 4
    registry_config: RegistryConfig | None = None  # for the base images' pulls; None: the environment's
    extra: tuple[tuple[str, str], ...] = field(default=())
