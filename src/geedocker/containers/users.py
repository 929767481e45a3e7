"""Resolve docker's ``--user`` (``name|uid[:group|gid]``) against the image's /etc/passwd and /etc/group.

The rules follow docker's: a name must exist in /etc/passwd; a numeric uid need not (its gid is then 0
unless a group is given); a group name must exist in /etc/group, a numeric gid need not. When the user
is found in /etc/passwd and no group is given, every group listing the user as a member becomes a
supplementary group. Files are read inside the rootfs with symlinks confined to it.
"""

from __future__ import annotations

from pathlib import Path

from geedocker.containers.paths import read_file_in_root
from geedocker.errors import ContainerError, UsageError
from geedocker.values import value

MAX_ID = 2**32 - 2


@value
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@value
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@value
class ProcessUser:
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    name: str = ""


def _parse_id(text: str) -> int | None:
    if not text.isdigit():
        return None
    n = int(text)
    if n > MAX_ID:
        raise UsageError(f"invalid user or group id {text!r}: out of range")
    return n


def parse_passwd(text: str) -> list[PasswdEntry]:
    out: list[PasswdEntry] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 4 or not f[2].isdigit() or not f[3].isdigit():
            continue
        out.append(PasswdEntry(f[0], int(f[2]), int(f[3]), f[5] if len(f) > 5 else ""))
    return out


def parse_group(text: str) -> list[GroupEntry]:
    out: list[GroupEntry] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(":")
        if len(f) < 3 or not f[2].isdigit():
            continue
        members = tuple(m for m in (f[3].split(",") if len(f) > 3 else []) if m)
        out.append(GroupEntry(f[0], int(f[2]), members))
    return out


def resolve_user(spec: str, passwd: list[PasswdEntry], groups: list[GroupEntry]) -> ProcessUser:
    """Docker's user resolution over already-parsed passwd and group entries."""
    user_part, _, group_part = spec.partition(":")
    if not user_part:
        user_part = "0"
    uid_num = _parse_id(user_part)
    entry: PasswdEntry | None = None
    for p in passwd:
        if (uid_num is None and p.name == user_part) or (uid_num is not None and p.uid == uid_num):
            entry = p
            break
    if entry is None and uid_num is None:
        raise ContainerError(f"unable to find user {user_part}: no matching entries in passwd file")
    uid = entry.uid if entry else uid_num if uid_num is not None else 0
    gid = entry.gid if entry else 0
    home = (entry.home or "/") if entry else "/"
    name = entry.name if entry else ""
    sgids: list[int] = []
    if group_part:
        gid_num = _parse_id(group_part)
        found = [g for g in groups if (g.name == group_part if gid_num is None else g.gid == gid_num)]
        if not found and gid_num is None:
            raise ContainerError(f"unable to find group {group_part}: no matching entries in group file")
        gid = found[0].gid if found else gid_num if gid_num is not None else 0
    elif entry is not None:
        sgids = [g.gid for g in groups if entry.name in g.members]
    additional = tuple(sorted({gid, *sgids}))
    return ProcessUser(uid=uid, gid=gid, additional_gids=additional, home=home, name=name)


def resolve_user_in_rootfs(rootfs: Path, spec: str) -> ProcessUser:
    """Resolve ``spec`` against ``rootfs``/etc/passwd and /etc/group (missing files count as empty)."""
    passwd = read_file_in_root(rootfs, "/etc/passwd")
    group = read_file_in_root(rootfs, "/etc/group")
    return resolve_user(
        spec,
        parse_passwd(passwd.decode("utf-8", "replace")) if passwd else [],
        parse_group(group.decode("utf-8", "replace")) if group else [],
    )


def resolve_groups(names: tuple[str, ...] | list[str], groups: list[GroupEntry]) -> tuple[int, ...]:
    """``--group-add``: group names (must exist in /etc/group) or numeric gids."""
    out: list[int] = []
    for name in names:
        gid = _parse_id(name)
        if gid is None:
            found = [g.gid for g in groups if g.name == name]
            if not found:
                raise ContainerError(f"unable to find group {name}: no matching entries in group file")
            gid = found[0]
        out.append(gid)
    return tuple(out)


def resolve_groups_in_rootfs(rootfs: Path, names: tuple[str, ...] | list[str]) -> tuple[int, ...]:
    group = read_file_in_root(rootfs, "/etc/group")
    return resolve_groups(names, parse_group(group.decode("utf-8", "replace")) if group else [])
