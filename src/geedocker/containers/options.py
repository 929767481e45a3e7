"""Docker's create/run options as values: ``RunOptions`` (every flag, parsed and validated) and ``MountSpec``.

The flags' text becomes these values in ``containers.flags`` (the mounts' in ``.mountflags``, the logging
options' in ``.logflags``); the engine decides from them once (``containers.plan``) and the OCI spec is built
from that decision (``containers.spec``). A record keeps its options (``to_json``/``from_json``), so ``inspect``
and a restart see what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from geedocker.network.options import NetworkOptions
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any


# What an unprivileged container gets masked and read-only (docker's defaults, and what inspect shows in its
# HostConfig): here, with the options, so that reading them costs no import of the spec's machinery.
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)  # fmt: skip
READONLY_PATHS: tuple[str, ...] = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


@value
class MountSpec:
    """A mount asked for with -v, --mount, --tmpfs, --volumes-from or an image's VOLUME.

    For ``type == "volume"`` the source is the volume's name ("" for a new anonymous one, named at create)."""

    type: str  # "bind", "tmpfs" or "volume"
    target: str
    source: str = ""
    readonly: bool = False
    options: tuple[str, ...] = ()
    mode: str = ""  # docker's Mode in inspect's Mounts ("z", "ro", ...)
    nocopy: bool = False  # volume: do not seed a new volume with the image's content
    volume_options: tuple[tuple[str, str], ...] = ()  # volume: --mount volume-opt=K=V (driver options)
    volume_labels: tuple[tuple[str, str], ...] = ()  # volume: --mount volume-label=K=V
    # the flag that asked for it ("-v", "--mount", "--tmpfs"; "" for an image's VOLUME or --volumes-from): inspect
    # shows each as docker does, in HostConfig.Binds, HostConfig.Mounts or HostConfig.Tmpfs (where it came from,
    # not what it is: two mounts equal but for it are the same mount)
    flag: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "Type": self.type,
            "Source": self.source,
            "Destination": self.target,
            "RW": not self.readonly,
            "Options": list(self.options),
        }
        if self.mode:
            d["Mode"] = self.mode
        if self.nocopy:
            d["NoCopy"] = True
        if self.volume_options:
            d["VolumeOptions"] = dict(self.volume_options)
        if self.volume_labels:
            d["VolumeLabels"] = dict(self.volume_labels)
        if self.flag:
            d["Flag"] = self.flag
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> MountSpec:
        return cls(
            type=str(d["Type"]),
            target=str(d["Destination"]),
            source=str(d.get("Source", "")),
            readonly=not d.get("RW", True),
            options=tuple(str(x) for x in d.get("Options", ())),
            mode=str(d.get("Mode", "")),
            nocopy=bool(d.get("NoCopy", False)),
            volume_options=tuple(sorted((d.get("VolumeOptions") or {}).items())),
            volume_labels=tuple(sorted((d.get("VolumeLabels") or {}).items())),
            flag=str(d.get("Flag", "")),
        )


@value
class RunOptions:
    """Docker's create/run flags, parsed and validated (see ``geedocker.cli.create`` for the flags)."""

    name: str = ""
    command: tuple[str, ...] = ()  # the arguments after the image: they replace its Cmd
    entrypoint: str | None = None  # --entrypoint; "" resets the image's entrypoint
    env: tuple[str, ...] = ()  # KEY=VALUE from --env-file then -e, in order
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    read_only: bool = False
    mounts: tuple[MountSpec, ...] = ()
    volumes_from: tuple[str, ...] = ()  # --volumes-from CONTAINER[:ro|rw] (their mounts are in ``mounts`` once made)
    memory: int | None = None  # bytes
    memory_swap: int | None = None  # bytes, memory + swap; -1 unlimited
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    health: str = ""  # --health-* / --no-healthcheck: a JSON Healthcheck that overrides the image's
    restart: str = ""  # --restart: no, always, unless-stopped, on-failure[:N] (see geedocker.containers.restart)
    init: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False
    rm: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()  # names or gids, resolved in the image's /etc/group
    ulimits: tuple[tuple[str, int, int], ...] = ()  # (RLIMIT_NAME, soft, hard)
    sysctls: tuple[tuple[str, str], ...] = ()
    shm_size: int | None = None
    privileged: bool = False
    no_new_privileges: bool = False
    security_opt: tuple[str, ...] = ()  # as docker's HostConfig.SecurityOpt (a profile file as its JSON)
    labels: tuple[tuple[str, str], ...] = field(default=())
    net: NetworkOptions = field(default_factory=NetworkOptions)  # -p, -P, --ip, --dns... (geedocker.network)
    devices: tuple[tuple[str, str, str], ...] = ()  # --device: (host path, container path, cgroup permissions)
    log_driver: str = ""  # --log-driver: json-file (""), local or none
    log_opts: tuple[tuple[str, str], ...] = ()  # --log-opt K=V, checked against the driver's keys
    cidfile: str = ""  # --cidfile: where the id was written (docker's HostConfig.ContainerIDFile)
    expose: tuple[str, ...] = ()  # --expose, as "PORT/PROTO" (added to the image's ExposedPorts; -P publishes them)
    attach: tuple[str, ...] = ()  # -a: the streams run attaches ("stdin", "stdout", "stderr"); () is docker's default

    @property
    def network(self) -> str:
        """``--network``: bridge, none, host, container:NAME or a network's name (one truth: ``net.mode``)."""
        return self.net.mode

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": list(self.command),
            "entrypoint": self.entrypoint,
            "env": list(self.env),
            "workdir": self.workdir,
            "user": self.user,
            "hostname": self.hostname,
            "read_only": self.read_only,
            "mounts": [m.to_json() for m in self.mounts],
            "volumes_from": list(self.volumes_from),
            "memory": self.memory,
            "memory_swap": self.memory_swap,
            "nano_cpus": self.nano_cpus,
            "cpu_shares": self.cpu_shares,
            "restart": self.restart,
            "health": self.health,
            "pids_limit": self.pids_limit,
            "init": self.init,
            "stop_signal": self.stop_signal,
            "stop_timeout": self.stop_timeout,
            "tty": self.tty,
            "interactive": self.interactive,
            "detach": self.detach,
            "rm": self.rm,
            "cap_add": list(self.cap_add),
            "cap_drop": list(self.cap_drop),
            "group_add": list(self.group_add),
            "ulimits": [list(u) for u in self.ulimits],
            "sysctls": dict(self.sysctls),
            "shm_size": self.shm_size,
            "privileged": self.privileged,
            "no_new_privileges": self.no_new_privileges,
            "security_opt": list(self.security_opt),
            "labels": dict(self.labels),
            "net": self.net.to_json(),
            "devices": [list(d) for d in self.devices],
            "log_driver": self.log_driver,
            "log_opts": dict(self.log_opts),
            "cidfile": self.cidfile,
            "expose": list(self.expose),
            "attach": list(self.attach),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunOptions:
        return cls(
            name=str(d.get("name", "")),
            command=tuple(d.get("command", ())),
            entrypoint=d.get("entrypoint"),
            env=tuple(d.get("env", ())),
            workdir=str(d.get("workdir", "")),
            user=str(d.get("user", "")),
            hostname=str(d.get("hostname", "")),
            read_only=bool(d.get("read_only", False)),
            mounts=tuple(MountSpec.from_json(m) for m in d.get("mounts", ())),
            volumes_from=tuple(d.get("volumes_from", ())),
            memory=d.get("memory"),
            memory_swap=d.get("memory_swap"),
            nano_cpus=d.get("nano_cpus"),
            cpu_shares=d.get("cpu_shares"),
            restart=str(d.get("restart", "")),
            health=str(d.get("health", "")),
            pids_limit=d.get("pids_limit"),
            init=bool(d.get("init", False)),
            stop_signal=str(d.get("stop_signal", "")),
            stop_timeout=d.get("stop_timeout"),
            tty=bool(d.get("tty", False)),
            interactive=bool(d.get("interactive", False)),
            detach=bool(d.get("detach", False)),
            rm=bool(d.get("rm", False)),
            cap_add=tuple(d.get("cap_add", ())),
            cap_drop=tuple(d.get("cap_drop", ())),
            group_add=tuple(d.get("group_add", ())),
            ulimits=tuple((str(u[0]), int(u[1]), int(u[2])) for u in d.get("ulimits", ())),
            sysctls=tuple(sorted((d.get("sysctls") or {}).items())),
            shm_size=d.get("shm_size"),
            privileged=bool(d.get("privileged", False)),
            no_new_privileges=bool(d.get("no_new_privileges", False)),
            security_opt=tuple(d.get("security_opt", ())),
            labels=tuple(sorted((d.get("labels") or {}).items())),
            net=NetworkOptions.from_json(d.get("net")),
            devices=tuple((str(x[0]), str(x[1]), str(x[2])) for x in d.get("devices", ())),
            log_driver=str(d.get("log_driver", "")),
            log_opts=tuple(sorted((d.get("log_opts") or {}).items())),
            cidfile=str(d.get("cidfile", "")),
            expose=tuple(str(x) for x in d.get("expose", ())),
            attach=tuple(str(x) for x in d.get("attach", ())),
        )
