"""The name index (``containers/.names``): a name whose container is gone is taken over, and a store made before
the index existed gets one from its records (no root needed)."""

from __future__ import annotations

import pytest

from geedocker.containers.store import ContainerStore
from geedocker.errors import NameConflictError
from geedocker.store.layout import Layout
from tests.containers.conftest import record_maker


def test_a_name_whose_container_vanished_is_taken_over(layout: Layout) -> None:
    """A crash between removing the dir and freeing the name leaves an entry for a container that is gone."""
    import shutil

    store = ContainerStore(layout)
    a = store.create(record_maker(), "web")
    shutil.rmtree(store.dir(a.id))
    b = store.create(record_maker(), "web")
    assert store.resolve("web") == b


def test_the_index_is_made_from_the_records_of_an_older_store(layout: Layout) -> None:
    store = ContainerStore(layout)
    a = store.create(record_maker(), "web")
    import shutil

    shutil.rmtree(layout.containers / ".names")  # as a store written before the index existed
    with pytest.raises(NameConflictError):
        store.create(record_maker(), "web")
    assert store.resolve("web") == a
    assert store.ids() == [a.id]
