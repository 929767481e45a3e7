"""``geedocker network create|ls|inspect|rm|connect|disconnect``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    c = sub.add_parser("create", help="create a network")
    c.add_argument("--subnet", default="", help="subnet in CIDR format (e.g. 10.213.0.0/24)")
    c.add_argument("--gateway", default="", help="IPv4 gateway for the subnet")
    c.add_argument("-d", "--driver", default="bridge", help="driver to manage the network (bridge only)")
    c.add_argument("--label", action="append", default=[], help="set metadata on a network")
    c.add_argument("name", metavar="NETWORK")
    ls = sub.add_parser("ls", aliases=["list"], help="list networks")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display network IDs")
    ls.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    i = sub.add_parser("inspect", help="display detailed information on one or more networks")
    i.add_argument("networks", nargs="+", metavar="NETWORK")
    r = sub.add_parser("rm", aliases=["remove"], help="remove one or more networks")
    r.add_argument("networks", nargs="+", metavar="NETWORK")
    cn = sub.add_parser("connect", help="connect a container to a network")
    cn.add_argument("--ip", default="", help="IPv4 address")
    cn.add_argument("--alias", action="append", default=[], help="add network-scoped alias for the container")
    cn.add_argument("network", metavar="NETWORK")
    cn.add_argument("container", metavar="CONTAINER")
    dc = sub.add_parser("disconnect", help="disconnect a container from a network")
    dc.add_argument("-f", "--force", action="store_true", help="force the container to disconnect")
    dc.add_argument("network", metavar="NETWORK")
    dc.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from geedocker.cli.common import layout_of
    from geedocker.errors import GeeDockerError, UsageError
    from geedocker.network import endpoint, inspect
    from geedocker.network.options import parse_ip

    layout = layout_of(args)
    layout.ensure()
    action = {"list": "ls", "remove": "rm"}.get(args.action, args.action)
    if action == "create":
        if args.driver != "bridge":
            raise UsageError(f"plugin {args.driver!r} not found: only the bridge driver is supported")
        labels = []
        for item in args.label:
            k, _, v = item.partition("=")
            labels.append((k, v))
        cfg = endpoint.create_network(layout, args.name, args.subnet, args.gateway, labels)
        print(cfg.id)
        return 0
    if action == "ls":
        rows = inspect.list_rows(layout)
        if args.quiet:
            for r in rows:
                print(r[0] if args.no_trunc else r[0][:12])
            return 0
        print(inspect.format_table(rows, trunc=not args.no_trunc))
        return 0
    if action == "inspect":
        out = []
        code = 0
        for ref in args.networks:
            try:
                out.append(inspect.inspect_network(layout, ref))
            except GeeDockerError as e:
                print(f"Error: {e}", file=sys.stderr)
                code = 1
        print(json.dumps(out, indent=4))
        return code
    if action == "rm":
        code = 0
        for ref in args.networks:
            try:
                endpoint.remove_network(layout, ref)
                print(ref)
            except GeeDockerError as e:
                print(f"Error response from daemon: {e}", file=sys.stderr)
                code = 1
        return code
    from geedocker.containers.store import ContainerStore

    rec = ContainerStore(layout).resolve(args.container)
    if action == "connect":
        endpoint.connect(layout, args.network, rec.id, rec.name, parse_ip(args.ip) if args.ip else "", args.alias)
        return 0
    endpoint.disconnect(layout, args.network, rec.id, rec.name)
    return 0
