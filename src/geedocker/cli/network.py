"""``geedocker network create|ls|inspect|rm|connect|disconnect``"""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    c = sub.add_parser("create", help="create a network", usage="%(prog)s [OPTIONS] NETWORK")
    c.add_argument("--subnet", default="", help="subnet in CIDR format (e.g. 10.213.0.0/24)")
    c.add_argument("--gateway", default="", help="IPv4 gateway for the subnet")
    c.add_argument("-d", "--driver", default="bridge", help="driver to manage the network (bridge only)")
    c.add_argument("--label", action="append", default=[], help="set metadata on a network")
    c.add_argument("name", metavar="NETWORK")
    ls = sub.add_parser("ls", aliases=["list"], help="list networks", usage="%(prog)s [OPTIONS]")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display network IDs")
    ls.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    ls.add_argument("-f", "--filter", action="filter", default=[], help="provide filter values (e.g. driver=bridge)")
    ls.add_argument("--format", default="", help='"table", "json" or a Go template')
    i = sub.add_parser("inspect", help="display detailed information on one or more networks",
                       usage="%(prog)s [OPTIONS] NETWORK [NETWORK...]")
    i.add_argument("networks", nargs="+", metavar="NETWORK")
    i.add_argument("-f", "--format", default="", help='a Go template, or "json"')
    r = sub.add_parser("rm", aliases=["remove"], help="remove one or more networks",
                       usage="%(prog)s NETWORK [NETWORK...]")
    r.add_argument("networks", nargs="+", metavar="NETWORK")
    cn = sub.add_parser("connect", help="connect a container to a network",
                        usage="%(prog)s [OPTIONS] NETWORK CONTAINER")
    cn.add_argument("--ip", default="", help="IPv4 address")
    cn.add_argument("--alias", action="append", default=[], help="add network-scoped alias for the container")
    cn.add_argument("network", metavar="NETWORK")
    cn.add_argument("container", metavar="CONTAINER")
    pr = sub.add_parser("prune", help="remove all unused networks", usage="%(prog)s [OPTIONS]")
    pr.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    pr.add_argument("--filter", action="filter", default=[], help="provide filter values (e.g. 'label=<key>')")
    dc = sub.add_parser("disconnect", help="disconnect a container from a network",
                        usage="%(prog)s [OPTIONS] NETWORK CONTAINER")
    dc.add_argument("-f", "--force", action="store_true", help="force the container to disconnect")
    dc.add_argument("network", metavar="NETWORK")
    dc.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.errors import DaemonError, GeeDockerError, UsageError
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
        return _ls(layout, args)
    if action == "prune":
        return _prune(layout, args)
    if action == "inspect":
        from geedocker.cli.common import run_inspect

        def get(ref: str) -> object:
            try:
                found = inspect.inspect_network(layout, ref)
            except GeeDockerError as e:
                raise DaemonError(f"network {ref} not found") from e
            from geedocker.format.struct import GoTime

            found["Created"] = GoTime(found.get("Created") or "")  # a time.Time in docker's struct: its template
            return found  # text is Go's Time.String()

        return run_inspect(args.networks, get, args.format)
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

    rec = Engine.of(layout).containers.resolve(args.container)
    if action == "connect":
        endpoint.connect(layout, args.network, rec.id, rec.name, parse_ip(args.ip) if args.ip else "", args.alias)
        return 0
    endpoint.disconnect(layout, args.network, rec.id, rec.name)
    return 0


NETWORK_HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv6": "IPV6",
    "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}  # docker's NetworkContext headers
NETWORK_FILTERS = {"driver", "id", "label", "name", "scope", "type", "dangling"}


class NetworkContext:
    """A `network ls` line as docker's templates see it."""

    go_type = "*network.networkContext"
    marshals_with_escaping = True  # docker marshals its list rows with json.Marshal

    def __init__(self, row: tuple[str, str, str, str], labels: dict[str, str], created: str, trunc: bool) -> None:
        self.row, self.labels, self.created, self.trunc = row, labels, created, trunc

    def ID(self) -> str:
        return self.row[0][:12] if self.trunc else self.row[0]

    def Name(self) -> str:
        return self.row[1]

    def Driver(self) -> str:
        return self.row[2]

    def Scope(self) -> str:
        return self.row[3]

    def IPv6(self) -> str:
        return "false"

    def Internal(self) -> str:
        return "false"

    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))

    def Label(self, name: str) -> str:
        return self.labels.get(name, "")

    def CreatedAt(self) -> str:
        from geedocker.timefmt import parse_rfc3339

        t = parse_rfc3339(self.created)
        return t.strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC") if t else "0001-01-01 00:00:00 +0000 UTC"

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(NETWORK_HEADERS)}


def _ls(layout: Layout, args: argparse.Namespace) -> int:
    from geedocker.containers.filters import FilterError, check_keys, match_labels, parse_filters, search_patterns
    from geedocker.network import inspect
    from geedocker.network.config import NetworkStore

    f = parse_filters(args.filter)
    check_keys(f, NETWORK_FILTERS)
    for t in f.get("type", []):
        if t not in ("custom", "builtin"):
            raise FilterError(f"invalid filter: 'type'='{t}'")
    configs = {c.id: c for c in NetworkStore(layout).configs()}
    rows = []
    for r in inspect.list_rows(layout):
        cfg = configs.get(r[0])
        labels = dict(cfg.labels) if cfg else {}
        builtin = r[1] in ("bridge", "host", "none")
        if "driver" in f and r[2] not in f["driver"]:
            continue
        if "id" in f and not search_patterns(f["id"], r[0]):
            continue
        if "name" in f and not search_patterns(f["name"], r[1]):
            continue
        if "label" in f and not match_labels(f["label"], labels):
            continue
        if "scope" in f and r[3] not in f["scope"]:
            continue
        if "type" in f and ("builtin" if builtin else "custom") not in f["type"]:
            continue
        rows.append(NetworkContext(r, labels, cfg.created if cfg else "", not args.no_trunc))
    fmt = args.format
    if args.quiet and fmt in ("", "table"):
        fmt = "{{.ID}}"
    if fmt in ("", "table"):
        fmt = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
    from geedocker.format import docker

    sys.stdout.write(docker.render(fmt, rows, NETWORK_HEADERS))
    return 0


def _prune(layout: Layout, args: argparse.Namespace) -> int:
    """``network prune``: every user network without containers goes, as docker's."""
    from geedocker.cli import prune
    from geedocker.containers.filters import parse_filters

    f = parse_filters(args.filter)
    if not prune.confirm("WARNING! This will remove all custom networks not used by at least one container.",
                         args.force):
        return 0
    sys.stdout.write(prune.networks(layout, f)[0])
    return 0
