"""Image events in the journal (``geedocker.store.events``), with docker's actors and attributes (dockerd 20.10):

- ``pull``/``push``: the actor is the reference as given (familiar form, tag added), ``name`` its repository;
- ``tag``: the image ID, ``name`` the new tag; ``untag``/``delete``/``save``/``load``/``import``: the image ID,
  ``name`` the image ID too;
- and every one carries the image's labels, as docker's do.
"""

from __future__ import annotations

from geedocker import reference as refs
from geedocker.store import events
from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every command
if TYPE_CHECKING:
    from geedocker.store.images import ImageRecord


def labels(rec: ImageRecord) -> dict[str, str]:
    return dict(rec.config.config.labels)


def by_id(layout: Layout, rec: ImageRecord, action: str, name: str = "") -> None:
    """An event whose actor is the image ID (``tag`` names the new tag; the others name the ID)."""
    image_id = str(rec.config_digest)
    events.emit(layout, "image", action, image_id, {**labels(rec), "name": name or image_id})


def by_reference(layout: Layout, rec: ImageRecord, action: str, ref: refs.Reference) -> None:
    """``pull``/``push``: the reference is the actor, its repository the name."""
    events.emit(layout, "image", action, ref.familiar(),
                {**labels(rec), "name": refs.Reference(ref.domain, ref.path).familiar()})  # fmt: skip


def tagged(layout: Layout, rec: ImageRecord, name: str) -> None:
    """A ``tag`` event for ``name`` (a full reference)."""
    by_id(layout, rec, "tag", refs.parse(name).familiar())
