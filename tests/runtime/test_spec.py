"""config.json parsing and validation (no root needed): the top level (``runtime.spec``), and the tables that check
every section through it names the field it refuses. The sections' own cases are in ``test_spec_linux`` and
``test_spec_resources``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from geedocker.runtime.spec import Spec, load
from geedocker.runtime.spec_json import SpecError
from geedocker.runtime.spec_linux import IGNORE_SECCOMP_ENV
from tests.support.bundle import base_config


def parse(cfg: dict[str, Any]) -> Spec:
    return Spec.from_json(cfg)


def test_base_config_parses() -> None:
    s = parse(base_config(["sh", "-c", "x"]))
    assert s.process is not None
    assert s.process.args == ("sh", "-c", "x")
    assert s.hostname == "geedocker-test"
    assert [n.type for n in s.linux.namespaces] == ["pid", "network", "ipc", "uts", "mount"]
    assert s.mounts[0].destination == "/proc"
    assert s.process.rlimits[0].type == "RLIMIT_NOFILE"
    assert s.process.capabilities is not None and "CAP_KILL" in s.process.capabilities.bounding


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("linux", "seccomp"), {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/x.sock"},
         "linux.seccomp.listenerPath"),
        (("linux", "seccomp"), {"defaultAction": "SCMP_ACT_BOGUS"}, "linux.seccomp.defaultAction"),
        (("process", "apparmorProfile"), "docker-default", "process.apparmorProfile"),
        (("process", "selinuxLabel"), "system_u:r:container_t", "process.selinuxLabel"),
        (("linux", "intelRdt"), {"closID": "x"}, "linux.intelRdt"),
        (("linux", "personality"), {"domain": "LINUX32"}, "linux.personality"),
        (("linux", "mountLabel"), "x", "linux.mountLabel"),
    ],
)
def test_unhonoured_fields_are_refused_by_name(path: tuple[str, str], value: Any, field: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(IGNORE_SECCOMP_ENV, raising=False)
    cfg = base_config()
    cfg[path[0]][path[1]] = value
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        parse(cfg)






def test_unknown_properties_are_ignored() -> None:
    cfg = base_config()
    cfg["somethingNew"] = {"x": 1}
    cfg["process"]["futureField"] = True
    parse(cfg)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["process"].__setitem__("args", []), r"process\.args"),
        (lambda c: c["process"].__setitem__("args", "sh"), r"process\.args"),
        (lambda c: c["process"].__setitem__("cwd", "relative"), r"process\.cwd"),
        (lambda c: c["process"]["user"].__setitem__("uid", "0"), r"process\.user\.uid"),
        (lambda c: c.__setitem__("ociVersion", "2.0.0"), "ociVersion"),
        (lambda c: c["root"].__setitem__("path", ""), r"root\.path"),
        (lambda c: c["mounts"].append({"destination": "rel"}), r"mounts\[6\]\.destination"),
        (lambda c: c["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}), "RLIMIT_BOGUS"),
        (lambda c: c["linux"]["namespaces"].remove({"type": "uts"}), "hostname"),
        (lambda c: c["linux"].__setitem__("uidMappings", [{"containerID": 0, "hostID": 1, "size": 1}]), "user"),
        (lambda c: c["linux"].__setitem__("sysctl", {"../x": "1"}), "sysctl"),
        (lambda c: c.__setitem__("hooks", {"poststart": [{"path": "rel"}]}), r"hooks\.poststart\[0\]\.path"),
        (lambda c: c["linux"].__setitem__("resources", {"blockIO": {"weight": 10}}), "blockIO"),
    ],
)
def test_invalid_configs(mutate: Any, message: str) -> None:
    cfg = base_config()
    mutate(cfg)
    with pytest.raises(SpecError, match=message):
        parse(cfg)




def test_prestart_hooks_run_with_create_runtime() -> None:
    cfg = base_config()
    cfg["hooks"] = {"prestart": [{"path": "/bin/a"}], "createRuntime": [{"path": "/bin/b", "timeout": 3}]}
    h = parse(cfg).hooks
    assert [x.path for x in h.create_runtime] == ["/bin/a", "/bin/b"]
    assert h.create_runtime[1].timeout == 3


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file"):
        load(tmp_path)
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(SpecError, match="not valid JSON"):
        load(tmp_path)
    cfg = base_config()
    del cfg["process"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(SpecError, match="process"):
        load(tmp_path)
