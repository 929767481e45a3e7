"""``geedocker images [-q] [--digests] [--format json|table] [REPOSITORY[:TAG]]``"""

from __future__ import annotations

import argparse
import json

from geedocker.cli.common import ago, human_size, layout_of, parse_time, table


def register(p: argparse.ArgumentParser) -> None:
    p.add_argument("repository", nargs="?", help="only images of this repository[:tag]")
    p.add_argument("-q", "--quiet", action="store_true", help="only image IDs")
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("--no-trunc", action="store_true", help="full image IDs")
    p.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace) -> int:
    from geedocker.images.local import list_images

    rows = list_images(layout_of(args), args.repository)
    if args.quiet:
        seen: list[str] = []
        for r in rows:
            ident = r.id if args.no_trunc else r.short_id
            if ident not in seen:
                seen.append(ident)
        print("\n".join(seen)) if seen else None
        return 0
    if args.format == "json":
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    header = ["REPOSITORY", "TAG"] + (["DIGEST"] if args.digests else []) + ["IMAGE ID", "CREATED", "SIZE"]
    out = [header]
    for r in rows:
        line = [r.repository, r.tag]
        if args.digests:
            line.append(r.digest or "<none>")
        line += [r.id if args.no_trunc else r.short_id, ago(parse_time(r.created)), human_size(r.size)]
        out.append(line)
    print(table(out))
    return 0
