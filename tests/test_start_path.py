"""The container start path stays light: the modules ``geedocker run`` and ``geedocker-runtime run`` load
must not pull in standard modules that cost milliseconds each and that they do not need (see README,
Benchmarks: every start pays for its imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
SLOW = ("typing", "logging", "dataclasses", "inspect", "hashlib", "shutil", "subprocess", "tempfile", "secrets",
        "datetime", "asyncio", "platform", "pyroute2", "gettext", "locale", "socket", "selectors", "urllib.parse",
        "ipaddress", "h11", "threading")

RUN_PATH = ("geedocker.cli.main", "geedocker.cli.run", "geedocker.cli.create", "geedocker.containers.lifecycle",
            "geedocker.containers.create", "geedocker.containers.bundle", "geedocker.containers.shutdown",
            "geedocker.containers.supervisor", "geedocker.containers.streams", "geedocker.containers.monitor",
            "geedocker.containers.images", "geedocker.containers.nameindex", "geedocker.containers.damaged",
            "geedocker.runtime.container", "geedocker.runtime.create_chain", "geedocker.runtime.init",
            "geedocker.network.attachment", "geedocker.network.endpoint", "geedocker.network.interfaces",
            "geedocker.network.hostsfiles", "geedocker.network.leases", "geedocker.network.firewall",
            "geedocker.network.netstate", "geedocker.network.ports", "geedocker.network.netlink",
            "geedocker.entrypoint", "geedocker.containers.seccomp", "geedocker.runtime.seccomp",
            "geedocker.containers.flags", "geedocker.containers.mountflags", "geedocker.containers.logflags")
RUNTIME_PATH = ("geedocker.runtime.cli", "geedocker.runtime.cli_parser", "geedocker.runtime.container",
                "geedocker.runtime.create_chain", "geedocker.runtime.init", "geedocker.entrypoint",
                "geedocker.runtime.seccomp")


@pytest.mark.parametrize("modules", [RUN_PATH, RUNTIME_PATH], ids=["geedocker run", "geedocker-runtime run"])
def test_the_start_path_imports_no_slow_module(modules: tuple[str, ...]) -> None:
    code = (f"import sys; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.entrypoint import import_pathlib\n"
            "import_pathlib()  # as the launchers do\n"
            + "".join(f"import {m}\n" for m in modules)
            + f"print(' '.join(sorted(m for m in {SLOW!r} if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# The everyday commands, run for real on a store with an image and an exited container (with a log): what they
# load, their engine functions included, beside the run path's SLOW list: the pull machinery, HTTP and TLS, the
# archive code, threads, and a template engine that only ``--format`` may load.
EVERYDAY_SLOW = (*SLOW, "ssl", "http.client", "email", "urllib3", "tarfile", "gzip", "threading", "concurrent.futures",
                 "geedocker.images.pull", "geedocker.registry.client", "geedocker.registry.session",
                 "geedocker.archive")
TEMPLATES = ("jinja2", "string")  # and any module with "template" in its name (see the test)


def _store_with_a_container(root: Path) -> str:
    """An imported image and an exited container named ``c1`` with two log lines; the image's manifest digest."""
    import io
    import json

    from geedocker.containers.options import RunOptions
    from geedocker.containers.record import ContainerRecord, Status
    from geedocker.containers.store import ContainerStore
    from geedocker.images.importer import import_rootfs
    from geedocker.oci import ContainerConfig
    from geedocker.store.layout import Layout
    from geedocker.timefmt import now_rfc3339
    from tests.support.layers import file, layer_tar

    layout = Layout(root / "root", root / "run")
    rec = import_rootfs(layout, io.BytesIO(layer_tar([file("bin/sh", "#!x", mode=0o755)])), "start/path:1")
    store = ContainerStore(layout)

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(id=cid, name=name, image="start/path:1", image_id=str(rec.id), created=now_rfc3339(),
                               args=("sh",), options=RunOptions(), image_config=ContainerConfig(cmd=("sh",)),
                               lower_dirs=())

    c = store.create(make, "c1")
    store.update_state(c.id, status=Status.EXITED, exit_code=0, started_at=now_rfc3339(), finished_at=now_rfc3339())
    with open(store.log_path(c.id), "w") as f:
        for line in ("one", "two"):
            f.write(json.dumps({"log": line + "\n", "stream": "stdout", "time": now_rfc3339(nanoseconds=True)}) + "\n")
    return str(rec.manifest_digest)


EVERYDAY = {
    "pull (present, by digest)": ["pull", "-q", "docker.io/start/path@{digest}"],
    "ps": ["ps"], "ps -a": ["ps", "-a"], "ps -q": ["ps", "-aq"],
    "images": ["images"], "inspect a container": ["inspect", "c1"], "inspect an image": ["inspect", "start/path:1"],
    "logs": ["logs", "c1"],
    "stop": ["stop", "c1"],  # exited already: docker prints its name
    "exec": ["exec", "c1", "true"],  # not running: a clear error, after the command's imports
    "rm": ["rm", "c1"],
}


# What the commands that only read records must not load either: the start path (lifecycle, create, the removal
# and wait, ctypes), and for the default ``images`` table the template engine and the image blobs (``images``
# lists from images.json alone).
READ_ONLY = ("ctypes", "geedocker.containers.lifecycle", "geedocker.containers.create", "geedocker.containers.bundle",
             "geedocker.containers.shutdown", "geedocker.containers.removal", "geedocker.containers.wait",
             "geedocker.containers.backend")
EVERYDAY_EXTRA = {
    "ps": READ_ONLY, "ps -a": READ_ONLY, "ps -q": READ_ONLY, "inspect a container": READ_ONLY,
    "inspect an image": READ_ONLY, "logs": READ_ONLY,
    "images": (*READ_ONLY, "geedocker.format.parse", "geedocker.store.blobs", "geedocker.oci"),
}


@pytest.mark.parametrize("argv", list(EVERYDAY.values()), ids=list(EVERYDAY))
def test_everyday_commands_import_only_what_they_use(argv: list[str], tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    slow = EVERYDAY_SLOW + TEMPLATES + EVERYDAY_EXTRA.get(request.node.callspec.id, ())
    digest = _store_with_a_container(tmp_path)
    argv = [a.format(digest=digest) for a in argv]
    code = (f"import sys, os; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.entrypoint import import_pathlib\n"
            "import_pathlib()  # as the launchers do\n"
            "from geedocker.cli.main import main\n"
            f"status = main(['--root', {str(tmp_path / 'root')!r}, '--run-root', {str(tmp_path / 'run')!r}, "
            f"*{argv!r}])\n"
            "sys.stdout.flush()\n"
            f"os.write(2, ('SLOW ' + ' '.join(m for m in sorted(sys.modules) if m in {slow!r}"
            " or 'template' in m)"
            " + ' STATUS ' + str(status)).encode())\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
    assert last.startswith("SLOW "), out.stderr
    loaded, _, status = last[len("SLOW "):].partition(" STATUS ")
    assert loaded.strip() == ""
    if argv[0] != "exec":
        assert status == "0", out.stderr
    if argv[0] == "pull":
        assert out.stdout.strip() == f"docker.io/start/path@{digest}"
    if argv[0] == "logs":
        assert out.stdout == "one\ntwo\n"


def test_the_runtime_package_alone_loads_no_operations() -> None:
    """``geedocker.runtime.paths`` and ``.state`` (what ps, inspect and logs read) come without the operations,
    and ``runtime.state`` stays the function although ``runtime.state`` is also a submodule."""
    code = (f"import sys; sys.path.insert(0, {SRC!r})\n"
            "import geedocker.runtime.paths, geedocker.runtime.state, geedocker.runtime as rt\n"
            "print('geedocker.runtime.container' in sys.modules, callable(rt.state), callable(rt.create),"
            " all(callable(getattr(rt, n)) for n in rt.__all__))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stderr
