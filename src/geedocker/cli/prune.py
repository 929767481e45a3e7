"""Pruning as docker's CLI does it: the confirmation prompt, each kind's pass with docker's prune filters and its
"Deleted ...:" section, and ``system prune`` over them all (``geedocker system prune [-a] [-f] [--volumes]
[--filter until=|label=|label!=]``).

Each pass returns its section (empty when nothing went) and the bytes it reclaimed; the command prints the
sections, then ``Total reclaimed space: ...`` in docker's units (4 significant digits, as ``units.HumanSize``).
The filters are checked by each pass as dockerd checks them, so an unknown key stops ``system prune`` at its
first pass with docker's "Invalid filter 'KEY'" (exit 1).
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from geedocker.store.layout import Layout

Filters = dict[str, list[str]]

# dockerd's accepted prune filters, per kind (daemon/prune.go)
CONTAINER_FILTERS = {"until", "label", "label!"}
NETWORK_FILTERS = {"until", "label", "label!"}
IMAGE_FILTERS = {"until", "label", "label!", "dangling"}
VOLUME_FILTERS = {"label", "label!", "all"}

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


def until(value: str) -> float:
    """An ``until=`` value (a timestamp, or a duration before now) -> epoch seconds, or dockerd's error."""
    from geedocker.containers.filters import FilterError
    from geedocker.timefmt import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as e:
        raise FilterError(f'failed to parse value as time or duration: "{value}"') from e


def _older(created: str, f: Filters) -> bool:
    """Created before every ``until`` (an object without a creation time is kept)."""
    from geedocker.timefmt import rfc3339_epoch

    if "until" not in f:
        return True
    epoch = rfc3339_epoch(created)
    return epoch is not None and all(epoch < until(u) for u in f["until"])


def _labelled(labels: dict[str, str], f: Filters) -> bool:
    """dockerd's prune label match: every ``label`` holds, and not every ``label!`` does."""
    from geedocker.containers.filters import match_labels

    if "label" in f and not match_labels(f["label"], labels):
        return False
    return not ("label!" in f and match_labels(f["label!"], labels))


def containers(layout: Layout, f: Filters) -> tuple[str, int]:
    from geedocker.containers.filters import check_keys
    from geedocker.containers.lifecycle import prune

    check_keys(f, CONTAINER_FILTERS)
    for u in f.get("until", []):
        until(u)  # a bad value is refused before anything goes
    sizes: dict[str, int] = {}
    removed = prune(layout, lambda rec: _older(rec.created, f) and _labelled(rec.labels, f), sizes)
    return section("Deleted Containers:", removed), sum(sizes.values())


def networks(layout: Layout, f: Filters) -> tuple[str, int]:
    from geedocker.containers.filters import check_keys
    from geedocker.errors import GeeDockerError
    from geedocker.network import endpoint
    from geedocker.network.config import NetworkStore
    from geedocker.network.errors import NetworkInUse

    check_keys(f, NETWORK_FILTERS)
    for u in f.get("until", []):
        until(u)
    removed = []
    for cfg in NetworkStore(layout).configs():
        if cfg.is_default or not _labelled(dict(cfg.labels), f) or not _older(cfg.created, f):
            continue
        try:
            endpoint.remove_network(layout, cfg.name)
        except NetworkInUse:
            continue
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            continue
        removed.append(cfg.name)
    return section("Deleted Networks:", removed), 0


def volumes(layout: Layout, f: Filters, all_: bool = False) -> tuple[str, int]:
    """Anonymous volumes no container uses (all unused ones with ``all_`` or ``--filter all=true``, docker 23+)."""
    from geedocker.containers import volumes as engine
    from geedocker.containers.filters import FilterError, check_keys

    check_keys(f, VOLUME_FILTERS)
    for a in f.get("all", []):
        if a.lower() not in ("true", "false", "1", "0"):
            raise FilterError(f"invalid filter 'all={a}'")
        all_ = all_ or a.lower() in ("true", "1")
    labels = f.get("label", []) + ["!" + x for x in f.get("label!", [])]
    sizes: dict[str, int] = {}
    removed = engine.prune(layout, all_=all_, labels=labels, sizes=sizes)
    return section("Deleted Volumes:", removed), sum(sizes.values())


def images(layout: Layout, f: Filters, all_: bool = False) -> tuple[str, int]:
    """Dangling images (every image no container uses with ``all_``, or ``dangling=false``)."""
    from geedocker.containers.filters import FilterError, check_keys
    from geedocker.containers.store import ContainerStore
    from geedocker.errors import GeeDockerError
    from geedocker.images.local import image_size, remove_image
    from geedocker.store.images import ImageStore

    check_keys(f, IMAGE_FILTERS)
    for d in f.get("dangling", []):
        if d.lower() not in ("true", "false", "1", "0"):
            raise FilterError(f"Invalid filter 'dangling=[{d}]'")
        all_ = all_ or d.lower() in ("false", "0")
    for u in f.get("until", []):
        until(u)
    store = ContainerStore(layout)
    used = {r.image_id for r in store.list()}
    lines: list[str] = []
    reclaimed = 0
    for rec in ImageStore(layout).records():
        if str(rec.id) in used or (not all_ and rec.tags):
            continue
        if not _older(rec.config.created, f) or not _labelled(dict(rec.config.config.labels), f):
            continue
        size = image_size(layout, rec)
        try:
            removed = remove_image(layout, str(rec.id), users=store.image_users, force=True)
            lines += [line[:1].lower() + line[1:] for line in removed]  # prune's "untagged:", rmi's "Untagged:"
        except GeeDockerError as e:
            print(f"Error: {e}", file=sys.stderr)
            continue
        reclaimed += size
    return section("Deleted Images:", lines), reclaimed


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
