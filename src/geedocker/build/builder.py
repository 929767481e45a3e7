"""The builder: a Dockerfile and a context -> an image in the store.

Only the stages the target needs are built (``stages.needed``), as BuildKit does; a stage starts once the stages
it reads from (its FROM, ``COPY --from``, ``RUN --mount=...,from=``) are built, so independent stages run side by
side, a few at a time (``BuildOptions.parallel``), each in a thread of its own. Every step's result depends only
on its inputs, never on that order, so the image is the same whatever runs first. When a stage fails, the others
stop at their next step (their running RUN killed) and the first failure is the build's error.

A stage starts from an image (pulled if missing, or with ``--pull``), ``scratch`` or an earlier stage; the base
image's ONBUILD triggers run first. What the build shows goes to a ``progress`` display, in BuildKit's shapes:
a numbered step ``[stage k/n] INSTRUCTION`` per FROM, RUN, COPY, ADD and WORKDIR (the instructions that only
change the config show nothing, as in BuildKit), with its output, CACHED or its time.
RUN, COPY, ADD and WORKDIR commit one layer each (``steps``), through the build cache; the other
instructions change the run config and add a history entry with ``empty_layer``. The target stage's
layers, config and history become the image, tagged with every ``-t``.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from geedocker.build import config as cfgs
from geedocker.build.cache import BuildCache
from geedocker.build.dockerfile import DockerfileError, Instruction, parse
from geedocker.build.dockerignore import Ignore
from geedocker.build.errors import BuildError, Cancelled
from geedocker.build.progress import Display, Plain, Vertex
from geedocker.build.shellwords import expand
from geedocker.build.stages import (
    PROXY_ARGS,
    Stage,
    declare_arg,
    dependencies,
    find_stage,
    needed,
    platform_args,
    split_arg,
    split_stages,
)
from geedocker.build.workspace import Workspace
from geedocker.containers.engine import Engine
from geedocker.errors import GeeDockerError, ImageNotFound, UsageError
from geedocker.images.compose import Base, now, write_image
from geedocker.oci import ContainerConfig, Platform, chain_ids
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from geedocker.values import field, replace, value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from geedocker.registry import RegistryConfig


@value
class BuildOptions:
    dockerfile: str  # the Dockerfile's text
    context: Path | None = None  # None: no context (a Dockerfile from stdin)
    dockerfile_path: Path | None = None  # for <Dockerfile>.dockerignore
    tags: tuple[str, ...] = ()
    build_args: tuple[tuple[str, str], ...] = ()
    target: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    no_cache: bool = False
    pull: bool = False
    network: str = "default"
    quiet: bool = False
    platform: str = ""
    add_hosts: tuple[tuple[str, str], ...] = ()
    shm_size: int | None = None
    ulimits: tuple[tuple[str, int, int], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # (id, host path)
    parallel: int = 0  # stages built at once; 0: as many as there are CPUs, between 2 and 4
    registry_config: RegistryConfig | None = None  # for the base images' pulls; None: the environment's
    extra: tuple[tuple[str, str], ...] = field(default=())


class StageState:
    """A stage being built: its layers so far, run config, args in scope."""

    def __init__(self, stage: Stage, base: Base, config: ContainerConfig, layout: Layout) -> None:
        self.stage = stage
        self.base = base
        self.config = config
        self.layout = layout
        self.args: dict[str, str] = {}
        self.cmd_set = False
        self.label = ""  # "[builder " ... "3/5] ": the stage's name in a multi-stage build, as BuildKit's
        self.step = 0
        self.steps = 1

    def name(self, text: str) -> str:
        self.step += 1
        return f"[{self.label}{self.step:>{len(str(self.steps))}}/{self.steps}] {text}"

    @property
    def lowers(self) -> list[Path]:
        return [self.layout.layer_diff(c) for c in reversed(chain_ids(self.base.diff_ids))]

    @property
    def chain(self) -> str:
        ids = chain_ids(self.base.diff_ids)
        return str(ids[-1]) if ids else "scratch"

    def env(self) -> dict[str, str]:
        """What substitution sees: the args in scope, then ENV over them."""
        out = dict(self.args)
        for e in self.config.env:
            k, _, v = e.partition("=")
            out[k] = v
        return out


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
        self._check_platform(self.platform, "--platform")
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
            results = self._stages(order, stages)
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
            self.display.status(v, f"naming to {_full_name(tag)}")
        self.display.done(v)
        return rec

    def _stages(self, order: list[Stage], stages: list[Stage]) -> dict[int, StageState]:
        """Build ``order``'s stages, each once those it reads from are built, up to ``parallel`` at once."""
        results: dict[int, StageState] = {}
        parallel = self.opts.parallel or max(2, min(4, os.cpu_count() or 1))
        if len(order) == 1 or parallel == 1:
            for s in order:
                results[s.index] = self._stage(s, stages, results)
            return results
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        deps = {s.index: dependencies(s, stages, self.meta_env, self.escape, self.build_args) for s in order}
        pending = list(order)
        running: dict[Future[StageState], int] = {}
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="build-stage") as pool:
            try:
                while pending or running:
                    for s in [s for s in pending if deps[s.index] <= results.keys()][: parallel - len(running)]:
                        pending.remove(s)
                        running[pool.submit(self._stage, s, stages, results)] = s.index
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for f in sorted(done, key=lambda f: running[f]):
                        i = running.pop(f)
                        try:
                            results[i] = f.result()
                        except BaseException as e:  # noqa: BLE001 - kept, raised once the others stopped
                            if error is None or isinstance(error, Cancelled):
                                error = e
                            self.cancel()
                            pending.clear()
            except BaseException:
                self.cancel()  # interrupted: stop the stages before the pool waits for them
                raise
        if error is not None:
            raise error
        return results

    def _check_platform(self, want: Platform, what: str) -> None:
        if want.os != self.host.os or want.architecture != self.host.architecture:
            raise UsageError(f"{what} {want}: building for another platform needs emulation, which geedocker "
                             f"does not do (this host is {self.host})")

    # --- a stage ---------------------------------------------------------------------------------
    def _stage(self, stage: Stage, stages: list[Stage], results: Mapping[int, StageState]) -> StageState:
        ins = stage.first
        self.instruction(ins)
        image = expand(stage.image, self.meta_env, self.escape)
        for k, _ in ins.flags:
            if k != "platform":
                raise ins.error(f"Unknown flag: {k}")
        platform = self.platform
        if stage.platform:
            platform = Platform.parse(expand(stage.platform, self.meta_env, self.escape))
            self._check_platform(platform, "FROM --platform")
        prev = find_stage(stages, image, stage.index)
        triggers: list[Instruction] = []
        if prev is not None:
            src = results[prev.index]
            state = StageState(stage, src.base, src.config, self.layout)
        elif image.lower() == "scratch":
            state = StageState(stage, Base(platform=platform), ContainerConfig(), self.layout)
        else:
            rec = self._image(image, ins, platform)
            base = Base.of(rec)
            state = StageState(stage, base, rec.config.config, self.layout)
            texts = rec.config.config.get("OnBuild") or []
            if texts:
                state.config = state.config.with_key("OnBuild", None)
                triggers = [replace(parse(f"{t}\n").instructions[0], line=ins.line) for t in texts]
        if self.multi:
            state.label = f"{stage.name or f'stage-{stage.index}'} "
        state.steps = 1 + sum(1 for i in (*triggers, *stage.instructions) if i.cmd in LAYER_STEPS)
        self.display.done(self.display.start(state.name(f"FROM {image}")))
        for trig in triggers:
            self._instruction(state, trig, stages, results, trigger=True)
        for step in stage.instructions:
            if self.cancelled.is_set():
                raise Cancelled("cancelled")
            self._instruction(state, step, stages, results)
        return state

    def _image(self, name: str, ins: Instruction, platform: Platform | None = None) -> ImageRecord:
        """Image ``name`` for ``platform`` (the build's by default; a FROM --platform's variant of the host's
        architecture): the local one if it is for that platform, else pulled, as ``run --platform`` does."""
        want = platform or self.platform
        store = Engine.of(self.layout).images
        other: Platform | None = None  # the platform of a local image that is not the one wanted
        if not self.opts.pull:
            try:
                rec = store.resolve(name)
            except ImageNotFound:
                pass
            else:
                have = _platform_of(rec)
                if not rec.config.architecture or want.matches(have):
                    return rec
                other = have
        from geedocker.images.pull import PullOptions, pull

        v = self.display.start(f"[internal] pull {_full_name(name)}")
        try:
            pull(self.layout, name, options=PullOptions(platform=want, registry_config=self.opts.registry_config))
        except BaseException as e:
            self.display.error(v, str(e))
            if other is not None and isinstance(e, GeeDockerError):
                raise UsageError(f"Dockerfile line {ins.line}: image {name} was found but is for {other}, not "
                                 f"{want}, and no {want} variant could be pulled ({e}); running it needs "
                                 "emulation, which geedocker does not do") from e
            raise
        self.display.done(v)
        rec = store.resolve(name)
        got = _platform_of(rec)
        if rec.config.architecture and not self.host.matches(got):
            raise UsageError(f"Dockerfile line {ins.line}: image {name} is for {got}: running it needs emulation, "
                             "which geedocker does not do")
        return rec

    def layer_dirs_of_image(self, name: str, ins: Instruction) -> list[Path]:
        """The layer dirs (top first) of image ``name`` (pulled if missing), for ``COPY --from=image``."""
        rec = self._image(name, ins)
        return [self.layout.layer_diff(c) for c in reversed(rec.chain_ids)]

    def _instruction(self, state: StageState, ins: Instruction, stages: list[Stage],
                     results: Mapping[int, StageState], trigger: bool = False) -> None:
        from geedocker.build import steps

        c = ins.cmd
        if not trigger:
            self.instruction(ins)
        if c == "arg":
            self._arg(state, ins)
            return
        if c in LAYER_STEPS:
            v = self.current.vertex = self.display.start(state.name(("ONBUILD " if trigger else "") + _shown(ins)))
            try:
                if c == "workdir":
                    state.config, _ = cfgs.apply(ins, state.config, state.env(), self.escape, state.cmd_set)
                assert self.ws is not None
                steps.layer_step(self, state, ins, stages, results)
            except BaseException as e:
                self.display.error(v, "cancelled" if isinstance(e, Cancelled) else str(e) or type(e).__name__)
                raise
            finally:
                self.current.vertex = None
            self.display.done(v)
            return
        if c == "maintainer":
            state.base = state.base.with_layer(None, self._history(f"MAINTAINER {ins.args[0]}"))
            return
        for k, _ in ins.flags:
            if c != "healthcheck":
                raise ins.error(f"Unknown flag: {k}")
        state.config, state.cmd_set = cfgs.apply(ins, state.config, state.env(), self.escape, state.cmd_set)
        state.base = state.base.with_layer(None, self._history(ins.original))

    def _arg(self, state: StageState, ins: Instruction) -> None:
        for word in ins.args:
            name, val = declare_arg(word, state.env(), self.escape, self.build_args, self.meta_env)
            if name in self.build_args:
                self.used_args.add(name)
            state.args[name] = val if val is not None else state.args.get(name, "")
        state.base = state.base.with_layer(None, self._history(ins.original))

    def run_args(self, state: StageState) -> dict[str, str]:
        """The build args RUN sees: those in scope, and the proxy args given with --build-arg."""
        out = {k: v for k, v in state.args.items()}
        for k in PROXY_ARGS:
            if k in self.build_args:
                out[k] = self.build_args[k]
        return out

    @staticmethod
    def _history(text: str) -> dict[str, object]:
        return {"created": now(), "created_by": f"/bin/sh -c #(nop) {text}"}


LAYER_STEPS = ("run", "copy", "add", "workdir")  # the instructions that are steps (BuildKit's vertices)


def _platform_of(rec: ImageRecord) -> Platform:
    return Platform(rec.config.os, rec.config.architecture, rec.config.variant)


def _shown(ins: Instruction) -> str:
    """An instruction as a step's name: its first line, the keyword upper case."""
    text = ins.original.split("\n", 1)[0].strip()
    word, _, rest = text.partition(" ")
    return f"{word.upper()} {rest}".strip()


def _full_name(ref: str) -> str:
    from geedocker.errors import GeeDockerError as _Error
    from geedocker.reference import parse as parse_ref

    try:
        return str(parse_ref(ref))
    except _Error:
        return ref


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

