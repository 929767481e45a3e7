"""geedocker's CLI beside docker's: Debian's docker CLI 20.10 (``/usr/bin/docker``) on a private dockerd 20.10
(``tests.support.dockerd``), and geedocker on a store of its own, both with the same busybox image (imported from one
tarball). Each row of the tables goes to both; the exit statuses and the words must be the same:

- a wrong number of arguments, for every command that checks it (cobra's words, status 1);
- what docker's daemon refuses of ``run``/``create`` (``-v`` modes, log drivers and options: ``create`` exits 1,
  ``run`` 125), and the CLI's own flag errors beside them (125);
- volume and network filters, ``volume create`` with another driver or a bad option;
- inspect and ps templates of times and of the memory limits ``-m`` implies.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dockerd import Dockerd, dockerd  # noqa: F401
from tests.support.engines import Engines
from tests.support.layers import make_busybox_rootfs
from tests.support.netenv import TEST_BRIDGE_ENV, remove_store_firewall

pytestmark = [pytest.mark.root]

SRC = str(Path(__file__).resolve().parents[2] / "src")
IMAGE = "cmp/bb:1"


@pytest.fixture(scope="module")
def rootfs_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("versus-docker")
    rootfs = make_busybox_rootfs(d / "rootfs")
    with tarfile.open(d / "rootfs.tar", "w") as tf:
        tf.add(rootfs, arcname=".")
    return d / "rootfs.tar"


@pytest.fixture
def engines(dockerd: Dockerd, rootfs_tar: Path, tmp_path: Path) -> Iterator[Engines]:  # noqa: F811
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(GEEDOCKER_ROOT=str(tmp_path / "root"), GEEDOCKER_RUN=str(tmp_path / "run"), **TEST_BRIDGE_ENV)
    e = Engines(dockerd, env)
    for run in (e.docker, e.gd):
        r = run("import", str(rootfs_tar), IMAGE)
        assert r.returncode == 0, r.stderr
    yield e
    ids = e.docker("ps", "-aq", "--filter", f"ancestor={IMAGE}").stdout.split()
    if ids:
        e.docker("rm", "-f", *ids)
    e.docker("rmi", "-f", IMAGE)
    remove_store_firewall(tmp_path / "root")


# Commands, and how many arguments to give them: each answer is cobra's (docker CLI 20.10) count error. Not push:
# geedocker's takes a destination too (1 or 2 arguments).
ARITY = [
    *((c, 0) for c in ("pull", "inspect", "tag", "rmi", "import", "save", "run", "create", "start", "logs",
                       "stop", "kill", "rm", "exec", "wait", "restart", "history", "search", "build", "commit",
                       "diff", "export", "pause", "unpause", "attach", "top", "port", "rename", "update", "cp",
                       "container attach", "container commit", "container cp", "container create",
                       "container diff", "container exec", "container export", "container kill", "container logs",
                       "container pause", "container port", "container rename", "container restart",
                       "container rm", "container run", "container start", "container stop", "container top",
                       "container unpause", "container update", "container wait", "container inspect",
                       "image build", "image rm", "image remove", "image tag", "image history", "image pull",
                       "image save", "image import", "image inspect", "network create",
                       "network inspect", "network rm", "network remove", "network connect", "network disconnect",
                       "volume inspect", "volume rm", "volume remove")),
    *((c, 1) for c in ("exec", "rename", "tag", "cp", "ps", "load", "version", "info", "events", "container ls",
                       "container ps", "container list", "container prune", "image prune", "builder prune",
                       "network ls", "network list", "network prune", "volume ls", "volume list", "volume prune",
                       "system df", "system prune", "system events", "system info", "image load")),
    *((c, 3) for c in ("images", "image ls", "image list", "login", "logout", "volume create", "port", "commit",
                       "logs", "pull", "history", "rename", "tag", "attach", "diff", "export", "search",
                       "network create", "network connect", "network disconnect", "container cp")),
]


@pytest.mark.parametrize(("command", "n"), ARITY, ids=[f"{c}-{n}" for c, n in ARITY])
def test_argument_counts(engines: Engines, command: str, n: int) -> None:
    """Status 1; the count's words, "See ...", and the usage line as docker's (its description aside)."""
    args = [*command.split(), *(f"a{i}" for i in range(n))]
    d, g = engines.both(*args)
    assert re.match(r'"docker [a-z ]+" (requires|accepts) ', d.stderr), d.stderr  # the table holds count errors only
    want = d.stderr.replace("docker", "geedocker").splitlines()
    got = g.stderr.splitlines()
    assert (g.returncode, got[:4]) == (d.returncode, want[:4]), g.stderr
    assert got[-2:] == ["", got[-1]] and got[-1], g.stderr  # a blank line, the command's description


# (arguments, IMAGE stands for the image): both refuse; the statuses and the first lines' words are the same
REFUSALS = [
    ["create", "-v", "/tmp:/x:zz", "IMAGE", "true"],
    ["run", "--rm", "-v", "/tmp:/x:zz", "IMAGE", "true"],
    ["create", "-v", "/tmp:/x:rw,ro", "IMAGE", "true"],
    ["create", "-v", "/tmp:/x:ro,z,Z", "IMAGE", "true"],
    ["create", "-v", "/tmp:/x:cached,delegated", "IMAGE", "true"],
    ["create", "-v", "/tmp:/x:nocopy", "IMAGE", "true"],
    ["create", "-v", "cmpvol:/x:ro,rshared", "IMAGE", "true"],
    ["create", "--log-opt", "foo=bar", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "foo=bar", "IMAGE", "true"],
    ["create", "--log-driver", "nope", "IMAGE", "true"],
    ["run", "--rm", "--log-driver", "nope", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "max-size=abc", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "max-file=0", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "compress=maybe", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "compress=tRuE", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "compress=true", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "max-size=1k", "--log-opt", "compress=true", "IMAGE", "true"],
    ["run", "--rm", "--log-opt", "max-file=3", "--log-opt", "compress=1", "IMAGE", "true"],
    ["create", "--log-driver", "none", "--log-opt", "max-size=1m", "IMAGE", "true"],
    ["run", "--rm", "--device", "/dev/null:/dev/x:zz", "IMAGE", "true"],
    ["run", "--rm", "--device", "/tmp/cmp-no-such-device", "IMAGE", "true"],
    ["run", "--rm", "--device", "/etc/hostname", "IMAGE", "true"],
    ["volume", "create", "-d", "nfs"],
    ["volume", "create", "-d", "nfs", "cmpvol"],
    ["volume", "create", "-o", "bad=1", "cmpvol"],
    ["volume", "create", "--name", "x"],
    ["volume", "ls", "--filter", "bad=x"],
    ["volume", "ls", "--filter", "dangling=maybe"],
    ["volume", "ls", "--filter", "label"],
    ["volume", "prune", "--filter", "x"],
    ["network", "ls", "--filter", "bad=x"],
    ["network", "ls", "--filter", "type=bad"],
    ["network", "ls", "-f", "x"],
    ["ps", "-f", "x"],
    ["images", "-f", "x"],
    ["container", "prune", "--filter", "x"],
]


def _first_line(text: str) -> str:
    """The error's words: without docker's "docker: " and the period its ``run`` adds, or geedocker's "Error: ",
    and with a random volume name left out."""
    line = next(x for x in text.splitlines() if not x.startswith("time="))
    if line.startswith("docker: "):
        line = line.removeprefix("docker: ").removesuffix(".")
    return re.sub(r"\b[0-9a-f]{64}\b", "<name>", line.removeprefix("Error: "))


@pytest.mark.parametrize("args", REFUSALS, ids=[" ".join(a) for a in REFUSALS])
def test_refusals(engines: Engines, args: list[str]) -> None:
    d, g = engines.both(*(IMAGE if a == "IMAGE" else a for a in args))
    assert d.returncode != 0 and "Traceback" not in g.stderr
    assert (g.returncode, _first_line(g.stderr)) == (d.returncode, _first_line(d.stderr).replace("docker", "geedocker"))


def test_a_device_is_looked_for_at_start(engines: Engines, tmp_path: Path) -> None:
    """``--device`` of a node that is not there: ``create`` makes the container, ``start`` refuses it (status 1,
    docker's two lines); once the node is there, the container starts with it."""
    node = tmp_path / "dev-node"
    for run in (engines.docker, engines.gd):
        r = run("create", "--name", "cmp-dev", "--network", "none", "--device", f"{node}:/dev/mine", IMAGE,
                "ls", "-l", "/dev/mine")  # fmt: skip
        assert r.returncode == 0, r.stderr
    d, g = engines.both("start", "cmp-dev")
    assert (g.returncode, g.stderr) == (d.returncode, d.stderr) == (1, g.stderr), d.stderr
    assert "no such file or directory" in g.stderr
    os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    d, g = engines.both("start", "-a", "cmp-dev")
    assert (g.returncode, g.stdout.split()[:5]) == (d.returncode, d.stdout.split()[:5]) == (0, g.stdout.split()[:5])
    assert g.stdout.startswith("crw-------"), g.stdout


def _shape(text: str) -> str:
    """Times with their digits and fractions left out (the two engines made them at other moments, docker with
    nanoseconds, and Go leaves out a zero fraction)."""
    return re.sub(r"\.9+", "", re.sub(r"[0-9]", "9", text))


# (create flags, template): the same text, times compared by their shape
TEMPLATES = [
    (["-m", "64m"], "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
    (["-m", "64m", "--memory-swap", "-1"], "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
    (["-m", "64m", "--memory-swap", "100m"], "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
    ([], "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}}"),
    ([], "{{.Created}}|{{.State.StartedAt}}|{{.State.FinishedAt}}"),
    ([], "{{json .Created}}|{{json .State.StartedAt}}"),
]


@pytest.mark.parametrize(("flags", "template"), TEMPLATES, ids=[f"{' '.join(f)} {t}" for f, t in TEMPLATES])
def test_inspect_templates(engines: Engines, flags: list[str], template: str) -> None:
    for run in (engines.docker, engines.gd):
        r = run("create", "--name", "cmp-tmpl", "--network", "none", *flags, IMAGE, "true")
        assert r.returncode == 0, r.stderr
    d, g = engines.both("inspect", "-f", template, "cmp-tmpl")
    shape = (lambda s: s) if "Memory" in template else _shape
    assert (g.returncode, shape(g.stdout)) == (d.returncode, shape(d.stdout)), (d.stdout, g.stderr)
    d, g = engines.both("ps", "-a", "--filter", "name=cmp-tmpl", "--format", "{{.CreatedAt}}|{{.Names}}")
    assert (g.returncode, _shape(g.stdout)) == (d.returncode, _shape(d.stdout)), (d.stdout, g.stderr)


def test_image_times_print_as_go_times(engines: Engines) -> None:
    """A ``time.Time`` field (``Metadata.LastTagTime``) prints as Go's ``Time.String()`` in a template, and as
    RFC 3339 in JSON (docker's is the time of the import, geedocker has none: the zero time)."""
    d, g = engines.both("image", "inspect", "-f", "{{.Metadata.LastTagTime}}|{{json .Metadata.LastTagTime}}", IMAGE)
    assert g.returncode == d.returncode == 0, g.stderr
    assert _shape(g.stdout) == _shape(d.stdout), (d.stdout, g.stdout)
    assert g.stdout == '0001-01-01 00:00:00 +0000 UTC|"0001-01-01T00:00:00Z"\n'
