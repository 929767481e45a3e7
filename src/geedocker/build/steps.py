"""The layer steps: RUN, COPY, ADD and WORKDIR, each one layer, through the build cache.

RUN runs in a container of geedocker's own engine (``containers.create``, ``containers.supervisor``) on an
overlay of the stage's layers, with the stage's env, user, working dir and shell, the build args in scope in
its environment only, the network ``--network`` says, and ``/etc/hosts``, ``/etc/resolv.conf`` and ``/etc/hostname``
mounted; its upper dir becomes the layer (``images.layerdiff``, mount targets left out) and the container
is removed, whether the command succeeded or not. ``RUN --mount`` adds secrets (read-only, never in a
layer), cache dirs (``$ROOT/buildcache/mounts/<id>``, kept between builds) and bind mounts of the context
or another stage.

COPY and ADD write into an overlay of the stage mounted by the builder (``workspace``), and WORKDIR makes
its directory the same way; the upper dir becomes the layer.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.archive.writer import LayerBlob
from geedocker.build.cache import step_key
from geedocker.build.config import command_of
from geedocker.build.context import Source, Tree, digest_sources
from geedocker.build.copier import Copier, CopySpec, resolve_sources
from geedocker.build.dockerfile import Instruction
from geedocker.build.dockerignore import Ignore
from geedocker.build.shellwords import expand
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError
from geedocker.images.compose import now, register_layer
from geedocker.images.layerdiff import UpperDiff, write_layer
from geedocker.values import replace

if TYPE_CHECKING:
    from geedocker.build.builder import Builder, StageState
    from geedocker.build.stages import Stage

_COPY_FLAGS = {"from", "chown", "chmod", "link", "parents", "exclude"}
_ADD_FLAGS = {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}
_RUN_FLAGS = {"mount", "network", "security"}
_HEREDOC_WORD = re.compile(r"^<<-?[\"']?([a-zA-Z0-9_./-]+)[\"']?$")


def layer_step(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
               results: Mapping[int, StageState]) -> None:
    allowed = {"run": _RUN_FLAGS, "copy": _COPY_FLAGS, "add": _ADD_FLAGS, "workdir": set()}[ins.cmd]
    for k, _ in ins.flags:
        if k not in allowed:
            raise ins.error(f"Unknown flag: {k}")
    if ins.cmd == "run":
        _run(b, state, ins, stages, results)
    elif ins.cmd == "workdir":
        _workdir(b, state, ins)
    else:
        _copy(b, state, ins, stages, results)


def _commit(b: Builder, state: StageState, key: str, created_by: str,
            make: Callable[[], LayerBlob | None], rebase: bool = False) -> None:
    """Use the cached result of ``key``, or ``make`` it and remember it; then add it to the stage.

    A step that changed nothing adds no layer, only an ``empty_layer`` history entry (as docker's builder).
    ``rebase``: the layer does not depend on its parent (``COPY --link``): a cached one found over another
    parent is unpacked over this one."""
    found, blob = (False, None) if b.opts.no_cache else b.cache.get(key, any_parent=rebase)
    if found:
        b.cached()
        if rebase and blob is not None:
            register_layer(b.layout, state.base.diff_ids, blob)
    else:
        blob = make()
        chain = register_layer(b.layout, state.base.diff_ids, blob) if blob is not None else None
        b.cache.put(key, blob, chain)
    state.base = state.base.with_layer(blob, {"created": now(), "created_by": created_by})


def _key(state: StageState, *parts: object) -> str:
    return step_key([state.chain, state.config.to_json(), *parts])


def _layer_of(b: Builder, upper: Path, lowers: list[Path], runtime_paths: Sequence[str] = ()) -> LayerBlob | None:
    diff = UpperDiff(upper, lowers, runtime_paths)
    if diff.is_empty():
        return None
    return write_layer(diff, Engine.of(b.layout).blobs.writer())


# --- WORKDIR -----------------------------------------------------------------------------------
def mkdirs_step(b: Builder, state: StageState, paths: list[str], created_by: str) -> None:
    """WORKDIR makes its directory when missing, owned by root (as docker's builder): a layer, or none when it
    exists. (VOLUME makes none: docker's 20.10 builder does not either.)"""

    def make() -> LayerBlob | None:
        assert b.ws is not None
        merged, upper = b.ws.writable(state.lowers)
        try:
            for p in paths:
                Copier(merged, CopySpec()).mkdirs(p)
        finally:
            b.ws.unmount(merged)
        return _layer_of(b, upper, state.lowers)

    _commit(b, state, _key(state, "MKDIRS", paths), created_by, make)


def _workdir(b: Builder, state: StageState, ins: Instruction) -> None:
    path = state.config.working_dir
    mkdirs_step(b, state, [path], f"/bin/sh -c #(nop) WORKDIR {path}")


# --- COPY / ADD ---------------------------------------------------------------------------------
def _owner(root: Path, spec: str, ins: Instruction) -> tuple[int, int]:
    from geedocker.containers.users import resolve_user_in_rootfs

    user, _, group = spec.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group or user)
    try:
        u = resolve_user_in_rootfs(root, spec)
    except GeeDockerError as e:
        raise ins.error(f"--chown={spec}: {e}") from e
    return u.uid, u.gid


def _copy(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
          results: Mapping[int, StageState]) -> None:
    assert b.ws is not None
    env = state.env()
    add = ins.cmd == "add"
    if add and ins.flag("keep-git-dir") is not None:
        raise ins.error("--keep-git-dir: git sources are not supported; geedocker's ADD takes local files "
                        "and http(s) URLs")
    words = [expand(w, env, b.escape) for w in ins.args]
    for w in words[:-1] if add else ():
        if is_git_source(w):
            raise ins.error(f"{w}: git sources are not supported; geedocker's ADD takes local files and http(s) "
                            "URLs (clone the repository into the context and COPY it)")
    heredocs = {h.name: h for h in ins.heredocs}
    dest = words[-1]
    srcs = words[:-1]
    chmod_text = ins.flag("chmod")
    chmod = None
    if chmod_text:
        try:
            chmod = int(chmod_text, 8)
        except ValueError:
            raise ins.error(f"--chmod={chmod_text}: only octal modes are supported") from None
    excludes = Ignore([expand(x, env, b.escape) for x in ins.flag_all("exclude")]) if ins.flag_all("exclude") else None
    from_ref = expand(ins.flag("from") or "", env, b.escape)
    # the tree the sources come from
    if from_ref:
        from geedocker.build.stages import find_stage

        stage = find_stage(stages, from_ref, state.stage.index)
        if stage is not None:
            lowers = _built(results, stage, ins).lowers
        else:
            lowers = b.layer_dirs_of_image(from_ref, ins)
        tree = Tree(b.ws.readonly(lowers))
    else:
        if b.opts.context is None and any(not _HEREDOC_WORD.match(s) for s in srcs):
            raise ins.error("no build context: COPY and ADD need one (the Dockerfile came from stdin)")
        tree = Tree(b.opts.context or b.ws.empty, b.ignore)
    urls = [s for s in srcs if add and re.match(r"^https?://", s)]
    local = [s for s in srcs if s not in urls and not _HEREDOC_WORD.match(s)]
    sources = resolve_sources(tree, local)
    for s in srcs:
        m = _HEREDOC_WORD.match(s)
        if m and m.group(1) not in heredocs:
            raise ins.error(f"unknown heredoc {s}")
    downloads = [_download(b, u, ins) for u in urls]
    digest = digest_sources(tree, sources, excludes)
    docs = [(n, _heredoc_text(h.content, env, b.escape) if h.expand else h.content) for n, h in heredocs.items()]
    chown = ins.flag("chown")
    link = ins.flag("link") not in (None, "false")
    owner: tuple[int, int] | None = None
    if link:
        # As BuildKit's --link: the files go into an empty tree, not onto the stage, so the layer does not depend
        # on what is below it (dirs it makes are root's 0755, a symlink below is not followed) and neither does
        # its cache key: a changed base image keeps the step cached (its layer is only put on the new base).
        if chown:
            owner = _owner_in(b, state, expand(chown, env, b.escape), ins)
        key = step_key(["LINK", state.config.working_dir, ins.cmd, ins.flags, words, digest,
                        [d[1] for d in downloads], docs, owner])
    else:
        key = _key(state, ins.cmd, ins.flags, words, digest, [d[1] for d in downloads], docs)

    def make() -> LayerBlob | None:
        assert b.ws is not None
        if link:
            merged = upper = b.ws.new_dir("link")
        else:
            merged, upper = b.ws.writable(state.lowers)
        try:
            spec = CopySpec(
                owner=owner if link else _owner(merged, expand(chown, env, b.escape), ins) if chown else None,
                chmod=chmod, keep_owners=bool(from_ref), parents=ins.flag("parents") is not None,
                excludes=excludes,
            )
            cp = Copier(merged, spec)
            workdir = state.config.working_dir
            if sources:
                cp.copy(tree, sources, dest, workdir, add_archives=add and not from_ref)
            for path, _ in downloads:
                dl_tree = Tree(path.parent)
                cp.copy(dl_tree, [Source(path.name, path)], dest if dest.endswith("/") or len(srcs) > 1 else dest,
                        workdir)
            for name, text in docs:
                cp.write_file(dest, workdir, name, text.encode())
        finally:
            if not link:
                b.ws.unmount(merged)
        return _layer_of(b, upper, [] if link else state.lowers)

    shown = " ".join(words)
    _commit(b, state, key, f"/bin/sh -c #(nop) {ins.cmd.upper()} {shown}", make, rebase=link)


def _owner_in(b: Builder, state: StageState, spec: str, ins: Instruction) -> tuple[int, int]:
    """``--chown`` resolved against the stage's /etc/passwd and /etc/group (a read-only view of it)."""
    assert b.ws is not None
    user, _, group = spec.partition(":")
    if user.isdigit() and (not group or group.isdigit()):
        return int(user), int(group or user)
    root = b.ws.readonly(state.lowers)
    try:
        return _owner(root, spec, ins)
    finally:
        b.ws.unmount(root)


def _heredoc_text(text: str, env: Mapping[str, str], escape: str) -> str:
    """A heredoc body with ``$var`` substituted (quotes kept: the body is not a word)."""
    out = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*",
                 lambda m: expand(m.group(0), env, escape), text)
    return out


def is_git_source(src: str) -> bool:
    """Whether ADD would take ``src`` as a git repository, as BuildKit tells them: a ``git://``, ``ssh://`` or
    ``git@host:`` address, or an http(s) URL whose path ends in ``.git`` (a ``#ref:subdir`` may follow). A
    ``github.com/...`` without a scheme is a local path to BuildKit too."""
    if src.startswith(("git://", "ssh://", "git@")):
        return True
    m = re.match(r"^https?://[^/?#]+(/[^?#]*)", src)
    return bool(m and m.group(1).endswith(".git"))


def _built(results: Mapping[int, StageState], stage: Stage, ins: Instruction) -> StageState:
    """A stage this step reads from; the scheduler (``stages.dependencies``) built it first."""
    got = results.get(stage.index)
    if got is None:  # a reference the scheduler could not see (a name only the base image's ENV holds)
        raise ins.error(f"stage {stage.name or stage.index} is not built before this step: name it plainly, "
                        "or through an ARG or ENV of this Dockerfile")
    return got


def _download(b: Builder, url: str, ins: Instruction) -> tuple[Path, str]:
    """ADD's URL source, downloaded into the workspace (mode 0600, as docker); (path, sha256)."""
    import hashlib  # here: OpenSSL takes ms to load
    import urllib.request

    assert b.ws is not None
    name = os.path.basename(url.split("?", 1)[0].rstrip("/")) or "download"
    d = b.ws.new_dir("dl")
    path = d / name
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(path, "wb") as f:  # noqa: S310 - http(s) only
            while chunk := r.read(1 << 20):
                h.update(chunk)
                f.write(chunk)
    except OSError as e:
        raise ins.error(f"downloading {url}: {e}") from e
    os.chmod(path, 0o600)
    want = ins.flag("checksum")
    got = "sha256:" + h.hexdigest()
    if want and want != got:
        raise ins.error(f"{url}: checksum mismatch: expected {want}, got {got}")
    return path, got


# --- RUN ----------------------------------------------------------------------------------------
SCRIPTS = "/dev/pipes"  # where a RUN heredoc with a shebang is put to run (as BuildKit): under /dev, never committed


def _script(ins: Instruction) -> tuple[str, str] | None:
    """A RUN that is one heredoc starting with ``#!``: (its name, its text), run as a script, as BuildKit does."""
    words = ins.rest.split()
    if (ins.json or len(ins.heredocs) != 1 or len(words) != 1 or not _HEREDOC_WORD.match(words[0])
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
        if len(ins.heredocs) == 1 and len(words) == 1 and _HEREDOC_WORD.match(words[0]):
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
                root = b.ws.readonly(_built(results, st, ins).lowers if st is not None
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


def _run(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
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
    key = _key(state, "RUN", list(argv), arg_env, mount_key)

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
            return _layer_of(b, store.dir(rec.id) / "upper", lowers, made)
        finally:
            with contextlib.suppress(GeeDockerError):
                removal.remove(b.layout, rec.id, force=True)

    shown = " ".join(argv)
    prefix = f"|{len(arg_env)} {' '.join(arg_env)} " if arg_env else ""
    _commit(b, state, key, f"{prefix}{shown}", make)

