"""``cp`` on real containers: docker's table for files and directories, tar streams, -a and -L, volumes, a running
and a stopped container, and hostile symlinks in the container that must not reach the host."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from geedocker.containers.copy import Endpoint, _plan, parse_endpoint
from geedocker.containers.copyerrors import CopyError
from tests.containers.conftest import Engine, mounts_under

NONE = ("--network", "none")


def test_parse_endpoint() -> None:
    assert parse_endpoint("c1:/x") == Endpoint("c1", "/x")
    assert parse_endpoint("c1:") == Endpoint("c1", "/")
    assert parse_endpoint("./a:b") == Endpoint("", "./a:b")  # a '/' before the ':' makes it a host path
    assert parse_endpoint("-") == Endpoint("", "-")


def test_docker_table() -> None:
    assert _plan("/f", False, False, False, "/new") == ("/", "new", False)
    assert _plan("/f", False, True, True, "/d") == ("/d", "f", False)
    assert _plan("/f", False, True, False, "/d/g") == ("/d", "g", False)
    with pytest.raises(CopyError, match="no such directory"):
        _plan("/f", False, False, False, "/nodir/")
    assert _plan("/dir", True, False, False, "/new") == ("/", "new", False)
    assert _plan("/dir", True, True, True, "/d") == ("/d", "dir", False)
    assert _plan("/dir/.", True, True, True, "/d") == ("/d", ".", True)
    with pytest.raises(CopyError, match="cannot copy directory"):
        _plan("/dir", True, True, False, "/file")


@pytest.fixture
def host(tmp_path: Path) -> Path:
    h = tmp_path / "h"
    (h / "dir").mkdir(parents=True)
    (h / "dir" / "a").write_text("a\n")
    (h / "file").write_text("f\n")
    os.chown(h / "file", 1234, 1234)
    os.chmod(h / "file", 0o640)
    return h


def tar_names(data: bytes) -> list[tuple[str, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return [(m.name, m.uid) for m in tf.getmembers()]


@pytest.mark.root
def test_cp_both_ways_on_a_stopped_container(engine: Engine, host: Path) -> None:
    cid = engine.cli("create", *NONE, "--name", "box", "--rootfs", str(engine.layer), "true").stdout.strip()
    assert len(cid) == 64
    assert engine.cli("cp", str(host / "file"), "box:/newfile").returncode == 0
    assert engine.cli("cp", "-a", str(host / "file"), "box:/kept").returncode == 0
    assert engine.cli("cp", str(host / "dir"), "box:/data").returncode == 0  # missing DEST: becomes the dir
    assert engine.cli("cp", str(host / "dir"), "box:/data").returncode == 0  # an existing DEST: the dir goes in
    assert engine.cli("cp", str(host / "file"), "box:/data/dir/").returncode == 0
    assert engine.cli("cp", str(host / "dir") + "/.", "box:/data/dir").returncode == 0  # content into a dir
    r = engine.cli("cp", str(host / "dir"), "box:/newfile")
    assert r.returncode == 1 and "cannot copy directory" in r.stderr
    r = engine.cli("cp", str(host / "file"), "box:/nodir/")
    assert r.returncode == 1 and "no such directory" in r.stderr
    r = engine.cli("cp", "box:/nope", str(host))
    assert r.returncode == 1 and "Could not find the file /nope in container box" in r.stderr
    out = subprocess.run(engine.argv("cp", "box:/newfile", "-"), capture_output=True, env=engine.env).stdout
    assert tar_names(out) == [("newfile", 0)]  # without -a: owned by the container's root
    out = subprocess.run(engine.argv("cp", "box:/kept", "-"), capture_output=True, env=engine.env).stdout
    assert tar_names(out) == [("kept", 1234)]  # -a keeps the source's owner
    out = subprocess.run(engine.argv("cp", "box:/data", "-"), capture_output=True, env=engine.env).stdout
    assert sorted(n for n, _ in tar_names(out)) == ["data", "data/a", "data/dir", "data/dir/a", "data/dir/file"]
    assert engine.cli("cp", "box:/data", str(host / "out")).returncode == 0
    assert (host / "out" / "dir" / "a").read_text() == "a\n" and (host / "out" / "a").read_text() == "a\n"
    assert engine.cli("cp", "box:/newfile", str(host / "dir")).returncode == 0
    st = os.stat(host / "dir" / "newfile")
    assert (st.st_mode & 0o777, st.st_uid) == (0o640, 0)
    assert mounts_under(engine.layout.root) == []  # the overlay was mounted for the copy only
    # as dockerd's (docker's CLI copies through its API): each copy in extracts, each copy out archives; a
    # copy that fails logs nothing
    r = engine.cli("events", "--since", "1m", "--until", "0s", "--filter", "container=box", "--format",
                   "{{.Action}} {{.Actor.Attributes.name}}")  # fmt: skip
    assert r.stdout.splitlines() == ["create box", *["extract-to-dir box"] * 6, *["archive-path box"] * 5]


@pytest.mark.root
def test_cp_stream_from_stdin_and_into_a_volume_of_a_running_container(engine: Engine, host: Path) -> None:
    r = engine.run("sh", "-c", "sleep 30", flags=("-d", *NONE, "--name", "live", "-v", "vol1:/vol"))
    assert r.returncode == 0, r.stderr
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("streamed.wh.txt")  # a '.wh.' name is a plain file here, not a whiteout
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"s!\n"))
    p = subprocess.run(engine.argv("cp", "-", "live:/vol"), input=buf.getvalue(), capture_output=True, env=engine.env)
    assert p.returncode == 0, p.stderr
    assert engine.cli("exec", "live", "cat", "/vol/streamed.wh.txt").stdout == "s!\n"
    assert engine.cli("cp", str(host / "file"), "live:/vol/f").returncode == 0
    assert engine.cli("exec", "live", "cat", "/vol/f").stdout == "f\n"
    assert engine.cli("cp", "live:/vol/f", str(host / "back")).returncode == 0
    assert (host / "back").read_text() == "f\n"


@pytest.mark.root
def test_hostile_symlinks_stay_in_the_container(engine: Engine, host: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret"
    secret.write_text("host only\n")
    script = (
        f"ln -s / /rootlink; ln -s ../../../../../../{secret.relative_to('/')} /climb; "
        f"ln -s {secret} /abs; mkdir -p /d; ln -s ../../../../../../tmp /d/up; echo inside > /marker"
    )
    assert engine.run("sh", "-c", script, flags=(*NONE, "--name", "evil")).returncode == 0
    # reading through links: they resolve inside the container, where the host's file is not
    for link in ("climb", "abs"):
        r = engine.cli("cp", "-L", f"evil:/{link}", str(host / f"got-{link}"))
        assert r.returncode == 1 and "Could not find the file" in r.stderr, r.stderr
        assert not (host / f"got-{link}").exists()
    assert engine.cli("cp", "evil:/rootlink/marker", str(host / "m")).returncode == 0
    assert (host / "m").read_text() == "inside\n"  # '/' is the container's root
    r = engine.cli("cp", "evil:/climb", str(host / "link"))  # without -L: the link itself, which points out
    assert r.returncode == 1 and "invalid symlink" in r.stderr and not (host / "link").exists()  # docker refuses
    assert engine.cli("cp", "evil:/abs", str(host / "abs")).returncode == 0  # an absolute link stays as it is
    assert os.readlink(host / "abs") == str(secret)
    # writing through links: the copy lands inside the container, never on the host
    assert engine.cli("cp", str(host / "file"), f"evil:/d/up/{secret.name}").returncode == 0
    assert secret.read_text() == "host only\n"
    assert engine.cli("cp", str(host / "file"), "evil:/rootlink/tmp/").returncode == 0
    assert not (Path("/tmp") / "file").exists() or (Path("/tmp") / "file").read_text() != "f\n"
    out = subprocess.run(engine.argv("cp", "evil:/tmp/.", "-"), capture_output=True, env=engine.env).stdout
    assert sorted(n for n, _ in tar_names(out)) == [".", "./file", f"./{secret.name}"]
