"""The mount flags of create/run: -v, --mount, --tmpfs (no root needed)."""

from __future__ import annotations

import pytest

from geedocker.containers import mountflags
from geedocker.containers.options import MountSpec
from geedocker.errors import UsageError


def test_parse_volume() -> None:
    assert mountflags.parse_volume("/a:/b") == MountSpec("bind", "/b", "/a", False)
    assert mountflags.parse_volume("/a/:/b/:ro") == MountSpec("bind", "/b", "/a", True, mode="ro")
    assert mountflags.parse_volume("named:/b/") == MountSpec("volume", "/b", "named", mode="z")
    assert mountflags.parse_volume("named:/b:ro,nocopy") == MountSpec("volume", "/b", "named", True, mode="ro,nocopy",
                                                                nocopy=True)  # fmt: skip
    assert mountflags.parse_volume("/data/") == MountSpec("volume", "/data")  # anonymous: named at create
    for bad, msg in [
        ("/a:rel", "absolute"),
        ("/a:/b:xx", "invalid mode"),
        ("/a:/b:nocopy", 'type "bind": field VolumeOptions must not be specified'),  # nocopy is for volumes
        ("named:/b:rshared", 'type "volume": field BindOptions must not be specified'),  # propagation: binds
        ("/a:/b:rw,ro", "invalid mode: rw,ro"),  # one word of each kind at most (docker's ValidMountMode)
        ("/a:/b:z,Z", "invalid mode: z,Z"),
        ("/a:/b:cached,delegated", "invalid mode: cached,delegated"),
        ("a:b:c:d", "invalid volume"),
    ]:
        with pytest.raises(UsageError, match=msg):
            mountflags.parse_volume(bad)


def test_parse_mount_and_tmpfs() -> None:
    assert mountflags.parse_mount("type=bind,source=/s,target=/t,readonly") == MountSpec("bind", "/t", "/s", True)
    assert mountflags.parse_mount("type=bind,src=/s,dst=/t") == MountSpec("bind", "/t", "/s", False)
    m = mountflags.parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777")
    assert m.type == "tmpfs" and m.options == (f"size={1 << 20}", "mode=1777")
    assert mountflags.parse_mount("type=volume,target=/t") == MountSpec("volume", "/t", "", mode="z")
    m = mountflags.parse_mount('type=volume,src=v1,target=/t,readonly,volume-nocopy,"volume-opt=o=size=1m,uid=5",'
                         "volume-opt=type=tmpfs,volume-label=a=b")  # fmt: skip
    assert (m.source, m.readonly, m.nocopy) == ("v1", True, True)
    assert m.volume_options == (("o", "size=1m,uid=5"), ("type", "tmpfs")) and m.volume_labels == (("a", "b"),)
    assert MountSpec.from_json(m.to_json()) == m
    with pytest.raises(UsageError, match="type=volume"):
        mountflags.parse_mount("type=bind,source=/s,target=/t,volume-opt=a=b")
    with pytest.raises(UsageError, match="target"):
        mountflags.parse_mount("type=bind,source=/s")
    with pytest.raises(UsageError, match="unknown field"):
        mountflags.parse_mount("type=bind,source=/s,target=/t,color=red")
    want = MountSpec("tmpfs", "/run", "tmpfs", False, ("size=64m", "mode=755"))
    assert mountflags.parse_tmpfs("/run:size=64m,mode=755") == want
    with pytest.raises(UsageError):
        mountflags.parse_tmpfs("run")


def test_volume_consistency_modes_are_accepted() -> None:
    for mode in ("cached", "delegated", "consistent", "z", "Z", "delegated,ro"):
        m = mountflags.parse_volume(f"/a:/b:{mode}")
        assert (m.type, m.readonly) == ("bind", mode.endswith("ro"))
