"""The ``store`` fixture of the builder's tests: a store with the busybox base image (``tests.support.build``)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from geedocker.images.importer import import_rootfs
from geedocker.store.layout import Layout
from tests.support.build import BASE
from tests.support.cleanup import clean_store
from tests.support.layers import busybox_rootfs_entries, gzip_bytes, layer_tar


@pytest.fixture
def store(layout: Layout) -> Iterator[Layout]:
    """A store with the base image; afterwards (a failed test too) its containers, mounts and images go."""
    try:
        import_rootfs(layout, io.BytesIO(gzip_bytes(layer_tar(busybox_rootfs_entries()))), BASE,
                      changes=('CMD ["sh"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        yield layout
    finally:
        clean_store(layout)
