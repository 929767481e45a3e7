"""``geedocker history [--no-trunc] [-q] [-H] [--format F] IMAGE``: an image's layers and the steps that made them."""

from __future__ import annotations

import argparse
import sys

from geedocker.cli.common import ago, human_size, layout_of, parse_time
from geedocker.containers.engine import Engine

HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
           "Size": "SIZE", "Comment": "COMMENT"}  # docker's HistoryContext headers


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] IMAGE"  # docker's usage line
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    p.add_argument("-H", "--human", default="true", choices=["true", "false"], help="sizes and dates for humans")
    p.add_argument("--format", default="", help='"table", "json" or a Go template')


class HistoryContext:
    """A history line as docker's templates see it."""

    go_type = "*image.historyContext"
    marshals_with_escaping = True

    def __init__(self, image_id: str, created: str, created_by: str, size: int, comment: str, trunc: bool,
                 human: bool) -> None:
        self.image_id, self.created, self.created_by = image_id, created, created_by
        self.size, self.comment, self.trunc, self.human = size, comment, trunc, human

    def ID(self) -> str:
        if self.image_id == "<missing>" or not self.trunc:
            return self.image_id
        return self.image_id.removeprefix("sha256:")[:12]

    def CreatedSince(self) -> str:
        return ago(parse_time(self.created)) if self.human else self.CreatedAt()

    def CreatedAt(self) -> str:
        from geedocker.timefmt import rfc3339_epoch

        t = rfc3339_epoch(self.created)
        if t is None:
            return ""
        import time

        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    def CreatedBy(self) -> str:
        text = self.created_by.replace("\t", " ")
        return text if not self.trunc or len(text) <= 45 else text[:44] + "…"

    def Size(self) -> str:
        return human_size(self.size) if self.human else str(self.size)

    def Comment(self) -> str:
        return self.comment

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k)() for k in sorted(HEADERS)}


def history_rows(layout: object, name: str, trunc: bool, human: bool) -> list[HistoryContext]:
    """Newest first, as docker: each history entry, with its layer's size when it made one; the image's own id
    on the newest line, <missing> on the others (their intermediate images are not kept, as after a pull)."""
    from geedocker.errors import StoreError
    from geedocker.store.layout import Layout

    assert isinstance(layout, Layout)
    rec = Engine.of(layout).images.resolve(name)
    layers = Engine.of(layout).layers
    sizes: list[int] = []
    for chain, desc in zip(rec.chain_ids, rec.manifest.layers, strict=False):
        try:
            sizes.append(layers.size(chain))
        except StoreError:
            sizes.append(desc.size)
    entries = list(rec.config.history) or [{"created": rec.config.created} for _ in sizes]
    rows: list[HistoryContext] = []
    layer = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer") and layer < len(sizes):
            size = sizes[layer]
            layer += 1
        rows.append(HistoryContext("<missing>", str(h.get("created", "")), str(h.get("created_by", "")), size,
                                   str(h.get("comment", "")), trunc, human))
    rows.reverse()
    if rows:
        rows[0].image_id = str(rec.id)
    return rows


def run(args: argparse.Namespace) -> int:
    rows = history_rows(layout_of(args), args.image, not args.no_trunc, args.human == "true")
    fmt = args.format
    if args.quiet:
        for r in rows:
            print(r.ID())
        return 0
    if fmt in ("", "table"):
        fmt = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
    from geedocker.format import docker

    sys.stdout.write(docker.render(fmt, rows, HEADERS))
    return 0
