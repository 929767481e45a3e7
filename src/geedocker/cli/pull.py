"""``geedocker pull [--platform os/arch] [-q] IMAGE``"""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import layout_of
from geedocker.cli.progress import for_stream


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    p.add_argument("--platform", help="os/arch[/variant] to pull from a multi-platform image")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image name")
    p.add_argument("--max-parallel", type=int, default=4, help="layers to download at once (default 4)")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.pull import PullOptions, pull
    from geedocker.oci import Platform

    options = PullOptions(
        platform=Platform.parse(args.platform) if args.platform else None,
        max_parallel=max(1, args.max_parallel),
    )
    progress = for_stream(sys.stdout, args.quiet)
    try:
        result = pull(layout_of(args), args.image, options=options, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    ref = result.reference
    if not args.quiet:
        print(f"Digest: {result.digest}")
        what = ref.familiar()
        if result.up_to_date:
            print(f"Status: Image is up to date for {what}")
        else:
            print(f"Status: Downloaded newer image for {what}")
    print(str(ref))
    return 0
