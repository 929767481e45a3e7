"""Flag parsing for create/run: values become RunOptions; bad values exit 125 before anything runs."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from geedocker.argparsing import ArgumentParser
from geedocker.cli import create
from geedocker.cli.main import main
from geedocker.containers.options import MountSpec
from geedocker.errors import UsageError


def parse(*argv: str) -> argparse.Namespace:
    p = ArgumentParser(prog="geedocker run")
    create.add_container_flags(p)
    return p.parse_args(list(argv))


def test_flags_become_run_options(tmp_path: Path) -> None:
    envf = tmp_path / "env"
    envf.write_text("FROMFILE=1\nB=file\n")
    args = parse(
        "-it", "--name", "web", "-e", "A=1", "-e", "B=flag", "--env-file", str(envf), "-w", "/srv", "-u", "app:extra",
        "-h", "box", "--entrypoint", "/bin/sh", "--read-only", "-v", "/a:/b:ro", "--mount", "type=tmpfs,target=/t",
        "--tmpfs", "/run", "-m", "64m", "--cpus", "0.5", "--pids-limit", "20", "--stop-signal", "SIGQUIT",
        "--stop-timeout", "3", "--network", "none", "--cap-add", "SYS_ADMIN", "--cap-drop", "chown",
        "--security-opt", "no-new-privileges", "-l", "k=v", "busybox", "echo", "-n", "hi",
    )  # fmt: skip
    o = create.options_from_args(args, detach=True, rm=True)
    assert o.name == "web" and o.interactive and o.tty and o.detach and o.rm
    assert o.env == ("FROMFILE=1", "B=file", "A=1", "B=flag")  # files first, then -e
    assert (o.workdir, o.user, o.hostname, o.entrypoint) == ("/srv", "app:extra", "box", "/bin/sh")
    assert o.read_only
    assert o.mounts == (
        MountSpec("bind", "/b", "/a", True, mode="ro"),
        MountSpec("tmpfs", "/t", "tmpfs", False, ()),
        MountSpec("tmpfs", "/run", "tmpfs", False, ()),
    )
    assert (o.memory, o.memory_swap, o.nano_cpus, o.pids_limit) == (64 << 20, 128 << 20, 500_000_000, 20)
    assert (o.stop_signal, o.stop_timeout, o.network) == ("SIGQUIT", 3, "none")
    assert o.cap_add == ("SYS_ADMIN",) and o.cap_drop == ("chown",)
    assert o.no_new_privileges and o.labels == (("k", "v"),)
    assert args.image == "busybox" and o.command == ("echo", "-n", "hi")


def test_defaults() -> None:
    o = create.options_from_args(parse("busybox"))
    assert o.command == () and o.entrypoint is None and o.network == "bridge" and not o.rm
    assert o.memory is None and o.env == ()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-m", "1k"], "Minimum memory limit"),
        (["-m", "lots"], "invalid --memory"),
        (["--cpus", "x"], "invalid --cpus"),
        (["--stop-signal", "NOPE"], "invalid signal"),
        (["--cap-add", "FLYING"], "unknown capability"),
        (["-v", "a/b:/x"], "invalid characters for a local volume name"),
        (["-v", "x:/y"], "volume name is too short"),
        (["--mount", "type=volume,target=/x,volume-driver=nfs"], "not supported"),
        (["--volumes-from", "c:rx"], "invalid --volumes-from"),
        (["-v", "/a:/x", "-v", "v1:/x"], "Duplicate mount point"),
        (["--network", "mynet"], "network mynet not found"),
        (["--security-opt", "apparmor=foo"], "unsupported --security-opt"),
        (["--name", "bad name"], "Invalid container name"),
        (["-w", "relative"], "absolute path"),
        (["-e", "=x"], "invalid environment variable"),
        (["--pids-limit", "-5"], "invalid --pids-limit"),
        (["--expose", "abc"], 'invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc"'),
        (["--device", "/dev/null:/dev/x:rwz"], "bad mode specified: rwz"),
        (["--log-driver", "xyz"], 'error looking up logging plugin xyz: plugin "xyz" not found'),
        (["--log-driver", "syslog"], "not supported by geedocker"),
        (["--log-opt", "foo=bar"], "unknown log opt 'foo' for json-file log driver"),
        (["--log-opt", "max-size=abc"], "failed to initialize logging driver: invalid size: 'abc'"),
        (["--log-opt", "max-file=0"], "max-file cannot be less than 1"),
        (["--log-driver", "none", "--log-opt", "max-size=1m"], "invalid logging opts for driver none"),
        (["--log-driver", "local", "--log-opt", "labels=a"], "unknown log opt 'labels' for local log driver"),
        (["-a", "bogus"], 'invalid argument "bogus" for "-a, --attach" flag'),
        (["--pull", "sometimes"], "invalid pull option: 'sometimes': must be one of"),
        (["--platform", "bogus"], "invalid platform 'bogus'"),
        (["-v", "/tmp:/"], "invalid volume specification: '/tmp:/': invalid mount config for type \"bind\": "
                           "invalid specification: destination can't be '/'"),
        (["-v", "/tmp://.:ro"], "destination can't be '/'"),
        (["-v", "vol:/"], "invalid mount config for type \"volume\""),
        (["-v", "/"], "destination can't be '/'"),
        (["--mount", "type=bind,source=/tmp,target=/"],
         "invalid mount config for type \"bind\": invalid specification: destination can't be '/'"),
        (["--mount", "type=tmpfs,dst=//"], "invalid mount config for type \"tmpfs\""),
        (["--tmpfs", "/"], "invalid specification: destination can't be '/'"),
    ],
)
def test_bad_values_exit_125(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--root", str(tmp_path / "root"), "run", *flags, "busybox", "true"])
    assert code == 125
    err = capsys.readouterr().err
    daemon = flags[0] in ("--log-driver", "--log-opt") and "none" not in flags  # docker's CLI checks "none"
    assert err.startswith("Error response from daemon: " if daemon else "Error: ")
    assert message in err
    assert not (tmp_path / "root" / "containers").exists() or not any((tmp_path / "root" / "containers").iterdir())


@pytest.mark.parametrize(
    "flags",
    [["--log-driver", "xyz"], ["--log-opt", "foo=bar"], ["--log-opt", "max-size=abc"], ["-v", "/tmp:/x:zz"],
     ["-v", "/tmp:/x:rw,ro"], ["-v", "/tmp:/x:nocopy"]],
)  # fmt: skip
def test_daemon_refusals_exit_1_from_create(flags: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """What docker's daemon refuses is its "Error response from daemon", status 1 from ``create`` (125 from
    ``run``, above), as docker's CLI exits."""
    code = main(["--root", str(tmp_path / "root"), "create", *flags, "busybox", "true"])
    assert code == 1
    assert capsys.readouterr().err.startswith("Error response from daemon: ")


def test_unknown_flag_exits_125(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--root", str(tmp_path), "run", "--no-such-flag", "busybox"])
    assert e.value.code == 125
    assert capsys.readouterr().err == "unknown flag: --no-such-flag\nSee 'geedocker run --help'.\n"


@pytest.mark.parametrize("flag", ["--priv", "--pid=host", "--netw=host", "--cap=ALL", "--secur=seccomp=unconfined"])
def test_abbreviated_flags_are_unknown_flags(flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--priv`` ran a privileged container through argparse's prefix matching, ``--pid=host`` set
    ``--pids-limit``: both are unknown flags, and nothing is created."""
    with pytest.raises(SystemExit) as e:
        main(["--root", str(tmp_path / "root"), "run", flag, "busybox", "true"])
    assert e.value.code == 125
    assert capsys.readouterr().err.startswith(f"unknown flag: {flag.partition('=')[0]}\n")
    assert not (tmp_path / "root").exists()


def test_a_flag_after_the_image_belongs_to_the_command() -> None:
    assert parse("busybox", "ls", "--priv").command == ["ls", "--priv"]


@pytest.mark.parametrize(
    "argv",
    [["run", "--x", "busybox"], ["run", "-Z", "busybox"], ["--xx", "ps"], ["network", "create", "--xx", "a"],
     ["ps", "--al"]],
)
def test_unknown_flag_messages_are_dockers(argv: list[str], tmp_path: Path) -> None:
    """The docker 20.10 CLI's own words for the same command line, ``docker`` read as ``geedocker``."""
    import subprocess
    import sys

    docker = Path("/usr/bin/docker")
    if not docker.exists():
        pytest.skip("no docker CLI")
    theirs = subprocess.run([str(docker), *argv], capture_output=True, text=True, timeout=30,
                            env={"DOCKER_HOST": "unix:///nonexistent", "HOME": str(tmp_path)})
    ours = subprocess.run([sys.executable, "-m", "geedocker", "--root", str(tmp_path / "r"), *argv],
                          capture_output=True, text=True, timeout=30)
    assert (ours.returncode, theirs.returncode) == (125, 125)
    want = theirs.stderr.split("\n\nUsage:", 1)[0].rstrip("\n").replace("docker", "geedocker")
    assert ours.stderr.rstrip("\n") == want


def test_rootfs_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path / "r"), "create", "--rootfs", str(tmp_path / "nope"), "true"]) == 125
    assert "not a directory" in capsys.readouterr().err


def test_missing_image_with_pull_never(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path / "r"), "run", "--pull", "never", "nosuchimage:1", "true"]) == 125
    assert "No such image" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["-v", "--mount"])
def test_a_host_directory_on_the_containers_root_is_refused_and_left_untouched(
        flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = tmp_path / "x"
    x.mkdir()
    value = f"{x}:/" if flag == "-v" else f"type=bind,source={x},target=/"
    assert main(["--root", str(tmp_path / "root"), "run", flag, value, "--rootfs", str(tmp_path), "true"]) == 125
    assert "destination can't be '/'" in capsys.readouterr().err
    assert list(x.iterdir()) == []
    assert not (tmp_path / "root" / "containers").exists() or not any((tmp_path / "root" / "containers").iterdir())


def test_gpus_is_refused_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path / "r"), "run", "--gpus", "all", "busybox", "true"]) == 125
    assert "--gpus all: GPUs are not supported by geedocker" in capsys.readouterr().err


def test_step_seven_flags_become_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--device, --log-driver/--log-opt, --cidfile, --expose, -a; a -v source starting with "." is made absolute
    against the working directory (docker's CLI 23+), another relative one is a volume's name."""
    monkeypatch.chdir(tmp_path)
    args = parse("--device", "/dev/null:/dev/mynull:r", "--device", "/dev/zero:rw", "--log-driver", "local",
                 "--log-opt", "max-size=10m", "--log-opt", "max-file=3", "--cidfile", "/tmp/x.cid", "--expose",
                 "9000-9001/udp", "--expose", "80", "-a", "STDOUT", "-a", "stderr", "-v", "./data:/d", "-v",
                 "../up:/u:ro", "-v", "named:/n", "-v", "/h:/c:cached", "busybox")  # fmt: skip
    o = create.options_from_args(args)
    assert o.devices == (("/dev/null", "/dev/mynull", "r"), ("/dev/zero", "/dev/zero", "rw"))
    assert (o.log_driver, o.log_opts) == ("local", (("max-file", "3"), ("max-size", "10m")))
    assert o.cidfile == "/tmp/x.cid" and o.expose == ("80/tcp", "9000/udp", "9001/udp")
    assert o.attach == ("stdout", "stderr")
    assert [(m.type, m.source, m.target, m.flag) for m in o.mounts] == [
        ("bind", str(tmp_path / "data"), "/d", "-v"), ("bind", str(tmp_path.parent / "up"), "/u", "-v"),
        ("volume", "named", "/n", "-v"), ("bind", "/h", "/c", "-v")]  # fmt: skip
    d = create.options_from_args(parse("--log-driver", "json-file", "busybox"))
    assert d.log_driver == "" and d.log_opts == ()  # the default driver is kept as ""
    with pytest.raises(UsageError, match="conflicting options: cannot specify both --attach and --detach") as e:
        create.options_from_args(parse("-a", "stdout", "busybox"), detach=True)
    assert e.value.exit_code == 1  # docker 28's status for this one


def test_cidfile_is_written_once_and_refused_when_present(tmp_path: Path) -> None:
    path = tmp_path / "c.id"
    with create.cidfile(str(path)) as write:
        assert path.exists()  # made first: a file that cannot be written stops the container before it is made
        write("a" * 64)
    assert path.read_text() == "a" * 64
    with pytest.raises(UsageError, match="container ID file found, make sure the other container isn't running"):
        with create.cidfile(str(path)):
            pass
    with pytest.raises(UsageError, match="failed to create the container ID file: open .*: no such file"):
        with create.cidfile(str(tmp_path / "nodir" / "c.id")):
            pass
    gone = tmp_path / "failed.id"
    with pytest.raises(RuntimeError), create.cidfile(str(gone)):
        raise RuntimeError("the container was not made")
    assert not gone.exists()  # no id was written: the file goes
    with create.cidfile("") as write:
        write("ignored")
