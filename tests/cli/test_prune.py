"""``system prune`` and the prune commands: docker's prompt, filters, sections and totals (geedocker.cli.prune).

Containers and images need root and a registry: tests/integration/test_docker_compat.py compares those with
dockerd. Here, what runs without either: volumes, networks and the build cache."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.cli.main import main
from tests.support.netenv import remove_store_firewall

WARNING = """WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all dangling images
  - unused build cache
"""
QUESTION = "Are you sure you want to continue? [y/N] "


@pytest.fixture(autouse=True)
def _no_table_left(tmp_path: Path) -> Iterator[None]:
    """A network made here gives the store an nftables table (as root): it goes with the test."""
    yield
    remove_store_firewall(tmp_path / "root")


def gd(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str,
       stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(["--root", str(tmp_path / "root"), "--run-root", str(tmp_path / "run"), *args])
    except SystemExit as e:  # a usage error
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _anonymous_volume(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                      content: bytes) -> str:
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "volume", "create")
    assert code == 0
    name = out.strip()
    (tmp_path / "root" / "volumes" / name / "_data" / "f").write_bytes(content)
    return name


def test_system_prune_asks_then_removes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    anon = _anonymous_volume(tmp_path, capsys, monkeypatch, b"x" * 1500)
    assert gd(tmp_path, capsys, monkeypatch, "volume", "create", "named")[0] == 0
    assert gd(tmp_path, capsys, monkeypatch, "network", "create", "unused-net")[0] == 0
    # no answer (a closed or non-terminal stdin too) is "no", as docker's prompt
    assert gd(tmp_path, capsys, monkeypatch, "system", "prune", "--volumes") == (0, WARNING + "\n" + QUESTION, "")
    assert gd(tmp_path, capsys, monkeypatch, "system", "prune", "--volumes", stdin="n\n")[1].endswith(QUESTION)
    assert sorted(gd(tmp_path, capsys, monkeypatch, "volume", "ls", "-q")[1].split()) == sorted([anon, "named"])
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "prune", "--volumes", stdin="y\n")
    assert code == 0
    assert out == (WARNING + "\n" + QUESTION + "Deleted Networks:\nunused-net\n\n"
                   f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 1.5kB\n")  # fmt: skip
    # docker 23+: a named volume goes only with volume prune -a
    assert gd(tmp_path, capsys, monkeypatch, "volume", "ls", "-q")[1] == "named\n"
    assert gd(tmp_path, capsys, monkeypatch, "system", "prune", "-f") == (0, "Total reclaimed space: 0B\n", "")


def test_system_prune_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "prune", "-a", "--filter", "until=1h",
                      "--filter", "label=b", "--filter", "label=a")
    assert code == 0
    assert "  - all images without at least one container associated to them\n  - all build cache\n\n" in out
    assert out.endswith("\n  Items to be pruned will be filtered with:\n  - label=a\n  - label=b\n  - until=1h\n\n"
                        + QUESTION)
    # dockerd's answers (exit 1); a filter without "=" is a flag error (125)
    for args, err in ((["--filter", "color=red"], "Error response from daemon: Invalid filter 'color'\n"),
                      (["--filter", "until=soon"],
                       'Error response from daemon: failed to parse value as time or duration: "soon"\n'),
                      (["--volumes", "--filter", "until=1h"],
                       'ERROR: The "until" filter is not supported with "--volumes"\n')):  # fmt: skip
        assert gd(tmp_path, capsys, monkeypatch, "system", "prune", "-f", *args) == (1, "", err), args
    assert gd(tmp_path, capsys, monkeypatch, "system", "prune", "-f", "--filter", "label")[0] == 125
    # networks: until= (created before) and label=/label!=
    for name, labels in (("n-old", ["--label", "keep=no"]), ("n-kept", ["--label", "keep=yes"])):
        assert gd(tmp_path, capsys, monkeypatch, "network", "create", *labels, name)[0] == 0
    assert gd(tmp_path, capsys, monkeypatch, "network", "prune", "-f", "--filter", "until=1h")[1] == ""
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "network", "prune", "-f", "--filter", "until=2100-01-01",
                      "--filter", "label!=keep=yes")
    assert (code, out) == (0, "Deleted Networks:\nn-old\n\n")
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "prune", "-f", "--filter", "label=keep")
    assert (code, out) == (0, "Deleted Networks:\nn-kept\n\nTotal reclaimed space: 0B\n")


def test_volume_and_builder_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    anon = _anonymous_volume(tmp_path, capsys, monkeypatch, b"y" * 12345)
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "volume", "prune")
    assert (code, out) == (0, "WARNING! This will remove anonymous local volumes not used by at least one "
                              "container.\n" + QUESTION)  # fmt: skip
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "volume", "prune", stdin="yes\n")
    assert out.endswith(f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 12.35kB\n")
    assert gd(tmp_path, capsys, monkeypatch, "volume", "prune", "-f", "--filter", "nope=1")[:2] == (1, "")
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "builder", "prune")
    assert out == "WARNING! This will remove all dangling build cache. " + QUESTION
    assert gd(tmp_path, capsys, monkeypatch, "builder", "prune", "-f")[1] == "Total reclaimed space: 0B\n"


def test_system_df_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    anon = _anonymous_volume(tmp_path, capsys, monkeypatch, b"z" * 2000)
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "df", "-v")
    assert code == 0
    assert out == ("Images space usage:\n\n"
                   "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS\n"
                   "\nContainers space usage:\n\n"
                   "CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n"
                   "\nLocal Volumes space usage:\n\n"
                   "VOLUME NAME" + " " * 56 + "LINKS     SIZE\n"
                   f"{anon}   0         2kB\n"
                   "\nBuild cache usage: 0B\n\n"
                   "CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n")  # fmt: skip
    # a template sees docker's diskUsageContext, and its text ends without a newline (as docker's)
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "df", "-v", "--format", "json")
    data = json.loads(out)
    assert not out.endswith("\n") and sorted(data) == ["BuildCache", "Containers", "Images", "Volumes"]
    assert data["Volumes"][0]["Name"] == anon and data["Volumes"][0]["Size"] == "2kB"
    assert sorted(data["Volumes"][0]) == ["Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name",
                                          "Scope", "Size", "Status"]  # fmt: skip
    out = gd(tmp_path, capsys, monkeypatch, "system", "df", "-v", "--format", "{{range .Volumes}}{{.Links}}{{end}}")[1]
    assert out == "0"
    code, out, _ = gd(tmp_path, capsys, monkeypatch, "system", "df", "--format", "{{.Type}}:{{.Size}}:{{.Active}}")
    assert out == "Images:0B:0\nContainers:0B:0\nLocal Volumes:2kB:0\nBuild Cache:0B:0\n"
