"""``ps`` rows: docker's columns and status wording, computed from records (pure, given ``now``)."""

from __future__ import annotations

import json

from geedocker.containers.store import ContainerRecord, Status
from geedocker.timefmt import human_duration, rfc3339_epoch, utc_text
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

HEADER = ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")


def _since(text: str, now: float) -> float | None:
    t = rfc3339_epoch(text)
    return None if t is None else max(0.0, now - t)


def status_text(rec: ContainerRecord, now: float) -> str:
    st = rec.state
    if st.status == Status.RUNNING:
        up = _since(st.started_at, now)
        return f"Up {human_duration(up or 0)}"
    if st.status == Status.EXITED:
        ago = _since(st.finished_at, now)
        return f"Exited ({st.exit_code}) {human_duration(ago or 0)} ago"
    if st.status == Status.REMOVING:
        return "Removal In Progress"
    if st.status == Status.DEAD:
        return "Dead"
    return "Created"


def command_text(rec: ContainerRecord, trunc: bool = True) -> str:
    cmd = " ".join(rec.args)
    if trunc and len(cmd) > 20:
        cmd = cmd[:19] + "…"
    return f'"{cmd}"'


def image_text(rec: ContainerRecord) -> str:
    if rec.image:
        return rec.image
    return rec.image_id.removeprefix("sha256:")[:12]


@value
class PsRow:
    id: str
    image: str
    command: str
    created: str
    status: str
    ports: str
    names: str
    state: str
    created_at: str
    labels: str

    def cells(self) -> list[str]:
        return [self.id, self.image, self.command, self.created, self.status, self.ports, self.names]

    def to_json(self) -> dict[str, Any]:
        return {
            "Command": self.command,
            "CreatedAt": self.created_at,
            "ID": self.id,
            "Image": self.image,
            "Labels": self.labels,
            "LocalVolumes": "0",
            "Mounts": "",
            "Names": self.names,
            "Networks": "",
            "Ports": self.ports,
            "RunningFor": self.created,
            "Size": "",
            "State": self.state,
            "Status": self.status,
        }


def row(rec: ContainerRecord, now: float, trunc: bool = True, ports: str = "") -> PsRow:
    created = _since(rec.created, now)
    t = rfc3339_epoch(rec.created)
    return PsRow(
        id=rec.short_id if trunc else rec.id,
        image=image_text(rec),
        command=command_text(rec, trunc),
        created=f"{human_duration(created or 0)} ago",
        status=status_text(rec, now),
        ports=ports,
        names=rec.name,
        state=rec.state.status.value,
        created_at=utc_text(t) if t is not None else "",
        labels=",".join(f"{k}={v}" for k, v in rec.options.labels),
    )


def format_table(rows: list[PsRow]) -> str:
    table = [list(HEADER)] + [r.cells() for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = []
    for r in table:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def format_template(rows: list[PsRow], template: str) -> str:
    """``json`` or a Go-template subset: ``{{.ID}}\\t{{.Names}}``, ``{{json .}}``."""
    import re

    if template == "json":
        return "\n".join(json.dumps(r.to_json()) for r in rows)
    tmpl = template.replace("\\t", "\t").replace("\\n", "\n")
    if tmpl.startswith("table "):
        tmpl = tmpl[6:]
    out = []
    for r in rows:
        d = r.to_json()

        def sub(m: re.Match[str], d: dict[str, Any] = d) -> str:
            expr = m.group(1).strip()
            if expr in ("json .", "json ."):
                return json.dumps(d)
            if expr.startswith("."):
                return str(d.get(expr[1:], ""))
            return m.group(0)

        out.append(re.sub(r"\{\{\s*(.*?)\s*\}\}", sub, tmpl))
    return "\n".join(out)
