"""The fast launchers: written by ``python -m geedocker.launcher``, started with ``python -S``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from geedocker import launcher
from geedocker.errors import UsageError


def test_import_path_starts_with_the_package_and_leaves_out_the_standard_library(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    stdlib = launcher.no_site_path(sys.executable)
    path = launcher.import_path(sys.executable, [*stdlib, str(extra), str(tmp_path / "missing"), str(extra), ""])
    assert path[0] == str(Path(launcher.__file__).resolve().parents[1])
    assert path[1:] == [str(extra)]  # once, existing dirs only, no stdlib, no ""


def test_no_site_path_is_the_standard_library_only() -> None:
    path = launcher.no_site_path(sys.executable)
    assert path, "python -S has a standard library path"
    assert not any(p.endswith(("site-packages", "dist-packages")) for p in path)


def test_script_text_runs_main_of_the_module_without_site() -> None:
    text = launcher.script_text("geedocker.cli.main", "/usr/bin/python3", ["/a", "/b"])
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/python3 -S"
    assert "sys.path.extend(['/a', '/b'])" in lines
    assert lines[-2:] == ["from geedocker.entrypoint import launch", "launch('geedocker.cli.main')"]


@pytest.mark.parametrize("python", ["/opt/my python/bin/python3", "/" + "x" * 300])
def test_script_text_refuses_an_interpreter_no_shebang_can_name(python: str) -> None:
    with pytest.raises(UsageError, match="launcher"):
        launcher.script_text("geedocker.cli.main", python, [])


def test_install_writes_working_launchers_that_skip_site(tmp_path: Path) -> None:
    written = launcher.install(tmp_path)
    assert sorted(p.name for p in written) == ["geedocker", "geedocker-runtime"]
    for p in written:
        assert os.access(p, os.X_OK)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(tmp_path / "geedocker"), "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "geedocker version 0.1.0, build geedocker-0.1.0"
    out = subprocess.run([str(tmp_path / "geedocker-runtime"), "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "geedocker-runtime version" in out.stdout
    # the launcher's interpreter really ran without site: no site module, no .pth code
    probe = tmp_path / "probe.py"
    probe.write_text((tmp_path / "geedocker").read_text().split("from geedocker", 1)[0]
                     + "import geedocker\nprint(sys.flags.no_site, 'site' in sys.modules, geedocker.__file__)\n")
    out = subprocess.run([sys.executable, "-S", str(probe)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    no_site, site_loaded, where = out.stdout.split()
    assert (no_site, site_loaded) == ("1", "False")
    assert where == launcher.__file__.replace("launcher.py", "__init__.py")


def test_install_replaces_an_existing_script_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "geedocker").write_text("#!/bin/sh\necho old\n")
    launcher.install(tmp_path, names=("geedocker",))
    assert (tmp_path / "geedocker").read_text().startswith(f"#!{sys.executable} -S\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["geedocker"]


def test_install_refuses_an_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown launcher 'docker'"):
        launcher.install(tmp_path, names=("docker",))


def test_main_reports_errors_with_a_nonzero_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.main(["--bindir", str(tmp_path), "nope"]) == UsageError.exit_code != 0
    assert "unknown launcher 'nope'" in capsys.readouterr().err
    assert launcher.main(["--bindir", str(tmp_path), "geedocker"]) == 0
    assert (tmp_path / "geedocker").exists()


def test_can_run_geedocker_needs_the_package_and_its_dependencies_on_the_path() -> None:
    assert launcher.can_run_geedocker(sys.executable, launcher.import_path(sys.executable))
    assert not launcher.can_run_geedocker(sys.executable, [])  # -S alone: neither geedocker nor urllib3


def test_preferred_python_is_the_distributions_build_only_when_it_can_run_geedocker(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "distribution_python", lambda: "")
    assert launcher.preferred_python("/opt/py/bin/python3") == "/opt/py/bin/python3"
    monkeypatch.setattr(launcher, "distribution_python", lambda: sys.executable)
    assert launcher.preferred_python(sys.executable) == sys.executable  # the same interpreter
    monkeypatch.setattr(launcher, "distribution_python", lambda: "/usr/bin/python3.11")
    monkeypatch.setattr(launcher, "can_run_geedocker", lambda python, path: False)
    assert launcher.preferred_python("/opt/py/bin/python3") == "/opt/py/bin/python3"
    monkeypatch.setattr(launcher, "can_run_geedocker", lambda python, path: python == "/usr/bin/python3.11")
    monkeypatch.setattr(launcher, "import_path", lambda python: [])
    assert launcher.preferred_python("/opt/py/bin/python3") == "/usr/bin/python3.11"


def test_main_refuses_an_interpreter_that_cannot_run_geedocker(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert launcher.main(["--bindir", str(tmp_path), "--python", "/bin/false"]) == UsageError.exit_code
    assert "/bin/false cannot import geedocker" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not launcher.distribution_python(), reason="no distribution build of this Python version")
def test_launchers_on_the_distributions_python_run_both_commands(tmp_path: Path) -> None:
    python = launcher.distribution_python()
    launcher.install(tmp_path, python=python)
    assert (tmp_path / "geedocker").read_text().startswith(f"#!{python} -S\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    for name, want in (("geedocker", "geedocker version 0.1.0"), ("geedocker-runtime", "geedocker-runtime version")):
        out = subprocess.run([str(tmp_path / name), "--version"], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        assert want in out.stdout
