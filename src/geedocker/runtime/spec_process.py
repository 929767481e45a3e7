"""The spec's ``process`` section: ``Process`` (args, cwd, env, terminal, user, capabilities, rlimits, ...) and
its parts, read from JSON by ``Process.from_json``.

Separate from the rest of the spec because ``exec`` reads a ``process`` alone (``--process``), and the process
setup (``runtime.process``) and the engine's rlimit names (``RLIMITS``) need only this section.
"""

from __future__ import annotations

from geedocker.runtime.spec_json import as_bool, as_int, as_list, as_obj, as_str, as_strs, fail, refuse, req_int
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any

RLIMITS = (
    "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS", "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
)  # fmt: skip


@value
class Rlimit:
    type: str
    hard: int
    soft: int


@value
class Capabilities:
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


@value
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()


@value
class Process:
    args: tuple[str, ...]
    cwd: str = "/"
    env: tuple[str, ...] = ()
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    user: User = User()
    capabilities: Capabilities | None = None
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None

    @classmethod
    def from_json(cls, o: Any, where: str = "process") -> Process:
        o = as_obj(o, where)
        for key, what in (("apparmorProfile", "AppArmor"), ("selinuxLabel", "SELinux"), ("ioPriority", "ioPriority"),
                          ("scheduler", "scheduler"), ("execCPUAffinity", "execCPUAffinity"),
                          ("commandLine", "commandLine (Windows)")):
            refuse(o, key, where, what)
        args = as_strs(o.get("args"), f"{where}.args")
        if not args:
            raise fail(f"{where}.args", "at least one argument is required")
        cwd = as_str(o.get("cwd"), f"{where}.cwd", "/")
        if not cwd.startswith("/"):
            raise fail(f"{where}.cwd", f"{cwd!r} is not an absolute path")
        u = as_obj(o.get("user"), f"{where}.user")
        refuse(u, "username", f"{where}.user", "user.username (Windows)")
        user = User(
            uid=as_int(u.get("uid"), f"{where}.user.uid", 0) or 0,
            gid=as_int(u.get("gid"), f"{where}.user.gid", 0) or 0,
            umask=as_int(u.get("umask"), f"{where}.user.umask"),
            additional_gids=tuple(
                req_int(g, f"{where}.user.additionalGids[{i}]")
                for i, g in enumerate(as_list(u.get("additionalGids"), f"{where}.user.additionalGids"))
            ),
        )
        caps: Capabilities | None = None
        if o.get("capabilities") is not None:
            c = as_obj(o["capabilities"], f"{where}.capabilities")
            caps = Capabilities(**{k: as_strs(c.get(k), f"{where}.capabilities.{k}")
                                   for k in ("bounding", "effective", "inheritable", "permitted", "ambient")})
        rlimits = []
        for i, r in enumerate(as_list(o.get("rlimits"), f"{where}.rlimits")):
            w = f"{where}.rlimits[{i}]"
            r = as_obj(r, w)
            t = as_str(r.get("type"), f"{w}.type")
            if t not in RLIMITS:
                raise fail(f"{w}.type", f"unknown rlimit {t!r}")
            rlimits.append(Rlimit(t, req_int(r.get("hard"), f"{w}.hard"), req_int(r.get("soft"), f"{w}.soft")))
        size = None
        if o.get("consoleSize") is not None:
            cs = as_obj(o["consoleSize"], f"{where}.consoleSize")
            size = (req_int(cs.get("height"), f"{where}.consoleSize.height"),
                    req_int(cs.get("width"), f"{where}.consoleSize.width"))
        return cls(
            args=args,
            cwd=cwd,
            env=as_strs(o.get("env"), f"{where}.env"),
            terminal=as_bool(o.get("terminal"), f"{where}.terminal"),
            console_size=size,
            user=user,
            capabilities=caps,
            rlimits=tuple(rlimits),
            no_new_privileges=as_bool(o.get("noNewPrivileges"), f"{where}.noNewPrivileges"),
            oom_score_adj=as_int(o.get("oomScoreAdj"), f"{where}.oomScoreAdj"),
        )

    def env_dict(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.env:
            k, _, v = e.partition("=")
            out[k] = v
        return out
