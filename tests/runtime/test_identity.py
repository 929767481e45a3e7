"""User, groups, hostname, capabilities, no_new_privs, rlimits, umask."""

from __future__ import annotations

import pytest

from geedocker.runtime import capabilities
from tests.runtime.conftest import Runtime
from tests.support.bundle import DEFAULT_CAPS, base_config

pytestmark = pytest.mark.root


def test_user_and_groups(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "id -u; id -g; id -G"], user={"uid": 1000, "gid": 1000, "additionalGids": [2000]})
    r = runtime.run(cfg)
    assert r.code == 0, r.err
    uid, gid, groups = r.out.splitlines()
    assert (uid, gid) == ("1000", "1000")
    assert set(groups.split()) == {"1000", "2000"}


def test_root_has_no_supplementary_groups_by_default(runtime: Runtime) -> None:
    r = runtime.sh("grep Groups /proc/self/status")
    assert r.out.split() == ["Groups:"]


def test_hostname(runtime: Runtime) -> None:
    r = runtime.sh("hostname")
    assert r.out == "geedocker-test\n"


def test_capabilities_default_set(runtime: Runtime) -> None:
    r = runtime.sh("grep -E '^Cap(Eff|Prm|Bnd|Inh|Amb)' /proc/self/status")
    caps = dict(line.split(":") for line in r.out.splitlines())
    want = capabilities.mask(DEFAULT_CAPS)
    assert int(caps["CapEff"], 16) == want
    assert int(caps["CapPrm"], 16) == want
    assert int(caps["CapBnd"], 16) == want
    assert int(caps["CapInh"], 16) == 0
    assert int(caps["CapAmb"], 16) == 0


def test_capabilities_for_non_root_user_with_ambient(runtime: Runtime) -> None:
    caps = ["CAP_NET_BIND_SERVICE"]
    cfg = base_config(["grep", "-E", "^Cap(Eff|Amb)", "/proc/self/status"], user={"uid": 1000, "gid": 1000},
                      capabilities={k: caps for k in ("bounding", "effective", "permitted", "inheritable", "ambient")})
    r = runtime.run(cfg)
    got = dict(line.split(":") for line in r.out.splitlines())
    assert int(got["CapEff"], 16) == capabilities.mask(caps)
    assert int(got["CapAmb"], 16) == capabilities.mask(caps)


def test_dropped_capability_is_enforced(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "chown 1000 /tmp && echo changed"],
                      capabilities={k: ["CAP_SETUID"] for k in ("bounding", "effective", "permitted")})
    r = runtime.run(cfg)
    assert r.code != 0
    assert "changed" not in r.out


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(runtime: Runtime, nnp: bool) -> None:
    r = runtime.run(base_config(["grep", "NoNewPrivs", "/proc/self/status"], noNewPrivileges=nnp))
    assert r.out.split() == ["NoNewPrivs:", "1" if nnp else "0"]


def test_rlimits(runtime: Runtime) -> None:
    cfg = base_config(["sh", "-c", "ulimit -Sn; ulimit -Hn"],
                      rlimits=[{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768}])
    assert runtime.run(cfg).out.split() == ["512", "768"]


def test_umask(runtime: Runtime) -> None:
    r = runtime.run(base_config(["sh", "-c", "umask"], user={"uid": 0, "gid": 0, "umask": 0o077}))
    assert r.out.strip() == "0077"
    assert runtime.sh("umask").out.strip() == "0022"
