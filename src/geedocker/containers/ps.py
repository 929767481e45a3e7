"""``ps`` rows: docker's columns and status wording, computed from records (pure, given ``now``)."""

from __future__ import annotations

from geedocker.containers.record import ContainerRecord, Status
from geedocker.timefmt import human_duration, rfc3339_epoch, utc_text
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from typing import Any

HEADER = ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")


def _since(text: str, now: float) -> float | None:
    t = rfc3339_epoch(text)
    return None if t is None else max(0.0, now - t)


def status_text(rec: ContainerRecord, now: float, paused: bool = False, health: str = "") -> str:
    st = rec.state
    if st.status == Status.RUNNING:
        up = _since(st.started_at, now)
        shown = {"starting": " (health: starting)", "healthy": " (healthy)", "unhealthy": " (unhealthy)"}
        return f"Up {human_duration(up or 0)}" + (" (Paused)" if paused else shown.get(health, ""))
    if st.status == Status.EXITED and st.restarting:
        ago = _since(st.finished_at, now)
        return f"Restarting ({st.exit_code}) {human_duration(ago or 0)} ago"
    if st.status == Status.EXITED:
        ago = _since(st.finished_at, now)
        return f"Exited ({st.exit_code}) {human_duration(ago or 0)} ago"
    if st.status == Status.REMOVING:
        return "Removal In Progress"
    if st.status == Status.DEAD:
        return "Dead"
    return "Created"


def truncate_ellipsis(text: str, n: int) -> str:
    """docker's TruncateWithEllipsis."""
    return text if len(text) <= n else text[: n - 1] + "…"


def command_text(rec: ContainerRecord, trunc: bool = True) -> str:
    """docker's COMMAND: the command line, cut to 20 characters with an ellipsis, Go-quoted (strconv.Quote)."""
    from geedocker.format.gofmt import go_quote

    cmd = " ".join(rec.args[:1] + tuple(f"'{a}'" if " " in a else a for a in rec.args[1:]))  # as moby's list
    return go_quote(truncate_ellipsis(cmd, 20) if trunc else cmd)


def image_text(rec: ContainerRecord) -> str:
    if rec.image:
        return rec.image
    return rec.image_id.removeprefix("sha256:")[:12]


HEADERS = {
    "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
}  # docker's ContainerContext headers, for `ps --format 'table ...'`


@value
class PsRow:
    """A ps line; its capitalised methods are docker's ContainerContext, which ps --format templates see."""

    go_type = "*formatter.ContainerContext"
    marshals_with_escaping = True  # docker marshals its list rows with json.Marshal

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
    label_map: tuple[tuple[str, str], ...] = ()
    mounts: str = ""
    local_volumes: int = 0
    networks: str = ""
    size: str = "0B"

    def cells(self) -> list[str]:
        return [self.id, self.image, self.command, self.created, self.status, self.ports, self.names]

    def ID(self) -> str:
        return self.id

    def Image(self) -> str:
        return self.image

    def Command(self) -> str:
        return self.command

    def CreatedAt(self) -> str:
        return self.created_at

    def RunningFor(self) -> str:
        return self.created

    def Ports(self) -> str:
        return self.ports

    def State(self) -> str:
        return self.state

    def Status(self) -> str:
        return self.status

    def Size(self) -> str:
        return self.size

    def Names(self) -> str:
        return self.names

    def Labels(self) -> str:
        return self.labels

    def Label(self, name: str) -> str:
        return dict(self.label_map).get(name, "")

    def Mounts(self) -> str:
        return self.mounts

    def LocalVolumes(self) -> str:
        return str(self.local_volumes)

    def Networks(self) -> str:
        return self.networks

    def Platform(self) -> None:
        return None  # docker's API 1.41 (which geedocker speaks) has no image platform in a list

    def to_json(self) -> dict[str, Any]:
        return {
            "Command": self.command,
            "CreatedAt": self.created_at,
            "ID": self.id,
            "Image": self.image,
            "Labels": self.labels,
            "LocalVolumes": str(self.local_volumes),
            "Mounts": self.mounts,
            "Names": self.names,
            "Networks": self.networks,
            "Platform": None,
            "Ports": self.ports,
            "RunningFor": self.created,
            "Size": self.size,
            "State": self.state,
            "Status": self.status,
        }


def _mounts(rec: ContainerRecord, trunc: bool) -> tuple[str, int]:
    names = []
    volumes = 0
    for m in rec.options.mounts:
        if m.type == "volume":
            volumes += 1
        elif m.type != "bind":
            continue
        names.append(truncate_ellipsis(m.source, 15) if trunc else m.source)
    return ",".join(names), volumes


def _networks(rec: ContainerRecord) -> str:
    mode = rec.options.net.mode
    return "" if mode.startswith("container:") else mode


def row(
    rec: ContainerRecord,
    now: float,
    trunc: bool = True,
    ports: str = "",
    size: str = "0B",
    paused: bool = False,
    health: str = "",
) -> PsRow:
    created = _since(rec.created, now)
    t = rfc3339_epoch(rec.created)
    labels = tuple(rec.labels.items())
    mounts, volumes = _mounts(rec, trunc)
    return PsRow(
        id=rec.short_id if trunc else rec.id,
        image=image_text(rec),
        command=command_text(rec, trunc),
        created=f"{human_duration(created or 0)} ago",
        status=status_text(rec, now, paused, health),
        ports=ports,
        names=rec.name,
        state="paused" if paused else "restarting" if rec.state.restarting else rec.state.status.value,
        created_at=utc_text(t) if t is not None else "",
        labels=",".join(f"{k}={v}" for k, v in labels),
        label_map=labels,
        mounts=mounts,
        local_volumes=volumes,
        networks=_networks(rec),
        size=size,
    )


def format_table(rows: list[PsRow], size: bool = False) -> str:
    """docker's default ps table, laid out by its tabwriter (minwidth 10, padding 3)."""
    from geedocker.format.tabwriter import align

    header = list(HEADER) + (["SIZE"] if size else [])
    lines = ["\t".join(header)]
    lines += ["\t".join(r.cells() + ([r.size] if size else [])) for r in rows]
    return align("\n".join(lines))


def format_template(rows: list[PsRow], template: str) -> str:
    """``--format``: ``json``, a Go template, or ``table`` and a Go template (geedocker.format)."""
    from geedocker.format import docker

    return docker.render(template, rows, HEADERS)
