"""The schedule of the stages (root): independent stages side by side, one failing stops the others, a stage
read through an ARG or ENV is built first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.build.errors import BuildError
from geedocker.containers.store import ContainerStore
from geedocker.store.images import ImageRecord
from geedocker.store.layout import Layout
from tests.support.build import BASE, build_in, files_of, path_in

pytestmark = pytest.mark.root


# Two stages that each wait for the other's mark in a shared cache mount: they finish only if they run at once.
MEETING = """\
ARG TRIES=600
FROM {base} AS left
ARG TRIES
RUN --mount=type=cache,id=meet,target=/m touch /m/left && \\
    i=0; while [ ! -e /m/right ]; do sleep 0.05; i=$((i+1)); [ $i -lt $TRIES ] || exit 9; done; echo l > /l
FROM {base} AS right
ARG TRIES
RUN --mount=type=cache,id=meet,target=/m touch /m/right && \\
    i=0; while [ ! -e /m/left ]; do sleep 0.05; i=$((i+1)); [ $i -lt $TRIES ] || exit 9; done; echo r > /r
FROM {base} AS broken
RUN exit 5
FROM scratch
COPY --from=left /l /
COPY --from=right /r /
"""

DIAMOND = """\
FROM {base} AS root
RUN echo root > /root.txt
FROM root AS a
RUN echo a > /a && cat /root.txt >> /a
FROM root AS b
COPY --from=a /a /from-a
RUN echo b > /b
FROM {base} AS c
WORKDIR /c
RUN echo c > c.txt
FROM scratch
COPY --from=b / /b/
COPY --from=c /c /c
COPY --from=a /a /
"""


def test_independent_stages_run_at_once_and_give_the_same_image(store: Layout, tmp_path: Path) -> None:
    rec = build_in(store, tmp_path / "ctx", MEETING.format(base=BASE), parallel=2)
    assert {n: path_in(store, rec, n).read_text() for n in ("l", "r")} == {"l": "l\n", "r": "r\n"}
    # the same Dockerfile one stage at a time: the first stage waits for a mark that never comes
    with pytest.raises(BuildError, match="non-zero code: 9"):
        build_in(store, tmp_path / "ctx", MEETING.format(base=BASE).replace("meet", "meet2"), parallel=1,
               no_cache=True, build_args=(("TRIES", "10"),))
    # a DAG of stages: the image does not depend on the order they ran in
    def content(r: ImageRecord) -> dict[str, tuple[int, bytes]]:
        return {n: (st.st_mode, path_in(store, r, n).read_bytes() if os.path.isfile(path_in(store, r, n)) else b"")
                for n, st in files_of(store, r).items()}

    side = build_in(store, tmp_path / "ctx", DIAMOND.format(base=BASE), parallel=4)
    alone = build_in(store, tmp_path / "ctx", DIAMOND.format(base=BASE), parallel=1, no_cache=True)
    assert content(side) == content(alone) and len(side.config.diff_ids) == len(alone.config.diff_ids) == 3
    assert [h["created_by"] for h in side.config.history] == [h["created_by"] for h in alone.config.history]
    assert path_in(store, side, "b/from-a").read_text() == "a\nroot\n"


def test_a_failing_stage_stops_the_others(store: Layout, tmp_path: Path) -> None:
    text = f"""\
FROM {BASE} AS slow
RUN sleep 60
FROM {BASE} AS fails
RUN exit 4
FROM scratch
COPY --from=slow /bin/busybox /
COPY --from=fails /bin/busybox /x
"""
    with pytest.raises(BuildError, match="non-zero code: 4"):
        build_in(store, tmp_path / "ctx", text, parallel=2)
    assert ContainerStore(store).ids() == []
    with open("/proc/self/mountinfo") as f:
        assert str(store.root) not in f.read()


def test_a_stage_named_through_an_arg_is_built_before_the_step_that_reads_it(store: Layout, tmp_path: Path) -> None:
    # the scheduler once expanded --from with the globals only: the stage was not even built (KeyError)
    text = f"""\
ARG PICK=gen
FROM {BASE} AS gen
RUN sleep 0.3; echo made > /out
FROM {BASE} AS other
RUN echo other > /out
FROM {BASE} AS env
RUN echo env > /env
FROM scratch
ARG SRC=gen
COPY --from=$SRC /out /
ENV FROM_ENV=env
COPY --from=${{FROM_ENV}} /env /
"""
    rec = build_in(store, tmp_path / "ctx", text, parallel=4)
    assert path_in(store, rec, "out").read_text() == "made\n" and path_in(store, rec, "env").read_text() == "env\n"
    rec = build_in(store, tmp_path / "ctx", text, parallel=4, build_args=(("SRC", "other"),))
    assert path_in(store, rec, "out").read_text() == "other\n"
