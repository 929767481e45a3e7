"""geedocker.cli.common: the per-container loop of rm, stop, kill, start, restart and wait."""

from __future__ import annotations

import pytest

from geedocker.cli.common import each_container
from geedocker.errors import ContainerNotFound, ContainerStateError


def test_each_container_prints_each_line_and_goes_on_after_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    done: list[str] = []

    def act(ref: str) -> str:
        if ref == "missing":
            raise ContainerNotFound(f"No such container: {ref}")
        done.append(ref)
        return ref.upper()

    code = each_container(["a", "missing", "b"], act)
    out = capsys.readouterr()
    assert done == ["a", "b"]
    assert out.out == "A\nB\n"
    assert out.err == "Error response from daemon: No such container: missing\n"
    assert code == ContainerNotFound("").exit_code != 0


def test_each_container_returns_the_last_failure_and_zero_when_all_succeed() -> None:
    def fail(ref: str) -> str:
        raise (ContainerStateError if ref == "busy" else ContainerNotFound)(ref)

    assert each_container(["x", "busy"], fail) == ContainerStateError("").exit_code
    assert each_container(["ok"], lambda ref: ref) == 0
