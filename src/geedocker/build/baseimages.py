"""The images stages start from (FROM) and ``COPY --from`` reads: the local one when it is for the build's
platform, else pulled (or always with ``--pull``); an image for another platform is refused, naming emulation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geedocker.build.dockerfile import Instruction
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError, ImageNotFound, UsageError
from geedocker.oci import Platform
from geedocker.store.images import ImageRecord

if TYPE_CHECKING:
    from geedocker.build.builder import Builder


def check_platform(b: Builder, want: Platform, what: str) -> None:
    if want.os != b.host.os or want.architecture != b.host.architecture:
        raise UsageError(f"{what} {want}: building for another platform needs emulation, which geedocker "
                         f"does not do (this host is {b.host})")


def base_image(b: Builder, name: str, ins: Instruction, platform: Platform | None = None) -> ImageRecord:
    """Image ``name`` for ``platform`` (the build's by default; a FROM --platform's variant of the host's
    architecture): the local one if it is for that platform, else pulled, as ``run --platform`` does."""
    want = platform or b.platform
    store = Engine.of(b.layout).images
    other: Platform | None = None  # the platform of a local image that is not the one wanted
    if not b.opts.pull:
        try:
            rec = store.resolve(name)
        except ImageNotFound:
            pass
        else:
            have = platform_of(rec)
            if not rec.config.architecture or want.matches(have):
                return rec
            other = have
    from geedocker.images.pull import PullOptions, pull

    v = b.display.start(f"[internal] pull {full_name(name)}")
    try:
        pull(b.layout, name, options=PullOptions(platform=want, registry_config=b.opts.registry_config))
    except BaseException as e:
        b.display.error(v, str(e))
        if other is not None and isinstance(e, GeeDockerError):
            raise UsageError(f"Dockerfile line {ins.line}: image {name} was found but is for {other}, not "
                             f"{want}, and no {want} variant could be pulled ({e}); running it needs "
                             "emulation, which geedocker does not do") from e
        raise
    b.display.done(v)
    rec = store.resolve(name)
    got = platform_of(rec)
    if rec.config.architecture and not b.host.matches(got):
        raise UsageError(f"Dockerfile line {ins.line}: image {name} is for {got}: running it needs emulation, "
                         "which geedocker does not do")
    return rec


def platform_of(rec: ImageRecord) -> Platform:
    return Platform(rec.config.os, rec.config.architecture, rec.config.variant)


def full_name(ref: str) -> str:
    from geedocker.errors import GeeDockerError as _Error
    from geedocker.reference import parse as parse_ref

    try:
        return str(parse_ref(ref))
    except _Error:
        return ref
