"""RUN: a command in a container of geedocker's own engine on an overlay of the stage, one layer.

The container (``containers.create``, ``containers.supervisor``) has the stage's env, user, working dir and
shell, the build args in scope in its environment only, the network ``--network`` says, and ``/etc/hosts``,
``/etc/resolv.conf`` and ``/etc/hostname`` mounted; its upper dir becomes the layer (``images.layerdiff``, mount
targets left out) and the container is removed, whether the command succeeded or not. ``RUN --mount`` adds
secrets (read-only, never in a layer), cache dirs (``$ROOT/buildcache/mounts/<id>``, kept between builds) and
bind mounts of the context or another stage.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.archive.writer import LayerBlob
from geedocker.build.commit import commit, layer_of, stage_key
from geedocker.build.config import command_of
from geedocker.build.context import Tree
from geedocker.build.copier import Copier, CopySpec, resolve_sources
from geedocker.build.dockerfile import HEREDOC_WORD, Instruction
from geedocker.build.shellwords import expand
from geedocker.build.stagestate import built
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError
from geedocker.values import replace

if TYPE_CHECKING:
    from geedocker.build.builder import Builder
    from geedocker.build.stages import Stage
    from geedocker.build.stagestate import StageState

RUN_FLAGS = {"mount", "network", "security"}

SCRIPTS = "/dev/pipes"  # where a RUN heredoc with a shebang is put to run (as BuildKit): under /dev, never committed


def _script(ins: Instruction) -> tuple[str, str] | None:
    """A RUN that is one heredoc starting with ``#!``: (its name, its text), run as a script, as BuildKit does."""
    words = ins.rest.split()
    if (ins.json or len(ins.heredocs) != 1 or len(words) != 1 or not HEREDOC_WORD.match(words[0])
            or not ins.heredocs[0].content.startswith("#!")):
        return None
    return ins.heredocs[0].name, ins.heredocs[0].content


def _run_argv(state: StageState, ins: Instruction) -> tuple[str, ...]:
    script = _script(ins)
    if script is not None:
        return (f"{SCRIPTS}/{script[0]}",)
    if ins.heredocs and not ins.json:
        rest = ins.rest
        words = rest.split()
        if len(ins.heredocs) == 1 and len(words) == 1 and HEREDOC_WORD.match(words[0]):
            return command_of(replace(ins, args=(ins.heredocs[0].content,)), state.config)
        body = rest + "\n" + "".join(f"{h.content}{h.name}\n" for h in ins.heredocs)
        return command_of(replace(ins, args=(body,)), state.config)
    return command_of(ins, state.config)


def _mounts(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
            results: Mapping[int, StageState]) -> list[object]:
    from geedocker.build.stages import find_stage
    from geedocker.containers.options import MountSpec

    out: list[object] = []
    env = state.env()
    for text in ins.flag_all("mount"):
        opts: dict[str, str] = {}
        for kv in text.split(","):
            k, eq, v = kv.partition("=")
            opts[k.strip()] = expand(v.strip(), env, b.escape) if eq else "true"
        typ = opts.get("type", "bind")
        target = opts.get("target") or opts.get("dst") or opts.get("destination") or ""
        if typ == "secret":
            sid = opts.get("id") or os.path.basename(target)
            src = dict(b.opts.secrets).get(sid)
            if src is None:
                if opts.get("required") in ("true", "1"):
                    raise ins.error(f"secret {sid} not found (pass --secret id={sid},src=FILE)")
                continue
            out.append(MountSpec("bind", target or f"/run/secrets/{sid}", src, readonly=True))
        elif typ == "cache":
            if not target:
                raise ins.error("--mount type=cache needs a target")
            cid = re.sub(r"[^A-Za-z0-9_.-]", "_", opts.get("id") or target)
            d = b.layout.root / "buildcache" / "mounts" / cid
            d.mkdir(parents=True, exist_ok=True)
            out.append(MountSpec("bind", target, str(d), readonly=opts.get("readonly") in ("true", "1")))
        elif typ == "bind":
            if not target:
                raise ins.error("--mount type=bind needs a target")
            frm = opts.get("from", "")
            if frm:
                assert b.ws is not None
                st = find_stage(stages, frm, state.stage.index)
                root = b.ws.readonly(built(results, st, ins).lowers if st is not None
                                     else b.layer_dirs_of_image(frm, ins))
                tree = Tree(root)
            else:
                if b.opts.context is None:
                    raise ins.error("--mount type=bind without from= needs a build context")
                tree = Tree(b.opts.context, b.ignore)
            found = resolve_sources(tree, [opts.get("source") or opts.get("src") or "."])[0]
            rw = opts.get("rw") in ("true", "1") or opts.get("readwrite") in ("true", "1")
            out.append(MountSpec("bind", target, str(found.path), readonly=not rw))
        elif typ == "tmpfs":
            out.append(MountSpec("tmpfs", target))
        else:
            raise ins.error(f"--mount type={typ} is not supported")
    return out


def _seeded_volume(b: Builder, state: StageState, path: str) -> Path:
    """A fresh volume for ``path`` holding what the stage has there (docker copies it into the volume)."""
    assert b.ws is not None
    vol = b.ws.new_dir("volume")
    root = b.ws.readonly(state.lowers)
    tree = Tree(root)
    found = tree.match(path) if os.path.isdir(root / path.lstrip("/")) else []
    if found:
        src = found[0]
        cp = Copier(vol, CopySpec(keep_owners=True))
        st = os.stat(src.path)
        os.chown(vol, st.st_uid, st.st_gid)
        os.chmod(vol, st.st_mode & 0o7777)
        for name, p, est in tree.walk(src):
            if name:
                cp.put(vol, name, p, est)
        cp.finish()
    b.ws.unmount(root)
    return vol


def run(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
        results: Mapping[int, StageState]) -> None:
    from geedocker.build.errors import Cancelled, RunFailed
    from geedocker.containers import removal, supervisor
    from geedocker.containers.commit import runtime_paths
    from geedocker.containers.create import RootfsSource, create
    from geedocker.containers.options import MountSpec, RunOptions
    from geedocker.containers.plan import merge_env
    from geedocker.network.options import NetworkOptions

    argv = _run_argv(state, ins)
    args = b.run_args(state)
    env_keys = {e.partition("=")[0] for e in state.config.env}
    arg_env = [f"{k}={v}" for k, v in sorted(args.items()) if k not in env_keys]
    network = ins.flag("network") or b.opts.network
    mode = {"default": "bridge", "": "bridge"}.get(network, network)
    if mode not in ("bridge", "none", "host"):
        raise ins.error(f"--network={network}: expected default, none or host")
    mounts = _mounts(b, state, ins, stages, results)
    mount_key = [m.to_json() for m in mounts if getattr(m, "type", "") != "bind" or "buildcache" not in m.source]  # type: ignore[attr-defined]
    script = _script(ins)
    if script is not None:  # the script's text is in the key, not the path of its copy in the workspace
        assert b.ws is not None
        path = b.ws.new_dir("script") / script[0]
        path.write_text(script[1])
        os.chmod(path, 0o755)
        mounts.append(MountSpec("bind", f"{SCRIPTS}/{script[0]}", str(path), readonly=True))
        mount_key.append({"script": script[1]})
    # As docker's builder: a VOLUME declared before a RUN is a fresh volume there, so what RUN writes under it
    # is not kept; its directory is made in the layer.
    volumes = list(state.config.volumes)
    assert b.ws is not None
    mounts += [MountSpec("bind", v, str(_seeded_volume(b, state, v))) for v in volumes]
    key = stage_key(state, "RUN", list(argv), arg_env, mount_key)

    def make() -> LayerBlob | None:
        from geedocker.containers.images import empty_layer

        lowers = state.lowers
        source = RootfsSource(
            lower_dirs=tuple(lowers) or (empty_layer(b.layout),),
            config=replace(state.config, entrypoint=None, cmd=None, env=tuple(merge_env(state.config.env))),
        )
        opts = RunOptions(
            command=argv, entrypoint="", env=tuple(arg_env), user=state.config.user,
            workdir=state.config.working_dir, mounts=tuple(mounts),  # type: ignore[arg-type]
            net=NetworkOptions(mode=mode, add_hosts=b.opts.add_hosts), shm_size=b.opts.shm_size,
            ulimits=b.opts.ulimits,
        )
        kept: list[bytes] = []  # with -q the output is shown only if the command fails

        def output(stream: str, data: bytes) -> None:
            if b.opts.quiet:
                kept.append(data)
            else:
                b.log(data, stream)

        rec = create(b.layout, source, opts, starting=True)
        b.ran_in(rec.id)
        try:
            with b.lock:
                b.running[rec.id] = rec.runtime
            if b.cancelled.is_set():
                raise Cancelled("cancelled")
            try:
                code = supervisor.run_captured(b.layout, rec, output)
            finally:
                with b.lock:
                    b.running.pop(rec.id, None)
            if code != 0:
                if kept:
                    b.show_failed_output(b"".join(kept))
                raise RunFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code)
            store = Engine.of(b.layout).containers
            made = [p for p in runtime_paths(store.bundle(rec.id)) if p not in volumes]
            return layer_of(b, store.dir(rec.id) / "upper", lowers, made)
        finally:
            with contextlib.suppress(GeeDockerError):
                removal.remove(b.layout, rec.id, force=True)

    shown = " ".join(argv)
    prefix = f"|{len(arg_env)} {' '.join(arg_env)} " if arg_env else ""
    commit(b, state, key, f"{prefix}{shown}", make)

