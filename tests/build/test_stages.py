"""Which stages a stage reads from (the parallel scheduler's order), with names given through ARG and ENV."""

from __future__ import annotations

from geedocker.build.dockerfile import parse
from geedocker.build.stages import dependencies, needed, split_stages


def _deps(text: str, build_args: dict[str, str] | None = None) -> tuple[dict[int, set[int]], set[int]]:
    meta, stages = split_stages(parse(text))
    meta_env = {}
    for ins in meta:  # the globals, as the builder sets them (defaults only here)
        for word in ins.args:
            k, _, v = word.partition("=")
            meta_env[k] = (build_args or {}).get(k, v)
    deps = {s.index: dependencies(s, stages, meta_env, "\\", build_args) for s in stages}
    return deps, needed(stages[-1], stages, meta_env, "\\", build_args)


STAGE_ARGS = """\
ARG GLOBAL=one
FROM scratch AS one
FROM scratch AS two
FROM scratch AS three
FROM scratch AS four
FROM scratch AS five
FROM $GLOBAL AS six
FROM scratch AS seven
FROM scratch
ARG SRC=two
ARG GLOBAL
COPY --from=$SRC /a /a
COPY --from=${GLOBAL} /b /b
ENV FROM_ENV=three
COPY --from=$FROM_ENV /c /c
ARG ARG_OVER_ENV=four
RUN --mount=type=bind,from=${ARG_OVER_ENV},target=/x true
ENV ARG_OVER_ENV=five
ADD --from=$ARG_OVER_ENV /d /d
"""


def test_from_names_through_stage_args_env_and_globals() -> None:
    deps, want = _deps(STAGE_ARGS)
    assert deps[7] == {1, 0, 2, 3, 4}  # scratch is no stage: only the --from ones
    assert deps[5] == {0}  # FROM $GLOBAL: the global's default
    assert want == {7, 0, 1, 2, 3, 4}


def test_build_args_change_the_order() -> None:
    deps, want = _deps(STAGE_ARGS,
                       {"SRC": "seven", "GLOBAL": "six"})
    assert deps[7] == {6, 5, 2, 3, 4}
    assert deps[5] == set() and want == {7, 6, 5, 2, 3, 4}  # FROM six names no earlier stage: an image


def test_env_of_a_parent_stage_counts() -> None:
    deps, want = _deps("FROM scratch AS a\nFROM scratch AS b\nENV PICK=a\nFROM b\nCOPY --from=$PICK / /\n")
    assert deps[2] == {1, 0} and want == {0, 1, 2}
