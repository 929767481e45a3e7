"""A stage being built (``StageState``), and the lookup of a stage a step reads from.

The state is what the steps change (layers, run config, args in scope) and what the next stage built on it
starts from; it is apart from the builder, which drives the stages, so the steps can use it without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from geedocker.images.compose import Base
from geedocker.oci import ContainerConfig, chain_ids
from geedocker.store.layout import Layout

if TYPE_CHECKING:
    from geedocker.build.dockerfile import Instruction
    from geedocker.build.stages import Stage


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


def built(results: Mapping[int, StageState], stage: Stage, ins: Instruction) -> StageState:
    """A stage this step reads from; the scheduler (``stages.dependencies``) built it first."""
    got = results.get(stage.index)
    if got is None:  # a reference the scheduler could not see (a name only the base image's ENV holds)
        raise ins.error(f"stage {stage.name or stage.index} is not built before this step: name it plainly, "
                        "or through an ARG or ENV of this Dockerfile")
    return got
