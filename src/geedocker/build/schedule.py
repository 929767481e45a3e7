"""The schedule of a build's stages: each starts once the stages it reads from are built, up to
``BuildOptions.parallel`` at once, each in a thread of its own; when one fails, the others are stopped
(``Builder.cancel``) and the first failure is the build's error.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from geedocker.build.errors import Cancelled
from geedocker.build.stagerun import build_stage
from geedocker.build.stages import Stage, dependencies
from geedocker.build.stagestate import StageState

if TYPE_CHECKING:
    from geedocker.build.builder import Builder


def build_stages(b: Builder, order: list[Stage], stages: list[Stage]) -> dict[int, StageState]:
    """Build ``order``'s stages, each once those it reads from are built, up to ``parallel`` at once."""
    results: dict[int, StageState] = {}
    parallel = b.opts.parallel or max(2, min(4, os.cpu_count() or 1))
    if len(order) == 1 or parallel == 1:
        for s in order:
            results[s.index] = build_stage(b, s, stages, results)
        return results
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    deps = {s.index: dependencies(s, stages, b.meta_env, b.escape, b.build_args) for s in order}
    pending = list(order)
    running: dict[Future[StageState], int] = {}
    error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="build-stage") as pool:
        try:
            while pending or running:
                for s in [s for s in pending if deps[s.index] <= results.keys()][: parallel - len(running)]:
                    pending.remove(s)
                    running[pool.submit(build_stage, b, s, stages, results)] = s.index
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
                        b.cancel()
                        pending.clear()
        except BaseException:
            b.cancel()  # interrupted: stop the stages before the pool waits for them
            raise
    if error is not None:
        raise error
    return results
