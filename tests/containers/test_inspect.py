"""inspect_container's docker-like JSON, from a record on disk (no root needed)."""

from __future__ import annotations

import json

from geedocker.containers.inspect import inspect_container
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.store import ContainerRecord, ContainerStore, Status
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout
from geedocker.timefmt import now_rfc3339


def test_inspect_fields(layout: Layout) -> None:
    store = ContainerStore(layout)
    opts = RunOptions(
        name="web", command=("echo", "hi"), rm=True, read_only=True, memory=64 << 20, memory_swap=128 << 20,
        mounts=(MountSpec("bind", "/in", "/out", True, mode="ro"),),
        labels=(("k", "v"),), tty=True, cap_add=("NET_ADMIN",),
    )  # fmt: skip
    cfg = ContainerConfig(entrypoint=("/ep",), cmd=("default",), working_dir="/srv", user="app")

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=name, image="busybox:latest", image_id="sha256:" + "c" * 64, created=now_rfc3339(),
            args=("/ep", "echo", "hi"), options=opts, image_config=cfg, lower_dirs=("/l1", "/l0"), hostname=cid[:12],
            stop_signal=15, stop_timeout=10,
        )  # fmt: skip

    rec = store.create(make, "web")
    (store.bundle(rec.id) / "config.json").write_text(json.dumps({"process": {"env": ["PATH=/bin", "A=1"]}}))
    store.update_state(rec.id, status=Status.EXITED, exit_code=3, started_at=now_rfc3339(), finished_at=now_rfc3339())
    d = inspect_container(layout, "web")
    assert d["Id"] == rec.id and d["Name"] == "/web" and d["Image"] == "sha256:" + "c" * 64
    assert d["Path"] == "/ep" and d["Args"] == ["echo", "hi"]
    st = d["State"]
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 3 and st["Pid"] == 0
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"].endswith("Z")
    c = d["Config"]
    assert c["Entrypoint"] == ["/ep"] and c["Cmd"] == ["echo", "hi"] and c["WorkingDir"] == "/srv"
    assert c["User"] == "app" and c["Tty"] is True and c["Labels"] == {"k": "v"} and c["Env"] == ["PATH=/bin", "A=1"]
    h = d["HostConfig"]
    assert h["AutoRemove"] is True and h["ReadonlyRootfs"] is True and h["Memory"] == 64 << 20
    assert h["Binds"] == ["/out:/in:ro"] and h["CapAdd"] == ["NET_ADMIN"]
    assert d["Mounts"] == [
        {"Type": "bind", "Source": "/out", "Destination": "/in", "Mode": "ro", "RW": False, "Propagation": "rprivate"}
    ]
    assert d["GraphDriver"]["Data"]["LowerDir"] == "/l1:/l0"
    assert json.dumps(d)  # serialisable
    # by id prefix too
    assert inspect_container(layout, rec.id[:10])["Id"] == rec.id


def test_a_never_started_container(layout: Layout) -> None:
    store = ContainerStore(layout)

    def make(cid: str, name: str) -> ContainerRecord:
        return ContainerRecord(
            id=cid, name=name, image="", image_id="", created=now_rfc3339(), args=("sh",),
            options=RunOptions(entrypoint=""), image_config=ContainerConfig(cmd=("sh",)), lower_dirs=(),
        )  # fmt: skip

    store.create(make, "fresh")
    d = inspect_container(layout, "fresh")
    assert d["State"]["Status"] == "created" and d["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert d["Config"]["Entrypoint"] is None and d["Config"]["Cmd"] is None
