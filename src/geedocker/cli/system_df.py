"""``geedocker system df [--format F]``: disk usage by images, containers, local volumes and build cache, in
docker's table (TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE)."""

from __future__ import annotations

import argparse
import sys

HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}


class DiskUsageContext:
    go_type = "*formatter.diskUsageTypeContext"
    marshals_with_escaping = True

    def __init__(self, kind: str, total: int, active: int, size: int, reclaimable: int, percent: bool) -> None:
        self.kind, self.total, self.active, self.size, self.reclaimable = kind, total, active, size, reclaimable
        self.percent = percent

    def Type(self) -> str:
        return self.kind

    def TotalCount(self) -> str:
        return str(self.total)

    def Active(self) -> str:
        return str(self.active)

    def Size(self) -> str:
        from geedocker.cli.common import human_size

        return human_size(self.size)

    def Reclaimable(self) -> str:
        from geedocker.cli.common import human_size

        text = human_size(self.reclaimable)
        if self.percent and self.size:
            text += f" ({self.reclaimable * 100 // self.size}%)"
        return text

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(HEADERS)}


def rows(layout: object) -> list[DiskUsageContext]:
    from geedocker.cli.ps import _content_size
    from geedocker.containers.store import ContainerStore, Status
    from geedocker.images.local import image_size
    from geedocker.store.images import ImageStore
    from geedocker.store.layout import Layout

    assert isinstance(layout, Layout)
    store = ContainerStore(layout)
    records = store.list()
    used = {r.image_id for r in records}
    images = ImageStore(layout).records()
    sizes = {str(i.id): image_size(layout, i) for i in images}
    active_images = [i for i in sizes if i in used]
    rw = {r.id: _content_size(str(store.dir(r.id) / "upper")) for r in records}
    running = [r for r in records if r.state.status == Status.RUNNING]
    volumes = 0
    try:
        from geedocker.volumes.store import VolumeStore

        volumes = len(VolumeStore(layout).names())
    except ImportError:
        pass
    return [
        DiskUsageContext("Images", len(images), len(active_images), sum(sizes.values()),
                         sum(s for i, s in sizes.items() if i not in used), True),
        DiskUsageContext("Containers", len(records), len(running), sum(rw.values()),
                         sum(rw[r.id] for r in records if r.state.status != Status.RUNNING), True),
        DiskUsageContext("Local Volumes", volumes, 0, 0, 0, True),
        DiskUsageContext("Build Cache", 0, 0, 0, 0, False),
    ]


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.format import docker

    fmt = args.format
    if fmt in ("", "table"):
        fmt = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    sys.stdout.write(docker.render(fmt, rows(layout_of(args)), HEADERS))
    return 0
