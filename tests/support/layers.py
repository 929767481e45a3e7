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


def tree_snapshot(root: Path, mtimes: bool = True, xattrs: bool = True) -> dict[str, tuple[object, ...]]:
    """Every entry under ``root`` (not ``root`` itself) as comparable values, keyed by relative path.

    Per entry: type, permission bits, uid, gid, size and sha256 (files), link target (symlinks),
    device numbers, the hard-link group (the smallest path sharing the inode, for inodes with two
    or more names in the tree), mtime in ns unless ``mtimes`` is false, and sorted xattrs unless ``xattrs`` is false.
    """
    import hashlib
    import stat as st

    rows: dict[str, tuple[object, ...]] = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            s = os.lstat(p)
            kind = st.S_IFMT(s.st_mode)
            extra: object = None
            if st.S_ISREG(kind):
                extra = (s.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
                if s.st_nlink > 1:
                    inodes.setdefault((s.st_dev, s.st_ino), []).append(rel)
            elif st.S_ISLNK(kind):
                extra = os.readlink(p)
            elif st.S_ISCHR(kind) or st.S_ISBLK(kind):
                extra = (os.major(s.st_rdev), os.minor(s.st_rdev))
            xa: tuple[tuple[str, bytes], ...] = ()
            if xattrs:
                try:
                    xa = tuple(sorted((k, os.getxattr(p, k, follow_symlinks=False))
                                      for k in os.listxattr(p, follow_symlinks=False)))
                except OSError:
                    xa = ()
            rows[rel] = (kind, st.S_IMODE(s.st_mode), s.st_uid, s.st_gid, extra,
                         s.st_mtime_ns if mtimes else None, xa)
    for group in inodes.values():
        if len(group) < 2:
            continue  # the other names are not in this tree (or hidden, in an overlay mount)
        leader = min(group)
        for rel in group:
            rows[rel] = (*rows[rel], leader)
    return rows


def write_oci_layout(dest: Path, layers: list[bytes], tag: str = "latest") -> None:
    """An OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256``) holding one image.

    ``layers`` are the layer blobs as they would be pushed (gzip, zstd or plain tar); their media
    types are set from the magic bytes and the config lists their diff_ids.
    """
    import hashlib
    import json

    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        hexd = hashlib.sha256(data).hexdigest()
        (blobs / hexd).write_bytes(data)
        return f"sha256:{hexd}"

    descs, diff_ids = [], []
    for blob in layers:
        if blob[:2] == b"\x1f\x8b":
            raw, mt = gzip.decompress(blob), "application/vnd.oci.image.layer.v1.tar+gzip"
        elif blob[:4] == b"\x28\xb5\x2f\xfd":
            import zstandard

            raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob), read_across_frames=True).read()
            mt = "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            raw, mt = blob, "application/vnd.oci.image.layer.v1.tar"
        diff_ids.append(f"sha256:{hashlib.sha256(raw).hexdigest()}")
        descs.append({"mediaType": mt, "digest": put(blob), "size": len(blob)})
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": [],
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(config),
                   "size": len(config)},
        "layers": descs,
    }).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(manifest),
                       "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    (dest / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (dest / "index.json").write_text(json.dumps(index))


def feature_layers() -> list[bytes]:
    """Three layer blobs (gzip, plain, gzip) over a busybox rootfs exercising every entry type and
    whiteout rule: opaque dirs (marker before and after the entries), whiteouts of files and dirs, a
    file re-added after its whiteout, setuid/setgid/sticky, owners, hard links, devices, a FIFO,
    symlinks, xattrs, type changes (file <-> dir) and attribute changes. Needs root to apply.
    """
    l1 = busybox_rootfs_entries() + [
        directory("opq"), file("opq/lower1", "1"), directory("opq/sub"), file("opq/sub/lower2", "2"),
        directory("opq2"), file("opq2/lower", "l"),
        directory("wh"), file("wh/file", "f"), directory("wh/dir"), file("wh/dir/x", "x"),
        file("suid", "s", mode=0o4755), file("sgid", "g", mode=0o2711, gid=50), directory("sticky", mode=0o1777),
        file("own", "o", uid=1000, gid=1001, mode=0o640),
        directory("hl"), file("hl/a", "hard", mode=0o600), hardlink("hl/b", "hl/a"),
        directory("other"), hardlink("other/c", "hl/a"),
        directory("dev"), Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Entry("dev/sda", tarfile.BLKTYPE, mode=0o660, gid=6, devmajor=8, devminor=0),
        Entry("dev/fifo", tarfile.FIFOTYPE, mode=0o644),
        symlink("abs", "/etc/passwd"), symlink("rel", "etc/passwd"), symlink("dangling", "../../nowhere"),
        file("replaced", "was file"), directory("was_dir"), file("was_dir/child", "c"),
        file("xa", "x", xattrs={"user.test": "v", "trusted.t": "w"}),
        file("big", bytes(range(256)) * 8192, mode=0o755),
    ]
    l2 = [directory("etc"), directory("opq"), directory("wh"), directory("hl"),
          opaque("opq"), file("opq/new", "n"), whiteout("wh/file"), whiteout("wh/dir"),
          directory("replaced", mode=0o711), file("replaced/inner", "i"), file("was_dir", "now file"),
          file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", mode=0o600), directory("sticky", mode=0o755, uid=3),
          file("hl/a", "broken link group"), symlink("abs", "rel")]
    l3 = [directory("wh"), file("wh/file", "back"), directory("opq2"), file("opq2/mine", "m"), opaque("opq2")]
    return [gzip_bytes(layer_tar(l1)), layer_tar(l2), gzip_bytes(layer_tar(l3))]
