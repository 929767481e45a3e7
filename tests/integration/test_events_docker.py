"""Image, network, volume and exec events compared with docker itself (Debian's dockerd 20.10 on its own socket).

Each step runs on both engines; the events each one journals during the step (``events --since --until
--format '{{json .}}'``) must be the same: type, action, actor and attributes, with the IDs that necessarily
differ (containers, exec sessions, networks, anonymous volumes, images made here) replaced by their order of
appearance. Where docker 20.10 does something its successors dropped, the step says so.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import GD
from tests.integration.test_docker_compat import Pair
from tests.support.dockerd import Dockerd, running_dockerd
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.registry import TestRegistry, push_test_image

pytestmark = [pytest.mark.root, pytest.mark.registry, pytest.mark.peers]

HEX64 = re.compile(r"(sha256:)?[0-9a-f]{64}")


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    with running_dockerd() as d:
        yield d


@pytest.fixture
def pair(dockerd: Dockerd, gd: GD, registry_http: TestRegistry) -> Iterator[Pair]:
    push_test_image(registry_http, "events/bb", "1", [layer_tar(busybox_rootfs_entries())],
                    config_overrides={"config": {"Labels": {"tier": "front"}, "Cmd": ["sh"]}})  # fmt: skip
    p = Pair(dockerd, gd, f"{registry_http.host}/events/bb:1")
    yield p
    for run in (p.docker, p.gd):
        run("rm", "-f", "ev1", "ev2", "ev3")
        run("network", "rm", "evnet1", "evnet2")
        run("volume", "rm", "-f", "evvol")
        run("rmi", "-f", p.image, "evtag:2", f"{p.image.rsplit('/', 2)[0]}/events/pushed:7", "evimp:1")


def _journal(run: GD, since: float, until: float) -> list[dict[str, object]]:
    r = run("events", "--since", f"{since:.9f}", "--until", f"{until:.9f}", "--format", "{{json .}}")
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def _shape(events: list[dict[str, object]]) -> list[str]:
    """The events without their times, IDs that differ between engines numbered by first appearance."""
    seen: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(0), f"<id{len(seen)}>")

    out = []
    for ev in events:
        ev = {k: v for k, v in ev.items() if k not in ("time", "timeNano")}
        out.append(HEX64.sub(number, json.dumps(ev, sort_keys=True)))
    return out


def _step(pair: Pair, args: tuple[str, ...], gd_args: tuple[str, ...] | None = None,
          dedupe: bool = False) -> list[str]:  # fmt: skip
    """Run the step on both (``gd_args`` for geedocker if they differ); their events must match."""
    got = []
    for run, argv in ((pair.docker, args), (pair.gd, gd_args or args)):
        since = time.time()
        r = run(*argv)
        assert r.returncode in (0, 3), f"{argv}: {r.stderr}"
        time.sleep(0.3)  # docker's daemon logs some events just after the reply
        shape = _shape(_journal(run, since, time.time()))
        if dedupe:  # docker 20.10 logs a live network disconnect twice
            shape = [s for i, s in enumerate(shape) if i == 0 or s != shape[i - 1]]
        got.append(shape)
    assert got[1] == got[0], f"{args}:\ndocker    {got[0]}\ngeedocker {got[1]}"
    return got[0]


def test_image_events_like_docker(pair: Pair, tmp_path: Path) -> None:
    img = pair.image
    host = img.split("/", 1)[0]
    assert [json.loads(e)["Action"] for e in _step(pair, ("pull", "-q", img))] == ["pull"]
    _step(pair, ("pull", "-q", img))  # up to date: still a pull event
    _step(pair, ("tag", img, "evtag:2"))
    _step(pair, ("tag", img, "evtag:2"))
    _step(pair, ("tag", img, f"{host}/events/pushed:7"))
    _step(pair, ("push", f"{host}/events/pushed:7"))
    _step(pair, ("rmi", f"{host}/events/pushed:7"))
    for name in ("d", "g"):
        path = f"{tmp_path}/{name}.tar"
        run = pair.docker if name == "d" else pair.gd
        since = time.time()
        assert run("save", "-o", path, img, "evtag:2").returncode == 0
        time.sleep(0.3)
        saved = [(e["Action"], e["Actor"]["Attributes"]["tier"]) for e in _journal(run, since, time.time())]  # type: ignore[index]
        assert saved == [("save", "front")], (name, saved)
    _step(pair, ("rmi", "evtag:2"))
    shape = _step(pair, ("load", "-i", f"{tmp_path}/d.tar"), ("load", "-i", f"{tmp_path}/g.tar"))
    assert [json.loads(e)["Action"] for e in shape] == ["load"]
    _step(pair, ("image", "import", f"{tmp_path}/d.tar", "evimp:1"))  # the tag, then the import
    _step(pair, ("rmi", "evimp:1"))  # untag, delete
    _step(pair, ("rmi", "-f", img))


def test_volume_network_and_exec_events_like_docker(pair: Pair) -> None:
    img = pair.image
    for run in (pair.docker, pair.gd):
        assert run("pull", "-q", img).returncode == 0
    _step(pair, ("volume", "create", "evvol"))
    # a named volume that exists gets no new create event (docker 20.10 logged one: moby#42028 dropped it),
    # an anonymous one is made (create) and goes with --rm (destroy); mount and unmount around the run;
    # binds have none; the foreground run attaches before the start
    run_rm = ("run", "--rm", "--network", "none", "--name", "ev1", "-v", "evvol:/data:ro", "-v", "/anon",
              "-v", "/tmp:/h", img, "true")  # fmt: skip
    d_since = time.time()
    assert pair.docker(*run_rm).returncode == 0
    time.sleep(0.3)
    d_events = [e for e in _journal(pair.docker, d_since, time.time())
                if not (e["Type"] == "volume" and e["Action"] == "create"
                        and e["Actor"]["ID"] == "evvol")]  # type: ignore[index]
    g_since = time.time()
    assert pair.gd(*run_rm).returncode == 0
    g_events = _journal(pair.gd, g_since, time.time())
    # docker mounts a container's volumes in no set order (a Go map): the same events, in any order
    assert sorted(_shape(g_events)) == sorted(_shape(d_events))
    kinds = [(e["Type"], e["Action"]) for e in g_events]
    assert kinds == [("volume", "create"), ("container", "create"), ("container", "attach"), ("network", "connect"),
                     ("volume", "mount"), ("volume", "mount"), ("container", "start"), ("container", "die"),
                     ("network", "disconnect"), ("volume", "unmount"), ("volume", "unmount"), ("volume", "destroy"),
                     ("container", "destroy")], kinds  # fmt: skip
    _step(pair, ("volume", "rm", "evvol"))

    _step(pair, ("run", "-d", "--network", "none", "--name", "ev2", img, "sleep", "100"))
    shape = _step(pair, ("exec", "ev2", "sh", "-c", "exit 3"))
    assert [json.loads(e)["Action"] for e in shape] == ["exec_create: sh -c exit 3", "exec_start: sh -c exit 3",
                                                          "exec_die"]  # fmt: skip
    assert json.loads(shape[2])["Actor"]["Attributes"]["exitCode"] == "3"
    _step(pair, ("exec", "ev2", "true"))  # "exec_create: true " (docker's trailing space)
    _step(pair, ("rm", "-f", "ev2"))

    # networks: both engines' bridges on their own subnets (the host sees both)
    _step(pair, ("network", "create", "--subnet", "10.215.3.0/24", "evnet1"),
          ("network", "create", "--subnet", "10.215.1.0/24", "evnet1"))  # fmt: skip
    _step(pair, ("network", "create", "--subnet", "10.215.4.0/24", "evnet2"),
          ("network", "create", "--subnet", "10.215.2.0/24", "evnet2"))  # fmt: skip
    _step(pair, ("run", "-d", "--network", "evnet1", "--name", "ev3", img, "sleep", "100"))
    _step(pair, ("network", "connect", "evnet2", "ev3"))
    _step(pair, ("network", "disconnect", "evnet2", "ev3"), dedupe=True)
    _step(pair, ("rm", "-f", "ev3"))
    _step(pair, ("network", "rm", "evnet1"))
    _step(pair, ("network", "rm", "evnet2"))
    assert [json.loads(e)["Action"] for e in _step(pair, ("network", "prune", "-f"))] == ["prune"]
    _step(pair, ("container", "prune", "-f"))


def test_filters_on_image_network_volume_events(pair: Pair) -> None:
    img = pair.image
    since = {}
    for name, run in (("d", pair.docker), ("g", pair.gd)):
        since[name] = time.time()
        assert run("pull", "-q", img).returncode == 0
        assert run("tag", img, "evtag:2").returncode == 0
        assert run("volume", "create", "evvol").returncode == 0
        assert run("volume", "rm", "evvol").returncode == 0
        assert run("rmi", "evtag:2").returncode == 0
    time.sleep(0.3)
    until = time.time()
    for flt in (["type=image"], ["type=volume"], ["image=evtag"], ["image=evtag:2"], [f"image={img}"],
                ["event=tag", "event=untag"], ["volume=evvol"], ["volume=evv"], ["type=image", "label=tier=front"],
                ["type=image", "label=tier=back"]):  # fmt: skip
        out = {}
        for name, run in (("d", pair.docker), ("g", pair.gd)):
            args = ["events", "--since", f"{since[name]:.9f}", "--until", f"{until:.9f}",
                    "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]  # fmt: skip
            for f in flt:
                args += ["--filter", f]
            r = run(*args)
            assert r.returncode == 0, r.stderr
            out[name] = HEX64.sub("<id>", r.stdout).splitlines()
        assert out["g"] == out["d"], (flt, out)
        assert bool(out["d"]) == ("label=tier=back" not in flt), flt


def test_top_export_cp_and_attach_events_like_docker(pair: Pair, tmp_path: Path) -> None:
    img = pair.image
    for run in (pair.docker, pair.gd):
        assert run("pull", "-q", img).returncode == 0
    _step(pair, ("run", "-d", "--network", "none", "--name", "ev1", img, "sleep", "100"))
    assert [json.loads(e)["Action"] for e in _step(pair, ("top", "ev1"))] == ["top"]
    shape = _step(pair, ("export", "-o", f"{tmp_path}/d.tar", "ev1"), ("export", "-o", f"{tmp_path}/g.tar", "ev1"))
    assert [json.loads(e)["Action"] for e in shape] == ["export"]
    # cp through the API: the archive (out) or the extraction (in) is logged, not the CLI's stats
    (tmp_path / "f").write_text("x")
    assert [json.loads(e)["Action"] for e in _step(pair, ("cp", "ev1:/etc/passwd", f"{tmp_path}/pw"))] == [
        "archive-path"]
    _step(pair, ("cp", "ev1:/etc", "-"))
    assert [json.loads(e)["Action"] for e in _step(pair, ("cp", f"{tmp_path}/f", "ev1:/tmp/"))] == [
        "extract-to-dir"]
    _step(pair, ("cp", f"{tmp_path}/f", "ev1:/tmp/newname"))
    for bad in (("cp", "ev1:/nonexistent", f"{tmp_path}/x"), ("cp", f"{tmp_path}/f", "ev1:/nonexistent/y")):
        for run in (pair.docker, pair.gd):
            since = time.time()
            assert run(*bad).returncode == 1
            assert _journal(run, since, time.time()) == [], bad  # a missing path: nothing archived or extracted
    _step(pair, ("rm", "-f", "ev1"))
    # attached: the foreground run and start -a attach before the start; attach to a running one
    shape = _step(pair, ("run", "--network", "none", "--name", "ev2", img, "true"))
    assert [json.loads(e)["Action"] for e in shape if json.loads(e)["Type"] == "container"] == [
        "create", "attach", "start", "die"]
    _step(pair, ("start", "-a", "ev2"))
    got = []
    for run in (pair.docker, pair.gd):  # one engine after the other: each attaches while its container runs
        assert run("run", "-d", "--network", "none", "--name", "ev3", img, "sh", "-c", "sleep 1").returncode == 0
        since = time.time()
        assert run("attach", "ev3").returncode == 0
        time.sleep(0.3)
        got.append(_shape(_journal(run, since, time.time())))
    assert got[1] == got[0], got
    assert [json.loads(e)["Action"] for e in got[0] if json.loads(e)["Type"] == "container"] == ["attach", "die"]
