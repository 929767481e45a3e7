"""``geedocker images [-a] [-q] [--digests] [--no-trunc] [--filter K=V]... [--format F] [REPOSITORY[:TAG]]``"""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import ago, human_size, layout_of, parse_time
from geedocker.containers.engine import Engine

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.images.local import ImageRow
    from geedocker.store.layout import Layout

HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE",
    "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
}  # docker's ImageContext headers
FILTERS = {"dangling", "label", "before", "since", "reference", "until"}


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] [REPOSITORY[:TAG]]"  # docker's usage line
    p.add_argument("repository", nargs="?", help="only images of this repository[:tag]")
    p.add_argument("-a", "--all", action="store_true", help="show all images (geedocker keeps no intermediate ones)")
    p.add_argument("-q", "--quiet", action="store_true", help="only image IDs")
    p.add_argument("--digests", action="store_true", help="show digests")
    p.add_argument("--no-trunc", action="store_true", help="full image IDs")
    p.add_argument("-f", "--filter", action="filter", default=[], help="filter output based on conditions")
    p.add_argument("--format", default="", help='"table", "json" or a Go template')


class ImageContext:
    """An images line as docker's templates see it (its ImageContext)."""

    go_type = "*formatter.ImageContext"
    marshals_with_escaping = True  # docker marshals its list rows with json.Marshal

    def __init__(self, row: ImageRow, trunc: bool, containers: int = -1, shared: int = -1,
                 no_digest: str = "<none>") -> None:
        """``containers`` and ``shared`` (bytes of layers other images have too): -1 where not computed, as in
        docker's lists (``system df -v`` computes them, and shows no digest as "")."""
        self.row = row
        self.no_digest = no_digest
        self.trunc = trunc
        self.containers = containers
        self.shared = shared

    def ID(self) -> str:
        return self.row.short_id if self.trunc else self.row.id

    def Repository(self) -> str:
        return self.row.repository

    def Tag(self) -> str:
        return self.row.tag

    def Digest(self) -> str:
        return self.row.digest or self.no_digest

    def CreatedSince(self) -> str:
        return ago(parse_time(self.row.created))

    def CreatedAt(self) -> str:
        from geedocker.timefmt import rfc3339_epoch, utc_text

        t = rfc3339_epoch(self.row.created)
        return utc_text(t) if t is not None else ""

    def Size(self) -> str:
        return human_size(self.row.size)

    def VirtualSize(self) -> str:
        return human_size(self.row.size, 4)

    def Containers(self) -> str:
        return "N/A" if self.containers == -1 else str(self.containers)

    def SharedSize(self) -> str:
        return "N/A" if self.shared == -1 else human_size(self.shared, 4)

    def UniqueSize(self) -> str:
        return "N/A" if self.shared == -1 else human_size(self.row.size - self.shared, 4)

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(HEADERS)}


def default_table(rows: list[ImageContext], digests: bool) -> str:
    """What docker's default template (``table {{.Repository}}\t{{.Tag}}\t[{{.Digest}}\t]{{.ID}}\t{{.CreatedSince}}\t
    {{.Size}}``) prints, without loading the template engine."""
    from geedocker.format.tabwriter import align

    columns = ["Repository", "Tag", *(["Digest"] if digests else []), "ID", "CreatedSince", "Size"]
    lines = ["\t".join(HEADERS[c] for c in columns)]
    lines += ["\t".join(getattr(r, c)() for c in columns) for r in rows]
    return align("\n".join(lines) + "\n")


def _labels(layout: Layout, image_id: str) -> dict[str, str]:

    return dict(Engine.of(layout).images.resolve(image_id).config.config.labels)


def _until(value: str) -> float:
    from geedocker.containers.filters import FilterError
    from geedocker.timefmt import parse_timestamp

    try:
        return parse_timestamp(value)
    except ValueError as e:
        raise FilterError(str(e)) from e


def filter_rows(layout: Layout, rows: list[ImageRow], specs: list[str]) -> list[ImageRow]:
    """docker's images filters: dangling, label, before, since, reference (a glob), until."""
    import fnmatch

    from geedocker.containers.filters import FilterError, check_keys, match_labels, parse_filters
    from geedocker.images.local import list_images

    f = parse_filters(specs)
    check_keys(f, FILTERS)
    for d in f.get("dangling", []):
        if d.lower() not in ("true", "false", "1", "0"):
            raise FilterError(f"Invalid filter 'dangling=[{d}]'")

    def created_of(ref: str) -> str:
        for r in list_images(layout):
            if ref in (r.id, r.short_id, f"{r.repository}:{r.tag}", r.repository) or r.id.removeprefix(
                    "sha256:").startswith(ref):
                return r.created
        raise FilterError(f"No such image: {ref if ':' in ref or '@' in ref else ref + ':latest'}")

    before = [created_of(v) for v in f.get("before", [])]
    since = [created_of(v) for v in f.get("since", [])]
    out = []
    for r in rows:
        dangling = r.repository == "<none>" and r.tag == "<none>"
        if "dangling" in f and dangling != (f["dangling"][0].lower() in ("true", "1")):
            continue
        if "label" in f and not match_labels(f["label"], _labels(layout, r.id)):
            continue
        if before and not all(r.created < b for b in before):
            continue
        if since and not all(r.created > s for s in since):
            continue
        if "reference" in f:
            names = [r.repository, f"{r.repository}:{r.tag}"]
            if not any(fnmatch.fnmatchcase(n, p) for n in names for p in f["reference"]):
                continue
        if "until" in f and not all((parse_time(r.created) or 0) < _until(u) for u in f["until"]):
            continue
        out.append(r)
    return out


def run(args: argparse.Namespace) -> int:
    from geedocker.images.local import list_images

    layout = layout_of(args)
    rows = list_images(layout, args.repository)
    if args.filter:
        rows = filter_rows(layout, rows, args.filter)
    fmt = args.format
    if args.quiet and fmt in ("", "table"):
        seen: list[str] = []
        for r in rows:
            ident = r.id if args.no_trunc else r.short_id
            if ident not in seen:
                seen.append(ident)
        print("\n".join(seen)) if seen else None
        return 0
    if fmt in ("", "table"):
        sys.stdout.write(default_table([ImageContext(r, not args.no_trunc) for r in rows], args.digests))
        return 0
    from geedocker.format import docker

    sys.stdout.write(docker.render(fmt, [ImageContext(r, not args.no_trunc) for r in rows], HEADERS))
    return 0
