"""A damaged container: the stand-in ``ContainerStore.load_any`` gives for a record that cannot be read (a damaged
disk, a hand edit, a store from before records were written whole), so that its container does not hide: ``ps -a``
shows it dead and ``rm -f`` removes it with everything it held. Apart from the store because salvaging what is
left of a record is not reading one.
"""

from __future__ import annotations

import json
import os

from geedocker.containers.options import RunOptions
from geedocker.containers.record import MAX_RECORD_BYTES, ContainerRecord, ContainerState, Status
from geedocker.oci import ContainerConfig

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from geedocker.containers.store import ContainerStore


def damaged_record(store: ContainerStore, cid: str, why: str) -> ContainerRecord:
    """The stand-in for the record of ``cid`` that cannot be read (``why``): status dead, the error saying
    why, the name the index gives the id, and the fields that can still be read from what is left of the
    file."""
    try:
        with open(store.record_path(cid), "rb") as f:
            data = f.read(MAX_RECORD_BYTES).decode("utf-8", "replace")
    except OSError:
        data = ""
    found = {k: _salvage(data, k) for k in ("name", "image", "image_id", "created", "runtime")}
    name = found["name"] if found["name"] and store.names.owner(found["name"]) == cid else store.names.name_of(cid)
    created = found["created"]
    if not created:
        try:
            st = os.stat(store.dir(cid))
        except OSError:
            st = None
        if st is not None:
            import time

            created = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(st.st_mtime))
    return ContainerRecord(
        id=cid, name=name, image=found["image"], image_id=found["image_id"], created=created, args=(),
        options=RunOptions(name=name), image_config=ContainerConfig(), lower_dirs=(), runtime=found["runtime"],
        state=ContainerState(status=Status.DEAD, error=why), damaged=why,
    )  # fmt: skip


def _salvage(data: str, key: str) -> str:
    """A string field of a damaged record, from what is left of its text (``"key": "value"``, as ``_write``
    lays it out), or ""."""
    at = data.find(f'\n "{key}": "')
    if at < 0:
        return ""
    start = at + len(key) + 7
    try:
        value, _ = json.JSONDecoder().raw_decode(data, start - 1)
    except ValueError:
        return ""
    return value if isinstance(value, str) else ""
