"""The options' values: a record keeps them as JSON (no root needed)."""

from __future__ import annotations

from geedocker.containers.options import MountSpec, RunOptions


def test_run_options_json_round_trip() -> None:
    o = RunOptions(
        name="x", command=("a",), entrypoint="", env=("A=1",), mounts=(MountSpec("bind", "/b", "/a", True),),
        memory=1 << 30, memory_swap=-1, nano_cpus=10**9, labels=(("k", "v"),), tty=True,
    )  # fmt: skip
    assert RunOptions.from_json(o.to_json()) == o
