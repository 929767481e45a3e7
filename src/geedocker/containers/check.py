"""``geedocker system check``: what is inconsistent in a store's containers, and (``repair``) what can be put right
without asking: leftovers of interrupted creates and removals, name entries of vanished containers, the rootfs
mount of a container that does not run, the cgroups of one that does not run; and, host-wide, address leases and
subnet claims that removed stores and containers left (``network.hostcheck``). A damaged record is reported, not
removed: ``rm -f`` removes it and what it held. Images: every blob re-hashed, every layer unpacked from its diff_id
(``images.verify``), repaired by pulling again and unpacking anew."""

from __future__ import annotations

import contextlib
from pathlib import Path

from geedocker.containers import rootfs
from geedocker.containers.engine import Engine
from geedocker.containers.plan import engine_cgroups_path
from geedocker.containers.record import Status
from geedocker.containers.refresh import refresh
from geedocker.containers.removal import sweep
from geedocker.errors import GeeDockerError
from geedocker.store.fsutil import is_mountpoint
from geedocker.store.layout import Layout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.runtime.cgroups import Cgroup


def check(layout: Layout, repair: bool = False) -> tuple[list[str], list[str]]:
    """(problems found, of them what was repaired), one line each."""
    from geedocker.network.hostcheck import check as check_network
    from geedocker.runtime.cgroups import for_container

    store = Engine.of(layout).containers
    found: list[str] = []
    fixed: list[str] = []
    for path in store.leftover_dirs():
        found.append(f"{path}: left by an interrupted create or removal")
    for name in store.names.stale():
        found.append(f"name {name}: held for a container that is gone")
    if repair and found:
        done = sweep(layout)
        fixed += [line for line in found if any(line.startswith(d) or line.startswith(f"name {d}:") for d in done)]
    for rec in store.list():
        with contextlib.suppress(GeeDockerError):
            rec = refresh(layout, rec)
        who = f"container {rec.short_id} ({rec.name or 'no name'})"
        if rec.damaged:
            found.append(f"{who}: {rec.damaged} (rm -f removes it and what it held)")
            continue
        if rec.state.status == Status.RUNNING:
            continue
        if is_mountpoint(store.rootfs(rec.id)):
            line = f"{who}: its root filesystem is mounted while it does not run"
            found.append(line)
            if repair:
                with contextlib.suppress(GeeDockerError):
                    rootfs.unmount(store.rootfs(rec.id))
                    fixed.append(line)
        try:
            cg = for_container(engine_cgroups_path(rec.id), rec.id)
            leaked = bool(cg.pids()) or any(d.exists() for d in _dirs(cg))
        except (GeeDockerError, OSError):
            leaked = False
        if leaked:
            line = f"{who}: its cgroups are left while it does not run"
            found.append(line)
            if repair:
                with contextlib.suppress(GeeDockerError, OSError):
                    cg.destroy()
                    fixed.append(line)
    net_found, net_fixed = check_network(layout, repair)
    found += net_found
    fixed += net_fixed
    from geedocker.images import verify

    def pull(ref: str) -> None:
        from geedocker.images.pull import pull as pull_image

        pull_image(layout, ref)

    for damage in verify.check(layout, repair, pull):
        found.append(damage.line)
        if damage.repaired:
            fixed.append(damage.line)
    return found, fixed


def _dirs(cg: Cgroup) -> list[Path]:
    """The cgroup's directories (v1: one a hierarchy; v2: one), from its saved form."""
    saved = cg.to_json()
    dirs = saved.get("dirs")
    if isinstance(dirs, dict):
        return [Path(str(d)) for d in dirs.values()]
    return [Path(str(saved.get("mount", "/"))) / str(saved.get("path", "")).lstrip("/")]
