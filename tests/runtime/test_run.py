"""Running a container: exit codes, args, env, cwd."""

from __future__ import annotations

import pytest

from tests.runtime.conftest import Runtime
from tests.support.bundle import base_config

pytestmark = pytest.mark.root


def test_true_exits_zero(runtime: Runtime) -> None:
    assert runtime.run(base_config(["true"])).code == 0


def test_exit_code_is_the_process_own(runtime: Runtime) -> None:
    assert runtime.sh("exit 3").code == 3


def test_output_args_env_cwd(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", 'echo "$1|$FOO|$(pwd)"', "sh", "a b"], cwd="/tmp")
    cfg["process"]["env"].append("FOO=bar=baz")
    r = runtime.run(cfg)
    assert (r.code, r.out) == (0, "a b|bar=baz|/tmp\n")
