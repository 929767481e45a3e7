"""``geedocker system df [-v] [--format F]``: disk usage by images, containers, local volumes and build cache, in
docker's table (TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE); with ``-v``, docker's four sections (each image with its
shared and unique size and containers, each container's writable layer, each volume's links and size).

As docker counts them: the images' size is that of their distinct layers (a layer two images share counts once),
and an image's shared size that of its layers another image has too. The build cache is the builder's
(``BuildCache.usage``, one record per step entry and cache mount), counted as docker's CLI counts BuildKit's: a
record whose layer an image has too is "shared" and in no size; none is active outside a build.
"""

from __future__ import annotations

import argparse
import sys

from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.build.cache import CacheRecord
    from geedocker.cli.images import ImageContext
    from geedocker.containers.ps import PsRow
    from geedocker.store.layout import Layout

HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}
VOLUME_HEADERS = {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE", "Driver": "DRIVER", "Labels": "LABELS",
                  "Mountpoint": "MOUNTPOINT", "Scope": "SCOPE", "Availability": "AVAILABILITY", "Group": "GROUP",
                  "Status": "STATUS"}  # fmt: skip
# docker's defaultDiskUsage*TableFormat
IMAGE_TABLE = ("table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t"
               "{{.UniqueSize}}\t{{.Containers}}")
CONTAINER_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t"
                   "{{.Status}}\t{{.Names}}")
VOLUME_TABLE = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
BUILD_CACHE_TABLE = ("table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
                     "{{.UsageCount}}\t{{.Shared}}")
BUILD_CACHE_HEADERS = {"ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
                       "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}  # fmt: skip


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

        return human_size(self.size, 4)

    def Reclaimable(self) -> str:
        from geedocker.cli.common import human_size

        text = human_size(self.reclaimable, 4)
        if self.percent and self.size:
            text += f" ({self.reclaimable * 100 // self.size}%)"
        return text

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(HEADERS)}


class VolumeUsage:
    """A volume as ``system df -v`` shows it (docker's volumeContext)."""

    go_type = "*formatter.volumeContext"
    marshals_with_escaping = True

    def __init__(self, name: str, links: int, size: int, labels: str, mountpoint: str) -> None:
        self.name, self.links, self.size, self.labels, self.mountpoint = name, links, size, labels, mountpoint

    def Name(self) -> str:
        return self.name

    def Links(self) -> str:
        return str(self.links)

    def Size(self) -> str:
        from geedocker.cli.common import human_size

        return human_size(self.size, 4)

    def Driver(self) -> str:
        return "local"

    def Labels(self) -> str:
        return self.labels

    def Mountpoint(self) -> str:
        return self.mountpoint

    def Scope(self) -> str:
        return "local"

    def Availability(self) -> str:
        return "N/A"

    def Group(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(VOLUME_HEADERS)}


class BuildCacheUsage:
    """A build cache record as ``system df -v`` shows it (docker's buildCacheContext)."""

    go_type = "*formatter.buildCacheContext"
    marshals_with_escaping = True

    def __init__(self, rec: CacheRecord, trunc: bool) -> None:
        self.rec, self.trunc = rec, trunc

    def ID(self) -> str:
        return self.rec.id[:12] if self.trunc else self.rec.id

    def Parent(self) -> str:
        return ""

    def CacheType(self) -> str:
        return self.rec.type

    def Description(self) -> str:
        return self.rec.description

    def Size(self) -> str:
        return _human(self.rec.size, 3)

    def CreatedSince(self) -> str:
        from geedocker.cli.common import ago

        return ago(self.rec.created)

    def LastUsedSince(self) -> str:
        from geedocker.cli.common import ago

        return ago(self.rec.last_used)

    def UsageCount(self) -> str:
        return "0"  # not counted: an entry keeps only when it was last used

    def InUse(self) -> str:
        return "false"

    def Shared(self) -> str:
        return "true" if self.rec.shared else "false"

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in ("CacheType", "CreatedSince", "Description", "ID", "InUse",
                                                 "LastUsedSince", "Parent", "Shared", "Size", "UsageCount")}


class Usage:
    """What ``system df`` measures; its lists are ``system df -v``'s rows (docker's diskUsageContext)."""

    go_type = "*formatter.diskUsageContext"
    marshals_with_escaping = True

    def __init__(self, layout: Layout, trunc: bool = True) -> None:
        """``trunc``: short ids and commands, as docker's tables (its templates and json see them whole)."""
        import time

        from geedocker.build.cache import BuildCache
        from geedocker.cli.images import ImageContext
        from geedocker.containers import ps
        from geedocker.containers.record import Status
        from geedocker.containers.refresh import refresh
        from geedocker.containers.volumes import volumes_of
        from geedocker.images.local import list_images
        from geedocker.trees import content_size
        from geedocker.values import replace

        store = Engine.of(layout).containers
        records = sorted((refresh(layout, r) for r in store.list()), key=lambda r: r.created, reverse=True)
        users: dict[str, int] = {}
        for r in records:
            users[r.image_id] = users.get(r.image_id, 0) + 1
        # each image's layers with their sizes: a layer in two images is shared, and counted once in the total
        layer_store = Engine.of(layout).layers
        layers: dict[str, list[tuple[str, int]]] = {}
        for rec in Engine.of(layout).images.records():
            mine = []
            for chain, desc in zip(rec.chain_ids, rec.manifest.layers, strict=False):
                try:
                    mine.append((str(chain), layer_store.size(chain)))
                except Exception:  # noqa: BLE001 - a layer without metadata counts its compressed size
                    mine.append((str(chain), desc.size))
            layers[str(rec.id)] = mine
        holders: dict[str, int] = {}
        for mine in layers.values():
            for held in {c for c, _ in mine}:
                holders[held] = holders.get(held, 0) + 1
        self.layers_size = sum(dict(c for mine in layers.values() for c in mine).values())
        self.images: list[ImageContext] = []
        seen: set[str] = set()
        # one row per image, under its first name (docker's RepoTags[0])
        for row in sorted(list_images(layout), key=lambda r: (r.id, r.repository == "<none>", r.repository, r.tag)):
            if row.id in seen:
                continue
            seen.add(row.id)
            shared = sum(size for chain, size in dict(layers.get(row.id, [])).items() if holders.get(chain, 0) > 1)
            row = replace(row, digest="")  # docker's df rows have no digest (and no "<none>")
            self.images.append(ImageContext(row, trunc, users.get(row.id, 0), shared, no_digest=""))
        self.images.sort(key=lambda c: c.row.created, reverse=True)
        now = time.time()
        self.rw = {r.id: content_size(store.dir(r.id) / "upper") for r in records}
        self.containers: list[PsRow] = [ps.row(r, now, trunc, size=_human(self.rw[r.id], 3))
                                         for r in records]
        self.running = sum(1 for r in records if r.state.status == Status.RUNNING)
        self.stopped_rw = sum(self.rw[r.id] for r in records if r.state.status != Status.RUNNING)
        vstore = Engine.of(layout).volumes
        links: dict[str, int] = {}
        for r in records:
            for name in set(volumes_of(r)):
                links[name] = links.get(name, 0) + 1
        self.volumes = [VolumeUsage(v.name, links.get(v.name, 0), content_size(vstore.data(v.name)),
                                    ",".join(f"{k}={val}" for k, val in v.labels or ()), str(vstore.data(v.name)))
                        for v in vstore.list()]  # fmt: skip
        self.build_cache = [BuildCacheUsage(r, trunc) for r in BuildCache(layout).usage()]
        # docker's CLI: shared records are the images' room; none is in use outside a build
        self.build_cache_size = sum(b.rec.size for b in self.build_cache if not b.rec.shared)

    # the template fields of ``system df -v --format``
    def Images(self) -> list[ImageContext]:
        return self.images

    def Containers(self) -> list[PsRow]:
        return self.containers

    def Volumes(self) -> list[VolumeUsage]:
        return self.volumes

    def BuildCache(self) -> list[BuildCacheUsage]:
        return self.build_cache

    def to_json(self) -> dict[str, object]:
        return {"Images": [i.to_json() for i in self.images], "Containers": [c.to_json() for c in self.containers],
                "Volumes": [v.to_json() for v in self.volumes],
                "BuildCache": [b.to_json() for b in self.build_cache]}

    def summary(self) -> list[DiskUsageContext]:
        """The four lines of ``system df``."""
        used = sum(int(i.row.size) - i.shared for i in self.images if i.containers)
        volumes_size = sum(v.size for v in self.volumes)
        return [
            DiskUsageContext("Images", len(self.images), sum(1 for i in self.images if i.containers),
                             self.layers_size, max(self.layers_size - used, 0), True),
            DiskUsageContext("Containers", len(self.containers), self.running, sum(self.rw.values()),
                             self.stopped_rw, True),
            DiskUsageContext("Local Volumes", len(self.volumes), sum(1 for v in self.volumes if v.links),
                             volumes_size, sum(v.size for v in self.volumes if not v.links), True),
            DiskUsageContext("Build Cache", len(self.build_cache), 0, self.build_cache_size, self.build_cache_size,
                             False),
        ]


def _human(n: int, precision: int) -> str:
    from geedocker.cli.common import human_size

    return human_size(n, precision)


def rows(layout: object) -> list[DiskUsageContext]:
    from geedocker.store.layout import Layout

    assert isinstance(layout, Layout)
    return Usage(layout).summary()


def _verbose_table(usage: Usage) -> str:
    """docker's four sections, each a table under its title."""
    from geedocker.cli.images import HEADERS as IMAGE_HEADERS
    from geedocker.containers.ps import HEADERS as CONTAINER_HEADERS
    from geedocker.format import docker

    return ("Images space usage:\n\n" + docker.render(IMAGE_TABLE, usage.images, IMAGE_HEADERS)
            + "\nContainers space usage:\n\n" + docker.render(CONTAINER_TABLE, usage.containers, CONTAINER_HEADERS)
            + "\nLocal Volumes space usage:\n\n" + docker.render(VOLUME_TABLE, usage.volumes, VOLUME_HEADERS)
            + f"\nBuild cache usage: {_human(usage.build_cache_size, 4)}\n\n"
            + docker.render(BUILD_CACHE_TABLE, usage.build_cache, BUILD_CACHE_HEADERS))  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from geedocker.cli.common import layout_of
    from geedocker.format import docker

    fmt = args.format
    verbose = getattr(args, "verbose", False)
    usage = Usage(layout_of(args), trunc=not verbose or fmt in ("", "table"))
    if verbose:
        # docker's sections; a template (or json) sees the whole usage, and its text ends without a newline
        sys.stdout.write(_verbose_table(usage) if fmt in ("", "table") else docker.render_one(fmt, usage))
        return 0
    if fmt in ("", "table"):
        fmt = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    sys.stdout.write(docker.render(fmt, usage.summary(), HEADERS))
    return 0
