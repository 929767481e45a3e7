"""``geedocker volume create|ls|inspect|rm|prune``"""

from __future__ import annotations

import argparse

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.layout import Layout
    from geedocker.volumes.store import Volume


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    c = sub.add_parser("create", help="create a volume", usage="%(prog)s [OPTIONS] [VOLUME]")
    c.add_argument("-d", "--driver", default="local", help="specify volume driver name (local)")
    c.add_argument("--label", action="append", default=[], help="set metadata for a volume")
    c.add_argument("-o", "--opt", action="append", default=[], help="set driver specific options (type, device, o)")
    c.add_argument("--name", default="", help="specify volume name")
    c.add_argument("name_arg", nargs="?", default="", metavar="VOLUME")
    ls = sub.add_parser("ls", aliases=["list"], help="list volumes", usage="%(prog)s [OPTIONS]")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    ls.add_argument("-f", "--filter", action="filter", default=[], help="provide filter values (e.g. 'dangling=true')")
    ls.add_argument("--format", default="", help="format output using a Go template, or json")
    i = sub.add_parser("inspect", help="display detailed information on one or more volumes",
                       usage="%(prog)s [OPTIONS] VOLUME [VOLUME...]")
    i.add_argument("-f", "--format", default="", help="format output using a Go template, or json")
    i.add_argument("volumes", nargs="+", metavar="VOLUME")
    r = sub.add_parser("rm", aliases=["remove"], help="remove one or more volumes",
                       usage="%(prog)s [OPTIONS] VOLUME [VOLUME...]")
    r.add_argument("-f", "--force", action="store_true", help="do not error out when a volume does not exist")
    r.add_argument("volumes", nargs="+", metavar="VOLUME")
    pr = sub.add_parser("prune", help="remove unused local volumes", usage="%(prog)s [OPTIONS]")
    pr.add_argument("-a", "--all", action="store_true", help="remove all unused volumes, not just anonymous ones")
    pr.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    pr.add_argument("--filter", action="filter", default=[], help="provide filter values (e.g. 'label=<label>')")


def _pairs(items: list[str], flag: str) -> list[tuple[str, str]]:
    from geedocker.errors import UsageError

    out = []
    for item in items:
        k, eq, v = item.partition("=")
        if not k or (flag == "--filter" and not eq):
            raise UsageError(f'invalid argument {item!r} for "{flag}" flag: bad format (expected name=value)')
        out.append((k.strip(), v))
    return out


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from geedocker.cli.common import layout_of
    from geedocker.containers import volumes
    from geedocker.errors import GeeDockerError, UsageError

    layout = layout_of(args)
    vstore = Engine.of(layout).volumes
    action = {"list": "ls", "remove": "rm"}.get(args.action, args.action)
    if action == "create":
        if args.name and args.name_arg and args.name != args.name_arg:
            raise UsageError("conflicting options: either specify --name or provide positional arg, not both")
        if args.driver != "local":  # docker's daemon's refusal, naming the volume (a new random name when none)
            import secrets

            from geedocker.errors import DaemonError

            name = args.name or args.name_arg or secrets.token_hex(32)
            raise DaemonError(f'create {name}: error looking up volume plugin {args.driver}: plugin "{args.driver}" '
                              "not found")  # fmt: skip
        # docker's CLI 28 sends no maps when no --label/-o is given: inspect shows null, as for implicit volumes
        labels = dict(_pairs(args.label, "--label")) or None
        opts = dict(_pairs(args.opt, "--opt")) or None
        vol, _ = vstore.create(args.name or args.name_arg, labels, opts)
        print(vol.name)
        return 0
    if action == "ls":
        vols = volumes.list_volumes(layout, _pairs(args.filter, "--filter"))
        if args.quiet:
            for v in vols:
                print(v.name)
            return 0
        rows = [_row(layout, v) for v in vols]
        if args.format:
            from geedocker.format import docker

            sys.stdout.write(docker.render(args.format, rows, HEADERS))
            return 0
        width = max([10, *(len(r["Driver"]) + 3 for r in rows)])  # docker's tabwriter: min width 10, padding 3
        for driver_, name in [("DRIVER", "VOLUME NAME"), *((r["Driver"], r["Name"]) for r in rows)]:
            print(driver_.ljust(width) + name)
        return 0
    if action == "inspect":
        out = []
        code = 0
        for name in args.volumes:
            try:
                out.append(volumes.inspect_volume(layout, vstore.get(name)))
            except GeeDockerError as e:
                print(f"Error: {e}", file=sys.stderr)
                code = 1
        if args.format:
            from geedocker.format import docker

            for d in out:
                print(docker.render_one(args.format, d))
        else:
            print(json.dumps(out, indent=4))
        return code
    if action == "rm":
        code = 0
        for name in args.volumes:
            try:
                volumes.remove_volume(layout, name, force=args.force)
                print(name)
            except GeeDockerError as e:
                print(f"Error response from daemon: {e}", file=sys.stderr)
                code = 1
        return code
    # prune
    from geedocker.cli import prune
    from geedocker.containers.filters import parse_filters

    f = parse_filters(args.filter)
    what = "all local volumes" if args.all else "anonymous local volumes"
    if not prune.confirm(f"WARNING! This will remove {what} not used by at least one container.", args.force):
        return 0
    text, reclaimed = prune.volumes(layout, f, args.all)
    sys.stdout.write(text + prune.total(reclaimed))
    return 0


HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Labels": "LABELS", "Links": "LINKS",
           "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE", "Size": "SIZE"}  # fmt: skip


def _row(layout: Layout, vol: Volume) -> dict[str, str]:
    """``volume ls``'s fields for --format (docker's names: .Name, .Driver, .Labels, .Mountpoint, ...)."""

    return {
        "Driver": vol.driver,
        "Labels": ",".join(f"{k}={v}" for k, v in vol.labels or ()),
        "Links": "N/A",
        "Mountpoint": str(Engine.of(layout).volumes.data(vol.name)),
        "Name": vol.name,
        "Scope": "local",
        "Size": "N/A",
    }
