"""The metadata instructions: how each changes the image's run config, as docker's builder does.

ENV and LABEL substitute every pair against the environment before the instruction; CMD, ENTRYPOINT and
HEALTHCHECK in shell form run through the stage's SHELL; ENTRYPOINT resets a CMD inherited from the base
image (not one set in this stage); EXPOSE takes ``port[/proto]`` and ranges; HEALTHCHECK's durations go
into the config in nanoseconds, as Go's ``time.Duration``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from geedocker.build.dockerfile import Instruction
from geedocker.build.shellwords import expand, split_words
from geedocker.containers.plan import merge_env
from geedocker.oci import ContainerConfig
from geedocker.values import replace

DEFAULT_SHELL = ("/bin/sh", "-c")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
          "h": 3_600_000_000_000}


def shell_of(cfg: ContainerConfig) -> tuple[str, ...]:
    sh = cfg.get("Shell")
    return tuple(sh) if sh else DEFAULT_SHELL


def command_of(ins: Instruction, cfg: ContainerConfig) -> tuple[str, ...]:
    """CMD/ENTRYPOINT/RUN's argv: exec form as is, shell form through the shell."""
    if ins.json:
        return tuple(ins.args)
    return (*shell_of(cfg), ins.args[0] if ins.args else "")


def pairs(ins: Instruction, env: Mapping[str, str], escape: str) -> list[tuple[str, str]]:
    out = []
    for item in ins.args:
        k, _, v = item.partition("=")
        out.append((expand(k, env, escape), expand(v, env, escape)))
    return out


def parse_duration(text: str, ins: Instruction, flag: str) -> int:
    """A Go duration (``30s``, ``1m30s``, ``500ms``) in nanoseconds."""
    if text in ("0", ""):
        return 0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text):
        raise ins.error(f"--{flag}: invalid duration {text!r}")
    return int(total)


def healthcheck(ins: Instruction, cfg: ContainerConfig) -> dict[str, object]:
    if ins.args == ("NONE",):
        return {"Test": ["NONE"]}
    test = ["CMD", *ins.args] if ins.json else ["CMD-SHELL", ins.args[0]]
    hc: dict[str, object] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                      ("start-interval", "StartInterval")):
        v = ins.flag(flag)
        if v:
            hc[key] = parse_duration(v, ins, flag)
    retries = ins.flag("retries")
    if retries:
        try:
            n = int(retries)
        except ValueError:
            raise ins.error(f"--retries: invalid number {retries!r}") from None
        if n < 0:
            raise ins.error("--retries cannot be negative")
        hc["Retries"] = n
    for k, _ in ins.flags:
        if k not in ("interval", "timeout", "start-period", "start-interval", "retries"):
            raise ins.error(f"Unknown flag: {k}")
    return hc


def expose(ports: list[str], ins: Instruction) -> list[str]:
    out = []
    for p in ports:
        num, _, proto = p.partition("/")
        proto = (proto or "tcp").lower()
        lo, _, hi = num.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ins.error(f"invalid port {p!r}") from None
        out += [f"{n}/{proto}" for n in range(a, b + 1)]
    return out


def apply(ins: Instruction, cfg: ContainerConfig, env: Mapping[str, str], escape: str,
          cmd_set: bool) -> tuple[ContainerConfig, bool]:
    """``ins`` applied to ``cfg``; also whether CMD has been set in this stage (ENTRYPOINT's rule)."""
    c = ins.cmd
    if c == "env":
        new = [f"{k}={v}" for k, v in pairs(ins, env, escape)]
        return replace(cfg, env=tuple(merge_env(cfg.env, new))), cmd_set
    if c == "label":
        labels = dict(cfg.labels)
        labels.update(pairs(ins, env, escape))
        return replace(cfg, labels=tuple(sorted(labels.items()))), cmd_set
    if c == "cmd":
        return replace(cfg, cmd=command_of(ins, cfg)), True
    if c == "entrypoint":
        ep = command_of(ins, cfg) if ins.json or ins.args[0] else ()
        cfg = replace(cfg, entrypoint=ep)
        return (cfg if cmd_set else replace(cfg, cmd=None)), cmd_set
    if c == "expose":
        words = split_words(" ".join(ins.args), env, escape)
        return replace(cfg, exposed_ports=tuple(sorted({*cfg.exposed_ports, *expose(words, ins)}))), cmd_set
    if c == "volume":
        vols = list(ins.args) if ins.json else split_words(" ".join(ins.args), env, escape)
        if ins.json:
            vols = [expand(v, env, escape) for v in vols]
        if any(not v.strip() for v in vols):
            raise ins.error("VOLUME specified can not be an empty string")
        return replace(cfg, volumes=tuple(sorted({*cfg.volumes, *vols}))), cmd_set
    if c == "user":
        return replace(cfg, user=expand(ins.args[0], env, escape)), cmd_set
    if c == "workdir":
        path = expand(ins.args[0], env, escape)
        return replace(cfg, working_dir=posixpath.normpath(posixpath.join(cfg.working_dir or "/", path))), cmd_set
    if c == "stopsignal":
        return replace(cfg, stop_signal=expand(ins.args[0], env, escape)), cmd_set
    if c == "healthcheck":
        return cfg.with_key("Healthcheck", healthcheck(ins, cfg)), cmd_set
    if c == "shell":
        if not ins.args:
            raise ins.error("SHELL requires at least one argument")
        return cfg.with_key("Shell", list(ins.args)), cmd_set
    if c == "onbuild":
        return cfg.with_key("OnBuild", [*(cfg.get("OnBuild") or []), ins.args[0]]), cmd_set
    return cfg, cmd_set
