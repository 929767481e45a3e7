"""The mount flags of create/run, parsed and validated: ``-v``/``--volume``, ``--mount`` and ``--tmpfs`` become
``MountSpec`` values, or raise ``UsageError``/``DaemonRefusal`` with docker's message; ``check_mount_points``
refuses two mounts on one destination. Apart from ``containers.flags`` (the single-value flags) because mounts
are a grammar of their own: modes, propagation, CSV fields, volume options.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from geedocker.containers.flags import parse_bytes
from geedocker.containers.options import MountSpec
from geedocker.errors import DaemonRefusal, UsageError


def parse_volume(spec: str) -> MountSpec:
    """``-v /host:/ctr[:opts]`` (a bind), ``-v NAME:/ctr[:opts]`` (a named volume), ``-v /ctr`` (anonymous)."""
    parts = spec.split(":")
    if len(parts) == 1 and spec.startswith("/"):
        if _is_root(spec):
            raise UsageError(f"invalid volume specification: '{spec}': {_root_destination('volume')}")
        return MountSpec("volume", os.path.normpath(spec), flag="-v")
    if len(parts) < 2 or len(parts) > 3 or not parts[0] or not parts[1]:
        raise UsageError(f"invalid volume specification: '{spec}'")
    src, dst = parts[0], parts[1]
    if not dst.startswith("/"):
        raise UsageError(f"invalid volume specification: '{spec}': the container path must be absolute")
    bind = src.startswith("/")
    ro = False
    nocopy = False
    opts: list[str] = []
    if len(parts) == 3:
        kinds = [_MODE_KINDS.get(o) for o in parts[2].split(",")]
        if None in kinds or len(set(kinds)) < len(kinds):  # docker's ValidMountMode: one of each kind at most
            raise DaemonRefusal(f"invalid mode: {parts[2]}")
        for o in parts[2].split(","):
            if o in ("ro", "rw"):
                ro = o == "ro"
            elif o == "nocopy":
                if bind:
                    raise DaemonRefusal(f"invalid volume specification: '{spec}': invalid mount config for type "
                                        '"bind": field VolumeOptions must not be specified')  # fmt: skip
                nocopy = True
            elif _MODE_KINDS[o] == "propagation":
                if not bind:
                    raise DaemonRefusal(f"invalid volume specification: '{spec}': invalid mount config for type "
                                        '"volume": field BindOptions must not be specified')  # fmt: skip
                opts.append(o)
            # z, Z (SELinux relabelling) and Docker Desktop's consistency hints: nothing to do here
    mode = parts[2] if len(parts) == 3 else ""
    if _is_root(dst):
        raise UsageError(f"invalid volume specification: '{spec}': {_root_destination('bind' if bind else 'volume')}")
    if bind:
        return MountSpec("bind", os.path.normpath(dst), os.path.normpath(src), ro, tuple(opts), mode=mode, flag="-v")
    _check_volume_name(src)
    return MountSpec("volume", os.path.normpath(dst), src, ro, (), mode=mode or "z", nocopy=nocopy, flag="-v")


# the kinds of a -v mode's words (docker's volume/mounts parser): each kind at most once
_MODE_KINDS = {"rw": "rw", "ro": "rw", "z": "label", "Z": "label", "nocopy": "copy", "consistent": "consistency",
               "cached": "consistency", "delegated": "consistency",
               **dict.fromkeys(("private", "rprivate", "shared", "rshared", "slave", "rslave"), "propagation")}


def _is_root(target: str) -> bool:
    """``/``, ``//``, ``/.``, ``/..``: a mount there would cover the container's whole root filesystem (and a
    bind of a host directory there would receive the container's files)."""
    return os.path.normpath("/" + target.lstrip("/")) == "/"


def _root_destination(typ: str) -> str:
    return f'invalid mount config for type "{typ}": invalid specification: destination can\'t be \'/\''


def _check_volume_name(name: str) -> None:
    from geedocker.errors import VolumeError
    from geedocker.volumes.store import validate_name  # here: only a named volume needs it

    try:
        validate_name(name)
    except VolumeError as e:
        raise UsageError(str(e)) from e


def check_mount_points(mounts: Iterable[MountSpec]) -> None:
    """One mount per destination (docker: 'Duplicate mount point')."""
    seen: set[str] = set()
    for m in mounts:
        if m.target in seen:
            raise UsageError(f"Duplicate mount point: {m.target}")
        seen.add(m.target)


def parse_mount(spec: str) -> MountSpec:
    """``--mount type=bind,source=/a,target=/b,readonly``, ``type=tmpfs,target=/t,tmpfs-size=64m`` or
    ``type=volume[,source=NAME],target=/v[,volume-nocopy][,volume-opt=K=V]...`` (fields as CSV, as docker)."""
    import csv  # docker reads --mount as one CSV record ("volume-opt=o=a,b" quoted)

    fields: dict[str, str] = {}
    volume_opts: list[tuple[str, str]] = []
    volume_labels: list[tuple[str, str]] = []
    for part in next(csv.reader([spec])):
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        if not k:
            continue
        if k in ("volume-opt", "volume-label"):
            vk, veq, vv = v.partition("=")
            if not vk or not veq:
                raise UsageError(f"invalid --mount {spec!r}: {k} needs KEY=VALUE")
            (volume_opts if k == "volume-opt" else volume_labels).append((vk, vv))
            continue
        fields[k] = v if eq else "true"
    typ = fields.pop("type", "volume")
    target = fields.pop("target", None) or fields.pop("destination", None) or fields.pop("dst", None)
    source = fields.pop("source", None) or fields.pop("src", None) or ""
    ro_text = fields.pop("readonly", None) or fields.pop("ro", None)
    ro = ro_text is not None and ro_text.lower() in ("true", "1", "")
    if not target or not target.startswith("/"):
        raise UsageError(f"invalid --mount {spec!r}: an absolute target is required")
    if _is_root(target):
        raise UsageError(_root_destination(typ))
    if typ != "volume" and (volume_opts or volume_labels):
        raise UsageError(f"invalid --mount {spec!r}: volume-opt and volume-label are for type=volume")
    if typ == "bind":
        if not source.startswith("/"):
            raise UsageError(f"invalid --mount {spec!r}: a bind mount needs an absolute source")
        opts = [fields.pop("bind-propagation")] if "bind-propagation" in fields else []
        if fields:
            raise UsageError(f"invalid --mount {spec!r}: unknown field(s) {', '.join(sorted(fields))}")
        return MountSpec("bind", os.path.normpath(target), os.path.normpath(source), ro, tuple(opts), flag="--mount")
    if typ == "tmpfs":
        opts = []
        if "tmpfs-size" in fields:
            opts.append(f"size={parse_bytes(fields.pop('tmpfs-size'), 'tmpfs-size')}")
        if "tmpfs-mode" in fields:
            mode = fields.pop("tmpfs-mode")
            if not re.fullmatch(r"[0-7]{1,4}", mode):
                raise UsageError(f"invalid tmpfs-mode {mode!r}")
            opts.append(f"mode={mode}")
        if fields or source:
            raise UsageError(f"invalid --mount {spec!r}: unexpected field(s) for tmpfs")
        return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", ro, tuple(opts), flag="--mount")
    if typ == "volume":
        nocopy_text = fields.pop("volume-nocopy", None)
        nocopy = nocopy_text is not None and nocopy_text.lower() in ("true", "1", "")
        driver = fields.pop("volume-driver", "local")
        if driver != "local":
            raise UsageError(f"invalid --mount {spec!r}: volume driver {driver!r} is not supported (local is)")
        if fields:
            raise UsageError(f"invalid --mount {spec!r}: unknown field(s) {', '.join(sorted(fields))}")
        if source:
            _check_volume_name(source)
        return MountSpec(
            "volume", os.path.normpath(target), source, ro, (), mode="z", nocopy=nocopy,
            volume_options=tuple(sorted(volume_opts)), volume_labels=tuple(sorted(volume_labels)), flag="--mount",
        )  # fmt: skip
    raise UsageError(f"mount type {typ!r} is not supported (bind, volume and tmpfs are)")


def parse_tmpfs(spec: str) -> MountSpec:
    """``--tmpfs /run[:size=64m,mode=755]``."""
    target, _, opts = spec.partition(":")
    if not target.startswith("/"):
        raise UsageError(f"invalid --tmpfs {spec!r}: the path must be absolute")
    if _is_root(target):
        raise UsageError("invalid specification: destination can't be '/'")
    options = tuple(o for o in opts.split(",") if o)
    for o in options:
        if not re.fullmatch(r"[a-z_]+(=[A-Za-z0-9.,:_-]+)?", o):
            raise UsageError(f"invalid tmpfs option {o!r}")
    return MountSpec("tmpfs", os.path.normpath(target), "tmpfs", "ro" in options, options, flag="--tmpfs")
