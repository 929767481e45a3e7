"""The network flags of ``run``/``create`` (registered by ``geedocker.cli.create``)."""

from __future__ import annotations

import argparse

from geedocker.network.options import NetworkOptions, network_options


def add_network_flags(p: argparse.ArgumentParser) -> None:
    a = p.add_argument
    a("-p", "--publish", action="append", default=[], help="publish a container's port(s) to the host "
      "([hostIP:][hostPort:]containerPort[/tcp|udp])")  # fmt: skip
    a("-P", "--publish-all", action="store_true", help="publish all exposed ports to random host ports")
    a("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    a("--dns", action="append", default=[], help="set custom DNS servers")
    a("--dns-search", action="append", default=[], help="set custom DNS search domains")
    a("--dns-option", action="append", default=[], help="set DNS options")
    a("--add-host", action="append", default=[], help="add a custom host-to-IP mapping (host:ip)")
    a("--network-alias", action="append", default=[], help="add network-scoped alias for the container")


def network_options_from_args(args: argparse.Namespace) -> NetworkOptions:
    """The flags as NetworkOptions; a user network must exist (checked before any image is pulled)."""
    opts = network_options(
        network=args.network,
        publish=args.publish,
        publish_all=args.publish_all,
        ip=args.ip,
        dns=args.dns,
        dns_search=args.dns_search,
        dns_options=args.dns_option,
        add_hosts=args.add_host,
        aliases=args.network_alias,
    )
    if opts.uses_bridge and opts.mode != "bridge":
        from geedocker.cli.common import layout_of
        from geedocker.network.config import NetworkStore

        NetworkStore(layout_of(args)).get(opts.mode)  # NetworkNotFound: "network NAME not found"
    return opts
