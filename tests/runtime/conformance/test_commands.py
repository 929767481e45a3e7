"""list, ps and features, where both runtimes have them."""

from __future__ import annotations

import json

import pytest

from tests.runtime.conformance.conftest import Oci
from tests.support.bundle import base_config

pytestmark = [pytest.mark.root, pytest.mark.peers]


def test_list(oci: Oci) -> None:
    assert oci("list", "-q").out == ""
    a = oci.create(base_config(["sleep", "60"]))
    b = oci.create(base_config(["sleep", "60"]))
    assert oci("start", b).code == 0
    oci.wait_status(b, "running")
    assert sorted(oci("list", "-q").out.split()) == sorted([a, b])
    entries = {e["id"]: e for e in json.loads(oci("list", "--format", "json").out)}
    assert entries[a]["status"] == "created" and entries[b]["status"] == "running"
    for cid in (a, b):
        assert entries[cid]["pid"] == oci.state(cid)["pid"]
        assert {"id", "pid", "status", "bundle", "rootfs", "created", "owner"} <= set(entries[cid])
    table = oci("list").out.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert sorted(line.split()[0] for line in table[1:]) == sorted([a, b])


def test_ps(oci: Oci) -> None:
    cid = oci.create(base_config(["sh", "-c", "sleep 60 & exec sleep 61"]))
    assert oci("start", cid).code == 0
    pid = oci.wait_status(cid, "running")["pid"]
    pids = json.loads(oci("ps", "--format", "json", cid).out)
    assert pid in pids and len(pids) == 2
    table = oci("ps", cid).out.splitlines()
    assert table[0].split()[:2] == ["UID", "PID"]  # `ps -ef` columns, the container's processes only
    assert sorted(int(line.split()[1]) for line in table[1:]) == sorted(pids)


def test_features(oci: Oci) -> None:
    r = oci("features")
    assert r.code == 0, r.err
    f = json.loads(r.out)
    assert f["ociVersionMin"] == "1.0.0"
    assert {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} <= \
        set(f["hooks"])
    assert {"bind", "rbind", "ro", "nosuid", "nodev", "noexec", "private", "rprivate"} <= set(f["mountOptions"])
    assert {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} <= set(f["linux"]["namespaces"])
    assert {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"} <= set(f["linux"]["capabilities"])
    assert f["linux"]["cgroup"]["v1"] is True
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]
