"""The runtime-spec ``config.json`` as frozen value classes (``geedocker.values``), validated at the edge.

``load(bundle)`` / ``Spec.from_json(obj)`` check types and refuse what this runtime does not honour
(AppArmor, SELinux, Intel RDT, personality, seccomp notify, ...) with a ``ContainerError`` naming the field.
Unknown properties are ignored, as the spec requires.

The sections live beside it: ``runtime.spec_process``, ``.spec_linux`` (with ``.spec_resources``), and the
readers they share with ``SpecError`` in ``runtime.spec_json``. This module holds the top level: the root,
hostname, ``mounts``, ``hooks``, annotations, and ``load``.
"""

from __future__ import annotations

import json
from pathlib import Path

from geedocker.runtime.spec_json import SpecError, as_bool, as_int, as_list, as_obj, as_str, as_strs, fail, refuse
from geedocker.runtime.spec_linux import Linux
from geedocker.runtime.spec_process import Process
from geedocker.values import field, value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

MAX_CONFIG_BYTES = 4 * 1024 * 1024


@value
class Mount:
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, o: Any, where: str) -> Mount:
        o = as_obj(o, where)
        dest = as_str(o.get("destination"), f"{where}.destination")
        if not dest.startswith("/"):
            raise fail(f"{where}.destination", f"{dest!r} is not an absolute path")
        refuse(o, "uidMappings", where, "idmapped mounts")
        refuse(o, "gidMappings", where, "idmapped mounts")
        return cls(dest, as_str(o.get("type"), f"{where}.type"), as_str(o.get("source"), f"{where}.source"),
                   as_strs(o.get("options"), f"{where}.options"))


@value
class Hook:
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None


@value
class Hooks:
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()

    @classmethod
    def from_json(cls, o: Any) -> Hooks:
        o = as_obj(o, "hooks")

        def hooks(key: str) -> tuple[Hook, ...]:
            out = []
            for i, h in enumerate(as_list(o.get(key), f"hooks.{key}")):
                w = f"hooks.{key}[{i}]"
                h = as_obj(h, w)
                path = as_str(h.get("path"), f"{w}.path")
                if not path.startswith("/"):
                    raise fail(f"{w}.path", f"{path!r} is not an absolute path")
                timeout = as_int(h.get("timeout"), f"{w}.timeout")
                if timeout is not None and timeout <= 0:
                    raise fail(f"{w}.timeout", "must be greater than zero")
                out.append(Hook(path, as_strs(h.get("args"), f"{w}.args"), as_strs(h.get("env"), f"{w}.env"), timeout))
            return tuple(out)

        # prestart is deprecated; runc runs it with createRuntime, so do we.
        return cls(hooks("prestart") + hooks("createRuntime"), hooks("createContainer"), hooks("startContainer"),
                   hooks("poststart"), hooks("poststop"))


@value
class Spec:
    oci_version: str
    root_path: str
    process: Process | None
    root_readonly: bool = False
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    hooks: Hooks = Hooks()
    linux: Linux = Linux()
    annotations: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def from_json(cls, o: Any) -> Spec:
        o = as_obj(o, "(top level)")
        version = as_str(o.get("ociVersion"), "ociVersion")
        if not version.startswith("1."):
            raise fail("ociVersion", f"unsupported version {version!r} (want 1.x)")
        root = as_obj(o.get("root"), "root")
        root_path = as_str(root.get("path"), "root.path")
        if not root_path:
            raise fail("root.path", "required")
        for key in ("windows", "solaris", "vm", "zos"):
            refuse(o, key, "(top level)", key)
        if "linux" not in o:
            raise fail("linux", "required (only Linux containers are supported)")
        ann = as_obj(o.get("annotations"), "annotations")
        for k, v in ann.items():
            if not isinstance(v, str):
                raise fail(f"annotations.{k}", "expected a string")
        linux = Linux.from_json(o.get("linux"))
        hostname = as_str(o.get("hostname"), "hostname")
        if hostname and linux.namespace("uts") is None:
            raise fail("hostname", "setting a hostname needs a uts namespace")
        return cls(
            oci_version=version,
            root_path=root_path,
            process=None if o.get("process") is None else Process.from_json(o.get("process")),
            root_readonly=as_bool(root.get("readonly"), "root.readonly"),
            hostname=hostname,
            domainname=as_str(o.get("domainname"), "domainname"),
            mounts=tuple(Mount.from_json(m, f"mounts[{i}]") for i, m in enumerate(as_list(o.get("mounts"), "mounts"))),
            hooks=Hooks.from_json(o.get("hooks")),
            linux=linux,
            annotations=tuple(sorted(ann.items())),
        )

    def rootfs(self, bundle: Path) -> Path:
        p = Path(self.root_path)
        return p if p.is_absolute() else bundle / p


def load(bundle: Path) -> tuple[Spec, dict[str, Any]]:
    """Read ``bundle/config.json``: the validated ``Spec`` and the raw object (kept for hooks' state)."""
    path = bundle / "config.json"
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as e:
        raise SpecError(f"{path}: no such file (is {bundle} an OCI bundle?)") from e
    except OSError as e:
        raise SpecError(f"reading {path}: {e.strerror}") from e
    if len(raw) > MAX_CONFIG_BYTES:
        raise SpecError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise SpecError(f"{path}: not valid JSON: {e}") from e
    spec = Spec.from_json(obj)
    if spec.process is None:
        raise fail("process", "required to create a container")
    return spec, obj
