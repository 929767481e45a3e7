"""One stage of a build: its FROM (an image, ``scratch`` or an earlier stage, and the base image's ONBUILD
triggers), then each instruction: ARG, the layer steps (``steps``) shown as numbered steps, and the
instructions that only change the run config and add a history entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from geedocker.build import config as cfgs
from geedocker.build.baseimages import base_image, check_platform
from geedocker.build.dockerfile import Instruction, parse
from geedocker.build.errors import Cancelled
from geedocker.build.shellwords import expand
from geedocker.build.stages import Stage, declare_arg, find_stage
from geedocker.build.stagestate import StageState
from geedocker.images.compose import Base, now
from geedocker.oci import ContainerConfig, Platform
from geedocker.values import replace

if TYPE_CHECKING:
    from geedocker.build.builder import Builder


def build_stage(b: Builder, stage: Stage, stages: list[Stage], results: Mapping[int, StageState]) -> StageState:
    ins = stage.first
    b.instruction(ins)
    image = expand(stage.image, b.meta_env, b.escape)
    for k, _ in ins.flags:
        if k != "platform":
            raise ins.error(f"Unknown flag: {k}")
    platform = b.platform
    if stage.platform:
        platform = Platform.parse(expand(stage.platform, b.meta_env, b.escape))
        check_platform(b, platform, "FROM --platform")
    prev = find_stage(stages, image, stage.index)
    triggers: list[Instruction] = []
    if prev is not None:
        src = results[prev.index]
        state = StageState(stage, src.base, src.config, b.layout)
    elif image.lower() == "scratch":
        state = StageState(stage, Base(platform=platform), ContainerConfig(), b.layout)
    else:
        rec = base_image(b, image, ins, platform)
        base = Base.of(rec)
        state = StageState(stage, base, rec.config.config, b.layout)
        texts = rec.config.config.get("OnBuild") or []
        if texts:
            state.config = state.config.with_key("OnBuild", None)
            triggers = [replace(parse(f"{t}\n").instructions[0], line=ins.line) for t in texts]
    if b.multi:
        state.label = f"{stage.name or f'stage-{stage.index}'} "
    state.steps = 1 + sum(1 for i in (*triggers, *stage.instructions) if i.cmd in LAYER_STEPS)
    b.display.done(b.display.start(state.name(f"FROM {image}")))
    for trig in triggers:
        _instruction(b, state, trig, stages, results, trigger=True)
    for step in stage.instructions:
        if b.cancelled.is_set():
            raise Cancelled("cancelled")
        _instruction(b, state, step, stages, results)
    return state


def _instruction(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
                 results: Mapping[int, StageState], trigger: bool = False) -> None:
    from geedocker.build import steps

    c = ins.cmd
    if not trigger:
        b.instruction(ins)
    if c == "arg":
        _arg(b, state, ins)
        return
    if c in LAYER_STEPS:
        v = b.current.vertex = b.display.start(state.name(("ONBUILD " if trigger else "") + _shown(ins)))
        try:
            if c == "workdir":
                state.config, _ = cfgs.apply(ins, state.config, state.env(), b.escape, state.cmd_set)
            assert b.ws is not None
            steps.layer_step(b, state, ins, stages, results)
        except BaseException as e:
            b.display.error(v, "cancelled" if isinstance(e, Cancelled) else str(e) or type(e).__name__)
            raise
        finally:
            b.current.vertex = None
        b.display.done(v)
        return
    if c == "maintainer":
        state.base = state.base.with_layer(None, _history(f"MAINTAINER {ins.args[0]}"))
        return
    for k, _ in ins.flags:
        if c != "healthcheck":
            raise ins.error(f"Unknown flag: {k}")
    state.config, state.cmd_set = cfgs.apply(ins, state.config, state.env(), b.escape, state.cmd_set)
    state.base = state.base.with_layer(None, _history(ins.original))


def _arg(b: Builder, state: StageState, ins: Instruction) -> None:
    for word in ins.args:
        name, val = declare_arg(word, state.env(), b.escape, b.build_args, b.meta_env)
        if name in b.build_args:
            b.used_args.add(name)
        state.args[name] = val if val is not None else state.args.get(name, "")
    state.base = state.base.with_layer(None, _history(ins.original))


def _history(text: str) -> dict[str, object]:
    return {"created": now(), "created_by": f"/bin/sh -c #(nop) {text}"}


LAYER_STEPS = ("run", "copy", "add", "workdir")  # the instructions that are steps (BuildKit's vertices)


def _shown(ins: Instruction) -> str:
    """An instruction as a step's name: its first line, the keyword upper case."""
    text = ins.original.split("\n", 1)[0].strip()
    word, _, rest = text.partition(" ")
    return f"{word.upper()} {rest}".strip()
