"""The builder: a Dockerfile and a context -> an image in the store.

Only the stages the target needs are built (``stages.needed``), as BuildKit does; a stage starts once the stages
it reads from (its FROM, ``COPY --from``, ``RUN --mount=...,from=``) are built, so independent stages run side by
side, a few at a time (``BuildOptions.parallel``), each in a thread of its own (``schedule``). Every step's result
depends only on its inputs, never on that order, so the image is the same whatever runs first. When a stage
fails, the others stop at their next step (their running RUN killed) and the first failure is the build's error.

A stage starts from an image (pulled if missing, or with ``--pull``: ``baseimages``), ``scratch`` or an earlier
stage; the base image's ONBUILD triggers run first (``stagerun``). What the build shows goes to a ``progress``
display, in BuildKit's shapes: a numbered step ``[stage k/n] INSTRUCTION`` per FROM, RUN, COPY, ADD and WORKDIR
(the instructions that only change the config show nothing, as in BuildKit), with its output, CACHED or its time.
RUN, COPY, ADD and WORKDIR commit one layer each (``steps``), through the build cache; the other
instructions change the run config and add a history entry with ``empty_layer``. The target stage's
layers, config and history become the image, tagged with every ``-t``.

This module holds the ``Builder`` (what a build shares between its stages and steps: the options, the display,
the cache, the workspace, the running containers) and the build's course from the Dockerfile to the image.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TextIO

from geedocker.build.baseimages import base_image, check_platform, full_name
from geedocker.build.cache import BuildCache
from geedocker.build.dockerfile import DockerfileError, Instruction, parse
from geedocker.build.dockerignore import Ignore
from geedocker.build.errors import BuildError
from geedocker.build.options import BuildOptions
from geedocker.build.progress import Display, Plain, Vertex
from geedocker.build.schedule import build_stages
from geedocker.build.stages import PROXY_ARGS, find_stage, needed, platform_args, split_arg, split_stages
from geedocker.build.workspace import Workspace
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError, UsageError
from geedocker.images.compose import write_image
from geedocker.oci import Platform
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from geedocker.values import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.build.stagestate import StageState


class Builder:
    def __init__(self, layout: Layout, opts: BuildOptions, out: TextIO | None = None,
                 display: Display | None = None) -> None:
        self.layout = layout
        self.opts = opts
        self.out = out or sys.stderr  # the display's, and with -q a failing RUN's output
        self.display = display or (Display() if opts.quiet else Plain(self.out))
        self.current = threading.local()  # the step each stage's thread shows now (``vertex``)
        self.cache = BuildCache(layout)
        self.ws: Workspace | None = None
        self.host = Platform.host()
        self.platform = Platform.parse(opts.platform) if opts.platform else self.host
        self.build_args = dict(opts.build_args)
        self.used_args: set[str] = set()
        self.ignore: Ignore | None = None
        self.lock = threading.Lock()  # the running containers
        self.cancelled = threading.Event()
        self.running: dict[str, str] = {}  # RUN containers running now: id -> runtime
        self.numbers: dict[int, int] = {}  # an instruction's line -> its number in the classic builder's count
        self.total = 0

    def log(self, data: bytes, stream: str = "stdout") -> None:
        """Output of the step this thread runs (a RUN's, as it comes; ``stream``: stdout or stderr)."""
        v: Vertex | None = getattr(self.current, "vertex", None)
        if v is not None:
            self.display.log(v, data, stream)

    def ran_in(self, cid: str) -> None:
        """The step this thread runs (a RUN) runs in container ``cid``."""
        v: Vertex | None = getattr(self.current, "vertex", None)
        if v is not None:
            self.display.container(v, cid)

    def instruction(self, ins: Instruction) -> None:
        """``ins`` begins (the classic builder's ``Step k/n``)."""
        n = self.numbers.get(ins.line)
        if n is not None:
            self.display.instruction(n, self.total, ins.original)

    def cached(self) -> None:
        """The step this thread runs was found in the cache."""
        v: Vertex | None = getattr(self.current, "vertex", None)
        if v is not None:
            self.display.cached(v)

    def show_failed_output(self, data: bytes) -> None:
        """With -q, a failing RUN's output (kept until then), as docker shows it."""
        self.out.write(data.decode("utf-8", "replace"))
        self.out.flush()

    def cancel(self) -> None:
        """Stop every stage: no new step starts, running RUN containers are killed."""
        import signal


        self.cancelled.set()
        with self.lock:
            running = dict(self.running)
        for cid, runtime in running.items():
            try:
                Engine.of(self.layout).backend(runtime or None).kill(cid, signal.SIGKILL)
            except GeeDockerError:
                pass

    # --- the build ------------------------------------------------------------------------------
    def build(self) -> ImageRecord:
        check_platform(self, self.platform, "--platform")
        df = parse(self.opts.dockerfile)
        self.escape = df.escape
        meta, stages = split_stages(df)
        self.meta_env = platform_args(self.platform, self.host)
        for ins in meta:
            for word in ins.args:
                name, default = split_arg(word, self.meta_env, self.escape)
                val = self.build_args.get(name, default)
                if name in self.build_args:
                    self.used_args.add(name)
                if val is not None:
                    self.meta_env[name] = val
                else:
                    self.meta_env.setdefault(name, "")
        target = stages[-1]
        if self.opts.target:
            t = find_stage(stages, self.opts.target, len(stages))
            if t is None or t.name != self.opts.target.lower():
                raise UsageError(f"failed to reach build target {self.opts.target} in Dockerfile")
            target = t
        want = needed(target, stages, self.meta_env, self.escape, self.build_args)
        self.multi = len(stages) > 1
        if self.opts.context is not None:
            self.ignore = Ignore.for_build(self.opts.context, self.opts.dockerfile_path)
        self.ws = Workspace(self.layout)
        order = [s for s in stages[: target.index + 1] if s.index in want]
        for s in order:
            for ins in (s.first, *s.instructions):
                self.numbers[ins.line] = len(meta) + len(self.numbers) + 1
        self.total = len(meta) + len(self.numbers)
        for i, ins in enumerate(meta):
            self.display.instruction(i + 1, self.total, ins.original)
        try:
            results = build_stages(self, order, stages)
        finally:
            self.ws.close()
        unused = sorted(set(self.build_args) - self.used_args - PROXY_ARGS)
        if unused:
            self.display.warning(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed")
        final = results[target.index]
        cfg = final.config
        if self.opts.labels:
            cfg = replace(cfg, labels=tuple(sorted({**dict(cfg.labels), **dict(self.opts.labels)}.items())))
        v = self.display.start("exporting to image")
        rec = write_image(self.layout, final.base, cfg, names=self.opts.tags)
        self.display.status(v, "exporting layers")
        self.display.status(v, f"writing image {rec.id}")
        for tag in self.opts.tags:
            self.display.status(v, f"naming to {full_name(tag)}")
        self.display.done(v)
        return rec

    def layer_dirs_of_image(self, name: str, ins: Instruction) -> list[Path]:
        """The layer dirs (top first) of image ``name`` (pulled if missing), for ``COPY --from=image``."""
        rec = base_image(self, name, ins)
        return [self.layout.layer_diff(c) for c in reversed(rec.chain_ids)]

    def run_args(self, state: StageState) -> dict[str, str]:
        """The build args RUN sees: those in scope, and the proxy args given with --build-arg."""
        out = {k: v for k, v in state.args.items()}
        for k in PROXY_ARGS:
            if k in self.build_args:
                out[k] = self.build_args[k]
        return out


def build(layout: Layout, opts: BuildOptions, out: TextIO | None = None, display: Display | None = None) -> ImageRecord:
    """Build ``opts.dockerfile`` with ``opts.context``; the image. ``display`` shows the progress (by default
    plain lines on ``out``, stderr unless given; nothing with ``opts.quiet``)."""
    return run(Builder(layout, opts, out, display))


def run(b: Builder) -> ImageRecord:
    """``b``'s build (a caller that may ``cancel`` it holds the builder)."""
    try:
        return b.build()
    except DockerfileError:
        raise
    except OSError as e:
        raise BuildError(f"build failed: {e.strerror or e}: {e.filename or ''}".rstrip(": ")) from e
    finally:
        b.display.close()

