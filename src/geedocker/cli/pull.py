"""``geedocker pull [--platform os/arch] [-q] IMAGE``"""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import layout_of

TYPE_CHECKING = False  # as typing.TYPE_CHECKING
if TYPE_CHECKING:
    from geedocker.digest import Digest
    from geedocker.reference import Reference


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] NAME[:TAG|@DIGEST]"  # docker's usage line
    p.add_argument("image", metavar="NAME[:TAG|@DIGEST]")
    p.add_argument("--platform", help="os/arch[/variant] to pull from a multi-platform image")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image name")
    p.add_argument("--max-parallel", type=int, default=4, help="layers to download at once (default 4)")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.cached import check
    from geedocker.oci import Platform

    platform = Platform.parse(args.platform) if args.platform else None
    layout = layout_of(args)
    fresh = check(layout, args.image, platform=platform)
    if fresh is not None:  # present and unchanged: one request, and the pull machinery stays unloaded
        _report(fresh.reference, fresh.digest, True, args.quiet)
        return 0
    from geedocker.cli.progress import for_stream
    from geedocker.entrypoint import collect_cycles
    from geedocker.images.pull import PullOptions, pull

    collect_cycles()  # a pull that downloads runs for long, with threads
    options = PullOptions(
        platform=platform,
        max_parallel=max(1, args.max_parallel),
    )
    progress = for_stream(sys.stdout, args.quiet)
    try:
        result = pull(layout, args.image, options=options, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    _report(result.reference, result.digest, result.up_to_date, args.quiet)
    return 0


def _report(ref: Reference, digest: Digest, up_to_date: bool, quiet: bool) -> None:
    if not quiet:
        print(f"Digest: {digest}")
        what = ref.familiar()
        if up_to_date:
            print(f"Status: Image is up to date for {what}")
        else:
            print(f"Status: Downloaded newer image for {what}")
    print(str(ref))
