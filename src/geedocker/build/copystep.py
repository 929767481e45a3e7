"""COPY and ADD: files from the context, another stage, an image, a heredoc or an http(s) URL, one layer.

They write into an overlay of the stage mounted by the builder (``workspace``), whose upper dir becomes the
layer; ``COPY --link`` writes into an empty tree instead, so its layer (and its cache key) does not depend on
what is below it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.archive.writer import LayerBlob
from geedocker.build.cache import step_key
from geedocker.build.commit import commit, layer_of, stage_key
from geedocker.build.context import Source, Tree, digest_sources
from geedocker.build.copier import Copier, CopySpec, resolve_sources
from geedocker.build.dockerfile import HEREDOC_WORD, Instruction
from geedocker.build.dockerignore import Ignore
from geedocker.build.shellwords import expand
from geedocker.build.stagestate import built
from geedocker.errors import GeeDockerError

if TYPE_CHECKING:
    from geedocker.build.builder import Builder
    from geedocker.build.stages import Stage
    from geedocker.build.stagestate import StageState

COPY_FLAGS = {"from", "chown", "chmod", "link", "parents", "exclude"}
ADD_FLAGS = {"chown", "chmod", "link", "checksum", "keep-git-dir", "exclude"}


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


def copy(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
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
            lowers = built(results, stage, ins).lowers
        else:
            lowers = b.layer_dirs_of_image(from_ref, ins)
        tree = Tree(b.ws.readonly(lowers))
    else:
        if b.opts.context is None and any(not HEREDOC_WORD.match(s) for s in srcs):
            raise ins.error("no build context: COPY and ADD need one (the Dockerfile came from stdin)")
        tree = Tree(b.opts.context or b.ws.empty, b.ignore)
    urls = [s for s in srcs if add and re.match(r"^https?://", s)]
    local = [s for s in srcs if s not in urls and not HEREDOC_WORD.match(s)]
    sources = resolve_sources(tree, local)
    for s in srcs:
        m = HEREDOC_WORD.match(s)
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
        key = stage_key(state, ins.cmd, ins.flags, words, digest, [d[1] for d in downloads], docs)

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
        return layer_of(b, upper, [] if link else state.lowers)

    shown = " ".join(words)
    commit(b, state, key, f"/bin/sh -c #(nop) {ins.cmd.upper()} {shown}", make, rebase=link)


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
