"""Build layer tarballs and whole images from Python values, for tests.

A layer is described by a list of ``Entry`` values; ``layer_tar`` turns it into tar bytes.
``busybox_rootfs_entries`` gives a small real root filesystem made from Debian's busybox-static.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

BUSYBOX = Path("/bin/busybox")


@dataclass(frozen=True)
class Entry:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_700_000_000
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, str] = field(default_factory=dict)


def file(name: str, data: bytes | str = b"", mode: int = 0o644, **kw: object) -> Entry:
    return Entry(name, tarfile.REGTYPE, data.encode() if isinstance(data, str) else data, mode, **kw)  # type: ignore[arg-type]


def directory(name: str, mode: int = 0o755, **kw: object) -> Entry:
    return Entry(name, tarfile.DIRTYPE, b"", mode, **kw)  # type: ignore[arg-type]


def symlink(name: str, target: str, **kw: object) -> Entry:
    return Entry(name, tarfile.SYMTYPE, b"", 0o777, linkname=target, **kw)  # type: ignore[arg-type]


def hardlink(name: str, target: str, **kw: object) -> Entry:
    return Entry(name, tarfile.LNKTYPE, b"", 0o644, linkname=target, **kw)  # type: ignore[arg-type]


def whiteout(path: str) -> Entry:
    """An OCI whiteout for ``path`` (``dir/.wh.name``)."""
    d, _, base = path.rstrip("/").rpartition("/")
    return file(f"{d}/.wh.{base}" if d else f".wh.{base}")


def opaque(dirpath: str) -> Entry:
    return file(f"{dirpath.rstrip('/')}/.wh..wh..opq")


def layer_tar(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.type = e.type
            ti.mode = e.mode
            ti.uid, ti.gid = e.uid, e.gid
            ti.mtime = e.mtime
            ti.linkname = e.linkname
            ti.devmajor, ti.devminor = e.devmajor, e.devminor
            if e.xattrs:
                ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e.xattrs.items()}
            if e.type == tarfile.REGTYPE:
                ti.size = len(e.data)
                tf.addfile(ti, io.BytesIO(e.data))
            else:
                tf.addfile(ti)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def zstd_bytes(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=3).compress(data)


def busybox_rootfs_entries() -> list[Entry]:
    """A minimal root filesystem: busybox-static, its applet links, /etc/passwd and /etc/group."""
    if not BUSYBOX.exists():
        raise RuntimeError("busybox-static is not installed (/bin/busybox)")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    entries: list[Entry] = [
        directory("bin"),
        directory("etc"),
        directory("root", mode=0o700),
        directory("tmp", mode=0o1777),
        directory("home"),
        directory("usr"),
        directory("usr/bin"),
        directory("var"),
        Entry("bin/busybox", tarfile.REGTYPE, BUSYBOX.read_bytes(), 0o755),
        file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
             "app:x:1000:1000:app:/home/app:/bin/sh\n"),
        file("etc/group", "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n"),
        directory("home/app", uid=1000, gid=1000),
    ]
    for a in sorted(set(applets)):
        if a != "busybox":
            entries.append(symlink(f"bin/{a}", "busybox"))
    return entries


def make_busybox_rootfs(dest: Path) -> Path:
    """Lay a busybox root filesystem out in ``dest`` directly (no tar), for runtime tests."""
    dest.mkdir(parents=True, exist_ok=True)
    for d in ("bin", "etc", "root", "tmp", "home/app", "usr/bin", "var", "proc", "sys", "dev"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin/busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for a in applets:
        link = dest / "bin" / a
        if a != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (dest / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        "app:x:1000:1000:app:/home/app:/bin/sh\n"
    )
    (dest / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n")
    os.chown(dest / "home/app", 1000, 1000) if os.geteuid() == 0 else None
    return dest
