"""Pruning as docker's CLI shows it: the confirmation prompt, each kind's "Deleted ...:" section, and ``system
prune`` over them all (``geedocker system prune [-a] [-f] [--volumes] [--filter until=|label=|label!=]``).

The passes are the engine's (``geedocker.containers.prune``, which the API's prune endpoints call too); here each
becomes its section (empty when nothing went) and the bytes it reclaimed; the command prints the sections, then
``Total reclaimed space: ...`` in docker's units (4 significant digits, as ``units.HumanSize``). The filters are
checked by each pass as dockerd checks them, so an unknown key stops ``system prune`` at its first pass with
docker's "Invalid filter 'KEY'" (exit 1).
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from geedocker.containers.prune import Pruned
    from geedocker.store.layout import Layout

Filters = dict[str, list[str]]

SYSTEM_WARNINGS = ("all stopped containers", "all networks not used by at least one container")


def confirm(warning: str, force: bool, sep: str = "\n") -> bool:
    """docker's prompt: the warning and ``Are you sure you want to continue? [y/N] ``, then one line of standard
    input, terminal or not (an empty or closed input is "no"). ``-f`` skips it."""
    if force:
        return True
    sys.stdout.write(f"{warning}{sep}Are you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def section(title: str, lines: list[str]) -> str:
    """``Deleted Containers:`` and its lines, with the empty line after it that docker's Println makes."""
    return f"{title}\n" + "".join(f"{line}\n" for line in lines) + "\n" if lines else ""


def total(reclaimed: int) -> str:
    from geedocker.cli.common import human_size

    return f"Total reclaimed space: {human_size(reclaimed, 4)}\n"


def _report(title: str, pruned: Pruned, lines: list[str] | None = None) -> tuple[str, int]:
    """The pass's section (its refusals to stderr, as ``Error: ...``) and its bytes."""
    for e in pruned.errors:
        print(f"Error: {e}", file=sys.stderr)
    return section(title, list(pruned.deleted) if lines is None else lines), pruned.reclaimed


def containers(layout: Layout, f: Filters) -> tuple[str, int]:
    from geedocker.containers import prune

    return _report("Deleted Containers:", prune.containers(layout, f))


def networks(layout: Layout, f: Filters) -> tuple[str, int]:
    from geedocker.containers import prune

    return _report("Deleted Networks:", prune.networks(layout, f))


def volumes(layout: Layout, f: Filters, all_: bool = False) -> tuple[str, int]:
    """Anonymous volumes no container uses (all unused ones with ``all_`` or ``--filter all=true``, docker 23+)."""
    from geedocker.containers import prune

    return _report("Deleted Volumes:", prune.volumes(layout, f, all_))


def images(layout: Layout, f: Filters, all_: bool = False) -> tuple[str, int]:
    """Dangling images (every image no container uses with ``all_``, or ``dangling=false``)."""
    from geedocker.containers import prune

    pruned = prune.images(layout, f, all_)
    return _report("Deleted Images:", pruned, [line[:1].lower() + line[1:] for line in pruned.deleted])  # rmi's
    # "Untagged:" is prune's "untagged:"


def build_cache(layout: Layout, f: Filters | None = None) -> tuple[str, int]:
    """The whole cache; with filters, nothing (its entries have neither labels nor times to match), but an
    ``until`` that is not a duration is refused as BuildKit's prune refuses it."""
    from geedocker.build.cache import BuildCache
    from geedocker.containers.filters import FilterError
    from geedocker.timefmt import go_duration_error

    for u in (f or {}).get("until", []):
        if err := go_duration_error(u):
            raise FilterError(f"failed to prune build cache: \"until\" filter expects a duration (e.g., '24h'): {err}")
    if f:
        return "", 0
    removed, freed = BuildCache(layout).prune()
    return section("Deleted build cache objects:", removed), freed


def register_system(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove all unused images not just dangling ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--volumes", action="store_true", help="prune anonymous volumes")
    p.add_argument("--filter", action="filter", default=[], help="provide filter values (e.g. 'label=<key>=<value>')")


def system(args: argparse.Namespace) -> int:
    """``system prune``: stopped containers, unused networks, (anonymous volumes,) dangling or unused images and
    the build cache, in docker's order, with its warning and output."""
    from geedocker.cli.common import layout_of
    from geedocker.containers.filters import parse_filters

    f = parse_filters(args.filter)
    if args.volumes and "until" in f:
        print('ERROR: The "until" filter is not supported with "--volumes"', file=sys.stderr)
        return 1
    warnings = list(SYSTEM_WARNINGS)
    if args.volumes:
        warnings.append("all anonymous volumes not used by at least one container")
    warnings.append("all images without at least one container associated to them" if args.all else
                    "all dangling images")  # fmt: skip
    warnings.append("all build cache" if args.all else "unused build cache")
    text = "WARNING! This will remove:\n" + "".join(f"  - {w}\n" for w in warnings)
    if args.filter:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {x}\n" for x in sorted(args.filter))
    if not confirm(text, args.force):
        return 0
    layout = layout_of(args)
    passes: list[Callable[[], tuple[str, int]]] = [lambda: containers(layout, f), lambda: networks(layout, f)]
    if args.volumes:
        passes.append(lambda: volumes(layout, f))
    passes.append(lambda: images(layout, f, args.all))
    passes.append(lambda: build_cache(layout, f))
    reclaimed = 0
    for step in passes:
        out, size = step()
        sys.stdout.write(out)
        sys.stdout.flush()
        reclaimed += size
    sys.stdout.write(total(reclaimed))
    return 0
