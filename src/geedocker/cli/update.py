"""``geedocker update [--memory] [--memory-swap] [--cpus] [--cpu-shares] [--pids-limit] CONTAINER...``"""

from __future__ import annotations

import argparse


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] CONTAINER [CONTAINER...]"  # docker's usage line
    p.add_argument("-m", "--memory", default=None, help="memory limit")
    p.add_argument("--memory-swap", default=None, help="swap limit equal to memory plus swap: -1 for unlimited")
    p.add_argument("--cpus", default=None, help="number of CPUs")
    p.add_argument("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight)")
    p.add_argument("--pids-limit", type=int, default=None, help="tune container pids limit (-1 for unlimited)")
    p.add_argument("--restart", default=None, help="restart policy: no, always, unless-stopped, on-failure[:N]")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import each_container, layout_of
    from geedocker.containers import control, flags
    from geedocker.containers.options import RunOptions
    from geedocker.errors import UsageError

    given: set[str] = set()
    restart = ""
    if args.restart is not None:
        from geedocker.containers.restart import parse

        restart = parse(args.restart)
        given.add("restart")
    memory = swap = None
    if args.memory is not None:
        memory = flags.parse_bytes(args.memory, "--memory")
        if memory < flags.MIN_MEMORY:
            raise UsageError("Minimum memory limit allowed is 6MB")
        given.add("memory")
    if args.memory_swap is not None:
        swap = -1 if args.memory_swap.strip() == "-1" else flags.parse_bytes(args.memory_swap, "--memory-swap")
        given.add("memory_swap")
    nano = None
    if args.cpus is not None:
        nano = flags.parse_cpus(args.cpus)
        given.add("nano_cpus")
    if args.cpu_shares is not None:
        given.add("cpu_shares")
    if args.pids_limit is not None:
        given.add("pids_limit")
    if not given:
        raise UsageError("you must provide one or more flags when using this command")
    changes = RunOptions(memory=memory, memory_swap=swap, nano_cpus=nano, cpu_shares=args.cpu_shares,
                              pids_limit=args.pids_limit, restart=restart)  # fmt: skip
    layout = layout_of(args)

    def act(ref: str) -> str:
        control.update(layout, [ref], changes, given)
        return ref

    return each_container(args.containers, act)
