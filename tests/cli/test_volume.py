"""``geedocker volume``: create, ls (filters, -q, --format), inspect, rm, prune, against docker's output shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geedocker.cli.main import main


def gd(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--root", str(tmp_path / "root"), "--run-root", str(tmp_path / "run"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_volume_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gd(tmp_path, capsys, "volume", "create", "--label", "a=b", "-o", "type=tmpfs", "-o", "device=tmpfs",
              "web")[:2] == (0, "web\n")  # fmt: skip
    code, name, _ = gd(tmp_path, capsys, "volume", "create")
    anon = name.strip()
    assert code == 0 and len(anon) == 64
    assert gd(tmp_path, capsys, "volume", "create", "--name", "dbq")[1] == "dbq\n"
    code, out, _ = gd(tmp_path, capsys, "volume", "ls")
    assert out.splitlines() == ["DRIVER    VOLUME NAME", *(f"local     {n}" for n in sorted([anon, "dbq", "web"]))]
    assert gd(tmp_path, capsys, "volume", "ls", "-q", "--filter", "label=a")[1] == "web\n"
    assert gd(tmp_path, capsys, "volume", "ls", "-q", "--filter", "label=a=c")[1] == ""
    assert gd(tmp_path, capsys, "volume", "ls", "-q", "-f", "name=dbq", "-f", "dangling=true")[1] == "dbq\n"
    assert gd(tmp_path, capsys, "volume", "ls", "-q", "-f", "dangling=false")[1] == ""
    code, out, _ = gd(tmp_path, capsys, "volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "name=web")
    assert out == "web:a=b\n"
    row = json.loads(gd(tmp_path, capsys, "volume", "ls", "--format", "json", "-f", "name=dbq")[1])
    assert row["Name"] == "dbq" and row["Driver"] == "local" and row["Scope"] == "local"
    code, out, _ = gd(tmp_path, capsys, "volume", "inspect", "web", "dbq")
    web, dbv = json.loads(out)
    assert set(web) == {"CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"}
    assert web["Labels"] == {"a": "b"} and web["Options"] == {"device": "tmpfs", "type": "tmpfs"}
    assert web["Mountpoint"] == str(tmp_path / "root" / "volumes" / "web" / "_data")
    assert dbv["Labels"] is None and dbv["Options"] is None  # as docker's CLI 28 makes them
    assert gd(tmp_path, capsys, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "dbq")[1] == "dbq local\n"
    code, out, err = gd(tmp_path, capsys, "volume", "inspect", "nope")
    assert code == 1 and "No such volume: nope" in err
    assert gd(tmp_path, capsys, "volume", "rm", "nope")[0] == 1
    assert gd(tmp_path, capsys, "volume", "rm", "-f", "nope")[0] == 0
    # docker 23+: prune takes anonymous volumes only, unless -a
    code, out, _ = gd(tmp_path, capsys, "volume", "prune", "-f")
    assert out == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n"
    code, out, _ = gd(tmp_path, capsys, "volume", "prune", "-f", "-a", "--filter", "label=a")
    assert out.startswith("Deleted Volumes:\nweb\n")
    assert gd(tmp_path, capsys, "volume", "rm", "dbq")[:2] == (0, "dbq\n")
    assert gd(tmp_path, capsys, "volume", "ls", "-q")[1] == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [(["create", "a/b"], "invalid characters"), (["create", "-o", "size=1", "xx"], 'invalid option: "size"'),
     (["create", "-d", "nfs", "xx"], "plugin"), (["ls", "-f", "color=red"], "Invalid filter 'color'"),
         (["ls", "-f", "dangling=maybe"], "Invalid filter 'dangling=[maybe]'")],
)  # fmt: skip
def test_volume_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = gd(tmp_path, capsys, "volume", *args)
    assert code != 0 and message in err and "Traceback" not in err
