"""``geedocker unpack IMAGE DIR``: write an image's flattened root filesystem to DIR (like umoci unpack)."""

from __future__ import annotations

import argparse
from pathlib import Path

from geedocker.cli.common import layout_of
from geedocker.errors import UsageError


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("dest", metavar="DIR", help="an empty or missing directory")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.local import unpack_image

    dest = Path(args.dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} exists and is not an empty directory")
    dest.mkdir(parents=True, exist_ok=True)
    rec = unpack_image(layout_of(args), args.image, dest)
    print(f"unpacked {rec.short_id} into {dest}")
    return 0
