"""The layer steps: RUN, COPY, ADD and WORKDIR, each one layer, through the build cache.

``layer_step`` checks an instruction's flags and hands it to its step: RUN (``runstep``), COPY and ADD
(``copystep``), or WORKDIR, here: it makes its directory in an overlay of the stage mounted by the builder
(``workspace``), and the upper dir becomes the layer (``commit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from geedocker.archive.writer import LayerBlob
from geedocker.build.commit import commit, layer_of, stage_key
from geedocker.build.copier import Copier, CopySpec
from geedocker.build.copystep import ADD_FLAGS, COPY_FLAGS, copy
from geedocker.build.dockerfile import Instruction
from geedocker.build.runstep import RUN_FLAGS, run

if TYPE_CHECKING:
    from geedocker.build.builder import Builder
    from geedocker.build.stages import Stage
    from geedocker.build.stagestate import StageState


def layer_step(b: Builder, state: StageState, ins: Instruction, stages: list[Stage],
               results: Mapping[int, StageState]) -> None:
    allowed = {"run": RUN_FLAGS, "copy": COPY_FLAGS, "add": ADD_FLAGS, "workdir": set()}[ins.cmd]
    for k, _ in ins.flags:
        if k not in allowed:
            raise ins.error(f"Unknown flag: {k}")
    if ins.cmd == "run":
        run(b, state, ins, stages, results)
    elif ins.cmd == "workdir":
        _workdir(b, state, ins)
    else:
        copy(b, state, ins, stages, results)


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
        return layer_of(b, upper, state.lowers)

    commit(b, state, stage_key(state, "MKDIRS", paths), created_by, make)


def _workdir(b: Builder, state: StageState, ins: Instruction) -> None:
    path = state.config.working_dir
    mkdirs_step(b, state, [path], f"/bin/sh -c #(nop) WORKDIR {path}")
