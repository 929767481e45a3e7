"""The OCI runtime-spec ``config.json`` of a container: ``build_spec``, a pure function of the engine's plan
(``containers.plan``), what it resolved in the container's root filesystem and the network's attachment.

Its output follows runc's default spec (``runc spec``) with docker's changes: docker's 14 default
capabilities (the runtime's list), masked and read-only /proc paths, a private mount/pid/uts/ipc/cgroup
namespace, and the network namespace the attachment names (none of its own for ``--network host``).
"""

from __future__ import annotations

from collections.abc import Iterable

from geedocker.containers import seccomp
from geedocker.containers.options import MASKED_PATHS, READONLY_PATHS, MountSpec, RunOptions
from geedocker.containers.plan import INIT_DESTINATION, ContainerPlan, Resolved, with_home
from geedocker.runtime.cgroups.devices import DEFAULT_ALLOWED_DEVICES

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

    from geedocker.network.options import Attachment

OCI_VERSION = "1.0.2"



def build_spec(plan: ContainerPlan, resolved: Resolved, attachment: Attachment) -> dict[str, Any]:
    """The config.json of the container ``plan`` decided.

    With ``--init``, the plan's init binary is bind-mounted read-only at ``/sbin/docker-init`` and runs the
    command as its child (``docker-init -- ARGS``), as docker does. Mounts, in order: the defaults (/proc,
    /dev, /sys...), /etc/hostname, the network's (/etc/hosts, /etc/resolv.conf), the init, the user's.
    ``resolved.devices`` (the host's, for ``--privileged``, and ``--device``'s) go to ``linux.devices``; a
    ``--device`` is allowed in the cgroup with its permissions.
    """
    opts = plan.options
    user = resolved.user
    caps = list(plan.capabilities)
    args = list(plan.command)
    init_mounts: list[dict[str, Any]] = []
    if plan.init_path:
        args = [INIT_DESTINATION, "--", *args]
        ro_bind = ["rbind", "rprivate", "ro"]
        init_mounts.append({"destination": INIT_DESTINATION, "type": "bind", "source": plan.init_path,
                            "options": ro_bind})  # fmt: skip
    process: dict[str, Any] = {
        "terminal": opts.tty,
        "user": {"uid": user.uid, "gid": user.gid},
        "args": args,
        "env": with_home(plan.env, user),
        "cwd": plan.workdir,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": opts.no_new_privileges,
    }
    if user.additional_gids:
        process["user"]["additionalGids"] = list(user.additional_gids)
    if opts.ulimits:
        process["rlimits"] = [{"type": t, "soft": soft, "hard": hard} for t, soft, hard in opts.ulimits]
    linux: dict[str, Any] = {
        "namespaces": _namespaces(attachment.netns),
        "resources": _resources(opts),
        "cgroupsPath": plan.cgroups_path,
    }
    if opts.sysctls:
        linux["sysctl"] = dict(opts.sysctls)
    profile = seccomp.for_container(opts.security_opt, privileged=opts.privileged, capabilities=caps)
    if profile is not None:
        linux["seccomp"] = profile
    if not opts.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    if resolved.devices:
        linux["devices"] = [{k: v for k, v in d.items() if k != "access"} for d in resolved.devices]
        if not opts.privileged:  # --device: its node allowed in the cgroup with the permissions given
            linux["resources"]["devices"] += [
                {"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"], "access": d["access"]}
                for d in resolved.devices if "access" in d
            ]  # fmt: skip
    files = [_bind_file("/etc/hostname", resolved.hostname_file)] if resolved.hostname_file else []
    return {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": resolved.rootfs, "readonly": opts.read_only},
        "hostname": plan.hostname,
        "mounts": [*_default_mounts(opts), *files, *(dict(m) for m in attachment.mounts), *init_mounts,
                   *_user_mounts(resolved.mounts)],  # fmt: skip
        "linux": linux,
        "annotations": {
            "org.geedocker.container.id": plan.id,
            "org.geedocker.stop-signal": str(plan.stop_signal),
            **{k: v for k, v in opts.labels},
        },
    }


def _namespaces(netns: str | None) -> list[dict[str, Any]]:
    """The container's own pid, ipc, uts, mount and cgroup namespaces; the network one the attachment names
    (``None``: the host's, so no entry; ``""``: a new one; a path: that one)."""
    namespaces: list[dict[str, Any]] = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if netns is not None:
        entry: dict[str, Any] = {"type": "network"}
        if netns:
            entry["path"] = netns
        namespaces.insert(1, entry)
    return namespaces


def _bind_file(dest: str, src: str) -> dict[str, Any]:
    return {"destination": dest, "type": "bind", "source": src, "options": ["rbind", "rprivate"]}


def _default_mounts(opts: RunOptions) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={opts.shm_size or 64 << 20}"],
        },
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "rw" if opts.privileged else "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "rw" if opts.privileged else "ro"],
        },
    ]
    return mounts


def _user_mounts(mounts: Iterable[MountSpec]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in mounts:
        if m.type == "bind":
            propagation = [o for o in m.options if o.endswith(("private", "shared", "slave"))] or ["rprivate"]
            out.append(
                {
                    "destination": m.target,
                    "type": "bind",
                    "source": m.source,
                    "options": ["rbind", *propagation, "ro" if m.readonly else "rw"],
                }
            )
        else:
            opts_ = list(m.options) or []
            base = ["nosuid", "nodev", "noexec"]
            for o in ("exec", "suid", "dev"):
                if o in opts_:
                    base.remove("no" + o)
            out.append(
                {
                    "destination": m.target,
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": [*base, *(o for o in opts_ if o not in ("exec", "suid", "dev"))],
                }
            )
    return out


def _resources(opts: RunOptions) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if not opts.privileged:
        devices: list[dict[str, Any]] = [{"allow": False, "access": "rwm"}]
        for r in DEFAULT_ALLOWED_DEVICES:  # the runtime's list: what every container may use
            rule: dict[str, Any] = {"allow": True, "type": r.type, "access": r.access}
            if r.major is not None:
                rule["major"] = r.major
            if r.minor is not None:
                rule["minor"] = r.minor
            devices.append(rule)
        res["devices"] = devices
    else:
        res["devices"] = [{"allow": True, "access": "rwm"}]
    if opts.memory is not None:
        mem: dict[str, Any] = {"limit": opts.memory}
        if opts.memory_swap is not None:
            mem["swap"] = opts.memory_swap
        res["memory"] = mem
    if opts.nano_cpus is not None:
        period = 100_000
        res["cpu"] = {"quota": opts.nano_cpus * period // 1_000_000_000, "period": period}
    if opts.cpu_shares:
        res.setdefault("cpu", {})["shares"] = opts.cpu_shares
    if opts.pids_limit is not None and opts.pids_limit > 0:
        res["pids"] = {"limit": opts.pids_limit}
    return res
