"""Where a container's root filesystem comes from: a local image (pulled if missing) or a directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from geedocker.containers.create import RootfsSource
from geedocker.containers.engine import Engine
from geedocker.errors import ContainerError, ImageNotFound, UsageError
from geedocker.logger import get_logger
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout

log = get_logger(__name__)

PULL_POLICIES = ("missing", "always", "never")


def empty_layer(layout: Layout) -> Path:
    """An empty directory, the lower dir of an image without layers."""
    p = layout.containers / ".empty-layer"
    p.mkdir(parents=True, exist_ok=True)
    return p


def from_image(
    layout: Layout,
    name: str,
    *,
    pull: str = "missing",
    on_pull: Callable[[str], None] | None = None,
    platform: str = "",
) -> RootfsSource:
    """The layers and config of local image ``name``; pulled first per ``pull`` (missing, always, never).

    ``platform`` (``--platform os/arch[/variant]``): a local image of another platform counts as missing, and
    the pull takes that platform's variant from a multi-platform image, as docker does."""
    if pull not in PULL_POLICIES:
        raise UsageError(f"invalid --pull {pull!r}: expected one of {', '.join(PULL_POLICIES)}")
    from geedocker.oci import Platform

    wanted = Platform.parse(platform) if platform else None
    store = Engine.of(layout).images
    rec = None
    if pull != "always":
        try:
            rec = store.resolve(name)
        except ImageNotFound:
            if pull == "never":
                raise
        if rec is not None and wanted is not None:
            have = Platform(rec.config.os, rec.config.architecture, rec.config.variant)
            if not wanted.matches(have):
                if pull == "never":
                    raise ImageNotFound(f"image with reference {name} was found but does not match the specified "
                                        f"platform: wanted {wanted}, actual: {have}")  # fmt: skip
                rec = None
    if rec is None:
        if on_pull is not None and pull != "always":  # "Unable to find image ... locally" (or not this platform)
            on_pull(name)
        from geedocker.images.pull import PullOptions
        from geedocker.images.pull import pull as do_pull

        do_pull(layout, name, options=PullOptions(platform=wanted) if wanted else None)
        rec = store.resolve(name)
    lowers = tuple(layout.layer_diff(c) for c in reversed(rec.chain_ids))
    for p in lowers:
        if not p.is_dir():
            raise ContainerError(f"image {name}: layer directory {p} is missing; pull the image again")
    return RootfsSource(
        lower_dirs=lowers or (empty_layer(layout),),
        config=rec.config.config,
        image=name,
        image_id=str(rec.id),
    )


def from_directory(path: str, config: ContainerConfig | None = None) -> RootfsSource:
    """A directory used as the (read-only) bottom of the container's overlay, like ``podman --rootfs``."""
    p = Path(path).absolute()
    if not p.is_dir():
        raise UsageError(f"--rootfs {path}: not a directory")
    return RootfsSource(lower_dirs=(p,), config=config or ContainerConfig(), image=str(p), image_id="")
