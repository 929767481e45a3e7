"""Stages of a Dockerfile, the build args each may see, and which stages a target needs.

ARG scoping, as the reference says: an ARG before the first FROM is a global, usable only in FROM lines
(and brought into a stage by an ``ARG NAME`` without a value there); an ARG inside a stage is visible from
its line to the end of that stage, to substitution and to RUN's environment (not to the image config);
ENV wins over an ARG of the same name. A ``--build-arg`` overrides the default of the ARG it names. The
proxy args (``HTTP_PROXY``...) need no ARG; the platform args (``TARGETPLATFORM``, ``BUILDARCH``...) are
globals set by the builder.
"""

from __future__ import annotations

from collections.abc import Mapping

from geedocker.build.dockerfile import Dockerfile, DockerfileError, Instruction
from geedocker.build.shellwords import expand
from geedocker.oci import Platform
from geedocker.values import value

PROXY_ARGS = frozenset({
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
    "ALL_PROXY", "all_proxy",
})  # fmt: skip


@value
class Stage:
    index: int
    name: str  # the AS name, lower case; "" if none
    image: str  # FROM's image argument, unexpanded
    platform: str  # FROM --platform, unexpanded
    first: Instruction
    instructions: tuple[Instruction, ...]


def platform_args(target: Platform, build: Platform) -> dict[str, str]:
    out = {}
    for prefix, p in (("TARGET", target), ("BUILD", build)):
        out[f"{prefix}PLATFORM"] = str(p)
        out[f"{prefix}OS"] = p.os
        out[f"{prefix}ARCH"] = p.architecture
        out[f"{prefix}VARIANT"] = p.variant
    return out


def split_arg(word: str, env: Mapping[str, str], escape: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME=default`` (the default substituted)."""
    name, eq, default = word.partition("=")
    name = expand(name, env, escape)
    return name, (expand(default, env, escape) if eq else None)


def split_stages(df: Dockerfile) -> tuple[list[Instruction], list[Stage]]:
    """The ARGs before the first FROM, and the stages."""
    meta: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    first: Instruction | None = None

    def close() -> None:
        if first is not None and current is not None:
            words = first.args
            name = ""
            if len(words) == 3 and words[1].lower() == "as":
                name = words[2].lower()
            elif len(words) != 1:
                raise first.error("FROM requires either one or three arguments (image [AS name])")
            stages.append(Stage(len(stages), name, words[0], first.flag("platform") or "", first, tuple(current)))

    for ins in df.instructions:
        if ins.cmd == "from":
            close()
            first, current = ins, []
        elif current is None:
            if ins.cmd != "arg":
                raise DockerfileError(f"Dockerfile line {ins.line}: no build stage in current context "
                                      f"({ins.cmd.upper()} before the first FROM)")
            meta.append(ins)
        else:
            current.append(ins)
    close()
    if not stages:
        raise DockerfileError("the Dockerfile has no FROM instruction")
    names = [s.name for s in stages if s.name]
    for n in names:
        if names.count(n) > 1:
            raise DockerfileError(f"duplicate stage name {n!r}")
    return meta, stages


def find_stage(stages: list[Stage], ref: str, before: int) -> Stage | None:
    """The stage ``ref`` names (its AS name or its index), among those before ``before``."""
    for s in stages[:before]:
        if s.name and s.name == ref.lower():
            return s
    if ref.isdigit() and int(ref) < before:
        return stages[int(ref)]
    return None


def declare_arg(word: str, env: Mapping[str, str], escape: str, build_args: Mapping[str, str],
                meta_env: Mapping[str, str]) -> tuple[str, str | None]:
    """An ``ARG`` word inside a stage: (name, value). A ``--build-arg`` wins over the default; ``ARG NAME``
    without one takes the global of that name (or the platform arg); None: none of those (the arg keeps the
    value it has in the stage, else is "")."""
    name, default = split_arg(word, env, escape)
    if name in build_args:
        return name, build_args[name]
    if default is not None:
        return name, default
    return name, meta_env.get(name)


def dependencies(stage: Stage, stages: list[Stage], meta_env: Mapping[str, str], escape: str,
                 build_args: Mapping[str, str] | None = None) -> set[int]:
    """The stages ``stage`` reads from: its FROM, ``COPY --from``, ``RUN --mount=...,from=``. A ``--from`` is
    substituted as the builder does when it runs the step (the stage's ARGs and ENVs before it, an ENV of a
    parent stage included), so a stage named through an ARG is waited for like one named plainly."""
    refs, _ = _walk(stage, stages, meta_env, escape, build_args or {})
    out = set()
    for r in refs:
        s = find_stage(stages, r, stage.index)
        if s is not None:
            out.add(s.index)
    return out


def _walk(stage: Stage, stages: list[Stage], meta_env: Mapping[str, str], escape: str,
          build_args: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """(the stage refs ``stage`` names, substituted; the ENV it ends with). An image's own ENV is not known
    before it is pulled: only the ENVs of the Dockerfile's stages are followed."""
    from geedocker.build.config import pairs

    image = expand(stage.image, meta_env, escape)
    refs = [image]
    parent = find_stage(stages, image, stage.index)
    envs = _walk(parent, stages, meta_env, escape, build_args)[1] if parent is not None else {}
    args: dict[str, str] = {}
    for ins in stage.instructions:
        scope = {**args, **envs}  # as ``StageState.env``: ENV wins over an ARG
        if ins.cmd == "arg":
            for word in ins.args:
                name, val = declare_arg(word, {**args, **envs}, escape, build_args, meta_env)
                args[name] = val if val is not None else args.get(name, "")
        elif ins.cmd == "env":
            envs.update(pairs(ins, scope, escape))
        elif ins.cmd in ("copy", "add") and ins.flag("from"):
            refs.append(expand(ins.flag("from") or "", scope, escape))
        elif ins.cmd == "run":
            for m in ins.flag_all("mount"):
                for kv in m.split(","):
                    k, _, v = kv.partition("=")
                    if k.strip() == "from":
                        refs.append(expand(v.strip(), scope, escape))
    return refs, envs


def needed(target: Stage, stages: list[Stage], meta_env: Mapping[str, str], escape: str,
           build_args: Mapping[str, str] | None = None) -> set[int]:
    """``target`` and every stage it depends on, directly or not."""
    want = {target.index}
    todo = [target]
    while todo:
        s = todo.pop()
        for d in dependencies(s, stages, meta_env, escape, build_args):
            if d not in want:
                want.add(d)
                todo.append(stages[d])
    return want
