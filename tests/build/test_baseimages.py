"""The base images (root): a local image for another platform is refused, naming emulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.errors import GeeDockerError
from geedocker.store.layout import Layout
from tests.support.build import BASE, build_in

pytestmark = pytest.mark.root


def test_a_local_base_of_another_platform_is_refused_naming_emulation(store: Layout, tmp_path: Path) -> None:
    from geedocker.images.compose import Base, write_image
    from geedocker.oci import ContainerConfig, Platform

    # an s390x image under a name no registry answers for (a refused port): the pull for the host's fails
    name = "127.0.0.1:1/foreign:1"
    write_image(store, Base(platform=Platform("linux", "s390x")), ContainerConfig(), names=(name,))
    with pytest.raises(GeeDockerError, match=r"line 1: image .*foreign:1 was found but is for linux/s390x.*emulation"):
        build_in(store, tmp_path / "ctx", f"FROM {name}\nRUN true\n")
    with pytest.raises(GeeDockerError, match="--platform linux/s390x: .*emulation"):
        build_in(store, tmp_path / "ctx", f"FROM {BASE}\n", platform="linux/s390x")
    host = Platform.host()
    variant = build_in(store, tmp_path / "ctx", f"FROM --platform={host.os}/{host.architecture}/v9 {BASE}\nRUN true\n")
    assert variant.config.architecture == host.architecture  # a variant of the host's architecture builds
