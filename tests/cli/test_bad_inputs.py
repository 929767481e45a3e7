"""The CLI over a table of bad inputs: each ends with one line on stderr and docker's exit code, never a traceback.

The expected words and statuses are docker's where docker has some (checked with docker 20.10 and CLI 28 against a
test dockerd): ``--cpus nan`` -> 125 "failed to parse nan as a rational number"; ``--env-file`` of a binary ->
125 "invalid env file (PATH): invalid utf8 bytes at line 1"; ``save -o /missing/x.tar`` -> 1 "invalid output
path: directory ... does not exist"; ``save | head`` -> killed by SIGPIPE (141, quietly); ``save > /dev/full`` -> 1
"write /dev/stdout: no space left on device"; ``-p 70000:80`` -> 125.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from geedocker.store.layout import Layout
from tests.support.layers import make_busybox_rootfs
from tests.support.netenv import TEST_BRIDGE_ENV

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env(layout: Layout) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["GEEDOCKER_ROOT"] = str(layout.root)
    env["GEEDOCKER_RUN"] = str(layout.run)
    env.update(TEST_BRIDGE_ENV)
    return env


def cli(layout: Layout, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-m", "geedocker", *args], text=True, env=_env(layout), timeout=60,
                          **kw)  # type: ignore[call-overload, no-any-return]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int | None, words: str) -> None:
    """One line starting "Error: " holding ``words``, and status ``code`` (None: any failure)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    assert words in lines[0], proc.stderr
    assert proc.returncode == code if code is not None else proc.returncode not in (0, None), proc.returncode


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_busybox_rootfs(tmp_path_factory.mktemp("bad-inputs") / "diff")


@pytest.fixture
def image(layout: Layout, rootfs: Path, tmp_path: Path) -> str:
    tar = tmp_path / "rootfs.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(rootfs, arcname=".")
    proc = cli(layout, "import", str(tar), "bad:inputs")
    assert proc.returncode == 0, proc.stderr
    return "bad:inputs"


HUGE_NAME = "a" * 300

# (flags before the image, expected status, words of the one-line error): refused before a container is made
RUN_CASES = [
    (["--cpus", "nan"], 125, 'invalid argument "nan" for "--cpus" flag: failed to parse nan as a rational number'),
    (["--cpus", "inf"], 125, "failed to parse inf as a rational number"),
    (["--cpus", "1e308"], 125, "range of CPUs is from 0.01 to"),
    (["--env-file", "/bin/true"], 125, "invalid env file (/bin/true): invalid utf8 bytes at line 1"),
    (["-p", "70000:80"], 125, "invalid host port '70000'"),
    (["-p", "80:70000"], 125, "70000"),
    (["--ulimit", "nofile=abc"], 125, "invalid ulimit"),
    (["--memory", "1e400"], 125, "invalid --memory"),
    (["--shm-size", "1e400"], 125, "invalid --shm-size"),
    (["--network", "no-such-network"], 125, "network no-such-network not found"),
]


@pytest.mark.parametrize(("flags", "code", "words"), RUN_CASES, ids=[" ".join(c[0]) for c in RUN_CASES])
def test_run_refuses_bad_flags_in_one_line(layout: Layout, rootfs: Path, flags: list[str], code: int,
                                           words: str) -> None:
    proc = cli(layout, "run", "--rm", "--network", "none", *flags, "--rootfs", str(rootfs), "true")
    assert_one_line_error(proc, code, words)
    assert not list(layout.containers.glob("[0-9a-f]*")), "a refused run left a container dir"


def test_root_that_is_a_file(layout: Layout, tmp_path: Path) -> None:
    f = tmp_path / "a-file"
    f.write_text("")
    for args in (["ps"], ["images"], ["run", "--rm", "busybox", "true"]):
        assert_one_line_error(cli(layout, "--root", str(f), *args), 125, f"--root {f}: not a directory")


@pytest.mark.parametrize("content", [b"[]", b"null", b'"x"', b'{"tags": []}', b'{"images": 3}'])
def test_images_file_of_the_wrong_shape_is_named(layout: Layout, content: bytes) -> None:
    layout.images_file.write_bytes(content)
    for args in (["images"], ["rmi", "x"], ["save", "-o", str(layout.root / "x.tar"), "x"]):
        proc = cli(layout, *args)
        assert_one_line_error(proc, None, f"{layout.images_file} is corrupt")


def test_save_into_a_missing_directory(layout: Layout, image: str, tmp_path: Path) -> None:
    proc = cli(layout, "save", "-o", str(tmp_path / "missing" / "x.tar"), image)
    assert_one_line_error(proc, 1, f'invalid output path: directory "{tmp_path / "missing"}" does not exist')
    assert not (tmp_path / "missing").exists()


def test_save_to_a_closed_pipe_ends_quietly(layout: Layout, image: str) -> None:
    """``save | head -c 10``: docker dies of SIGPIPE, quietly; so do we (status 141, nothing on stderr)."""
    save = subprocess.Popen([sys.executable, "-m", "geedocker", "save", image], env=_env(layout),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert save.stdout is not None and save.stderr is not None
    assert len(save.stdout.read(10)) == 10
    save.stdout.close()  # the reader goes away
    err = save.stderr.read().decode()
    assert save.wait(timeout=60) == 128 + signal.SIGPIPE, err
    assert err == ""


def test_ps_to_a_closed_pipe_ends_quietly(layout: Layout) -> None:
    r, w = os.pipe()
    os.close(r)
    try:
        proc = cli(layout, "ps", "-a", stdout=w, capture_output=False, stderr=subprocess.PIPE)
    finally:
        os.close(w)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr


@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="no /dev/full")
def test_output_to_a_full_device(layout: Layout, image: str) -> None:
    with open("/dev/full", "wb") as full:
        proc = cli(layout, "save", image, stdout=full, capture_output=False, stderr=subprocess.PIPE)
        assert_one_line_error(proc, 1, "write /dev/stdout: no space left on device")
        proc = cli(layout, "images", stdout=full, capture_output=False, stderr=subprocess.PIPE)
        assert_one_line_error(proc, 1, "no space left on device")
    # -o onto a device writes into it: never replaced by a regular file
    proc = cli(layout, "save", "-o", "/dev/full", image)
    assert_one_line_error(proc, 1, "write /dev/full: no space left on device")
    assert Path("/dev/full").is_char_device()


def test_load_of_a_truncated_or_empty_stream(layout: Layout, image: str, tmp_path: Path) -> None:
    whole = tmp_path / "whole.tar"
    assert cli(layout, "save", "-o", str(whole), image).returncode == 0
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole.read_bytes()[:3000])
    assert_one_line_error(cli(layout, "load", "-i", str(cut)), 1, "truncated or damaged archive")
    with open(cut, "rb") as f:
        assert_one_line_error(cli(layout, "load", stdin=f), 1, "standard input: truncated or damaged archive")
    assert_one_line_error(cli(layout, "load", "-i", "/dev/null"), 1, "/dev/null: empty input")
    assert_one_line_error(cli(layout, "load", "-i", str(tmp_path / "nope.tar")), 1, "no such file")
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all\n" * 100)
    assert_one_line_error(cli(layout, "load", "-i", str(garbage)), 1, "not an image archive: not a tar file")
    with open(garbage, "rb") as f:  # docker's load exits 1 for any failure, its own or the daemon's
        assert_one_line_error(cli(layout, "load", stdin=f), 1, "standard input: not an image archive")
    assert not list(layout.tmp.iterdir()), "load left its copy of the stream behind"


def test_a_name_longer_than_a_file_name(layout: Layout, rootfs: Path) -> None:
    """docker takes a 300-character name; the name index keeps it under its hash."""
    proc = cli(layout, "create", "--network", "none", "--name", HUGE_NAME, "--rootfs", str(rootfs), "true")
    assert proc.returncode == 0, proc.stderr
    again = cli(layout, "create", "--network", "none", "--name", HUGE_NAME, "--rootfs", str(rootfs), "true")
    assert_one_line_error(again, 1, "is already in use")  # docker's create: a daemon refusal, 1
    assert HUGE_NAME in cli(layout, "ps", "-a").stdout
    assert cli(layout, "rm", HUGE_NAME).returncode == 0
    assert cli(layout, "ps", "-aq").stdout == ""


def _boom(args: object) -> int:
    try:
        raise KeyError("inner")
    except KeyError as e:
        raise RuntimeError("outer") from e


@pytest.mark.parametrize("debug", [False, True])
def test_the_safety_net(capsys: pytest.CaptureFixture[str], debug: bool) -> None:
    from geedocker.cli.main import _run_command

    class Module:
        run = staticmethod(_boom)

        def register(self, parser: object) -> None:
            pass

    code = _run_command(Module(), object(), debug)  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert code == 125
    assert err.strip().splitlines()[-1] == "Error: unexpected RuntimeError: outer"
    if debug:
        assert "KeyError: 'inner'" in err and "Traceback" in err
    else:
        assert err.count("\n") == 1


@pytest.mark.root
@pytest.mark.parametrize(("flags", "words"), [
    (["-h", "a" * 65], "sethostname 'aaaa"),
    (["--ulimit", "nofile=-1"], "setting RLIMIT_NOFILE to soft unlimited hard unlimited"),
])
def test_runtime_refusals_are_one_line(layout: Layout, rootfs: Path, flags: list[str], words: str) -> None:
    """Errors of the container's setup (after the runtime forked it): the init's own words, not "No such process"
    from a cgroup it died before joining, nor a Python overflow."""
    for _ in range(3):  # the init dies at different moments relative to the runtime's cgroup move
        proc = cli(layout, "run", "--rm", "--network", "none", *flags, "--rootfs", str(rootfs), "true")
        assert_one_line_error(proc, 125, words)
    assert cli(layout, "ps", "-aq").stdout == ""
