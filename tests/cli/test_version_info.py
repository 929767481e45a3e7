"""``version``, ``--version`` and ``info``: docker's shapes, templates and template errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geedocker import __version__
from geedocker.cli.main import main


def gd(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--root", str(tmp_path / "root"), "--run-root", str(tmp_path / "run"), *args])
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gd(tmp_path, capsys, "version")
    assert code == 0 and out.startswith("Client:\n Version:           " + __version__ + "\n")
    assert "Server: geedocker\n Engine:\n" in out and "  API version:      1.41 (minimum version 1.12)\n" in out
    assert gd(tmp_path, capsys, "version", "--format", "{{.Server.Version}}|{{.Client.ApiVersion}}")[1] == \
        f"{__version__}|1.41\n"
    assert json.loads(gd(tmp_path, capsys, "version", "-f", "json")[1])["Server"]["Components"][0]["Name"] == "Engine"
    code, out, err = gd(tmp_path, capsys, "version", "-f", "{{.Nope}}")
    assert (code, out) == (1, "")
    assert err == ('template: version:1:2: executing "version" at <.Nope>: can\'t evaluate field Nope in type '
                   "system.versionInfo\n")
    code, out, _ = gd(tmp_path, capsys, "--version")
    assert code == 0 and out == f"geedocker version {__version__}, build geedocker-{__version__}\n"


def test_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gd(tmp_path, capsys, "info")
    assert code == 0 and "Server:\n Containers: 0\n  Running: 0\n" in out and " Storage Driver: overlay2\n" in out
    assert gd(tmp_path, capsys, "info", "-f", "{{.Containers}} {{.Images}} {{.DockerRootDir}}")[1] == \
        f"0 0 {tmp_path / 'root'}\n"
    assert json.loads(gd(tmp_path, capsys, "info", "--format", "{{json .ClientInfo}}")[1])["Version"] == __version__
    code, _, err = gd(tmp_path, capsys, "info", "-f", "{{.Nope}}")
    assert code == 1 and "can't evaluate field Nope in type system.dockerInfo" in err


def test_search_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = gd(tmp_path, capsys, "search", "busybox")
    assert (code, out) == (1, "")
    assert err.startswith("Error response from daemon: search is not supported by this registry (docker.io)")
    assert "(127.0.0.1:5000)" in gd(tmp_path, capsys, "search", "127.0.0.1:5000/x")[2]


def _fs_of(path: Path) -> str:
    import subprocess

    return subprocess.run(["stat", "-f", "-c", "%t", str(path)], capture_output=True, text=True, check=True).stdout


def test_info_names_the_filesystem_the_store_is_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import subprocess

    from geedocker.cli.info import FS_NAMES

    template = '{{range .DriverStatus}}{{if eq (index . 0) "Backing Filesystem"}}{{index . 1}}{{end}}{{end}}'
    want = FS_NAMES.get(int(_fs_of(tmp_path), 16), "<unknown>")
    assert gd(tmp_path, capsys, "info", "-f", template)[1] == f"{want}\n"
    if os.geteuid() != 0:
        return
    # a store on a tmpfs: not this machine's disk, so a fixed name could not pass both
    (tmp_path / "t").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(tmp_path / "t")], check=True)
    try:
        code = main(["--root", str(tmp_path / "t" / "root"), "--run-root", str(tmp_path / "run"), "info", "-f",
                     template])
        assert (code, capsys.readouterr().out) == (0, "tmpfs\n")
    finally:
        subprocess.run(["umount", "-l", str(tmp_path / "t")], check=True)
