"""The spec's ``linux.resources`` section (``runtime.spec_resources``); read through ``Spec.from_json`` as
config.json is (no root needed)."""

from __future__ import annotations

from typing import Any

import pytest

from geedocker.runtime.spec import Spec
from geedocker.runtime.spec_json import SpecError
from tests.support.bundle import base_config


def parse(cfg: dict[str, Any]) -> Spec:
    return Spec.from_json(cfg)


def test_resources_and_devices() -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"limit": 100, "swap": 200}, "cpu": {"shares": 10, "cpus": "0"},
                                 "pids": {"limit": 5},
                                 "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c",
                                                                                  "major": 1, "minor": 3}]}
    cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    r = parse(cfg).linux.resources
    assert (r.memory_limit, r.memory_swap, r.cpu_shares, r.cpu_cpus, r.pids_limit) == (100, 200, 10, "0", 5)
    assert [d.allow for d in r.devices] == [False, True]
    assert parse(cfg).linux.devices[0].major == 10


def test_kernel_memory_limits_are_accepted_and_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"limit": 100, "kernel": 50, "kernelTCP": 10, "swappiness": -1}}
    with caplog.at_level("WARNING"):
        r = parse(cfg).linux.resources
    assert (r.memory_limit, r.memory_swappiness, r.disable_oom_killer) == (100, None, False)
    assert "linux.resources.memory.kernel is ignored" in caplog.text
    assert "linux.resources.memory.kernelTCP is ignored" in caplog.text


def test_swappiness_out_of_range_names_the_field() -> None:
    cfg = base_config()
    cfg["linux"]["resources"] = {"memory": {"swappiness": 101}}
    with pytest.raises(SpecError, match=r"linux\.resources\.memory\.swappiness: 101 is out of range \(0-100\)"):
        parse(cfg)
