"""One store's engine: its stores and its runtime backends, each made once per process.

Commands, API handlers and engine functions all work on a ``Layout`` (a store's root and run directories).
Each of them used to build the ``ContainerStore``, ``ImageStore``, ``VolumeStore`` or runtime backend it
needed, so one ``docker rm`` made the same store three times over. ``Engine.of(layout)`` is the one
``Engine`` of a layout in this process; its stores and backends are made on first use and kept.

It sits in ``containers/`` because that is the engine package allowed to import the others (images, volumes,
network): ``api/``, ``build/`` and ``cli/`` reach everything through it; ``images/`` and ``volumes/``, below
it, are handed the store views they use. The stores are views of directories (no cached state), so one
instance is safe to share for the life of a process, the API service included.

A backend registered by name (a test's ``FakeBackend``) is asked for anew each time, so re-registering one
takes effect at once.
"""

from __future__ import annotations

from functools import cached_property  # loaded already by the standard modules every command imports

from geedocker.store.layout import Layout

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from geedocker.containers.backend import Backend
    from geedocker.containers.store import ContainerStore
    from geedocker.store.blobs import BlobStore
    from geedocker.store.images import ImageStore
    from geedocker.store.layers import LayerStore
    from geedocker.volumes.store import VolumeStore


class Engine:
    """The stores and backends of ``layout``; build one with ``Engine.of``."""

    _engines: dict[Layout, Engine] = {}  # one per layout in this process (a class attribute, as a ClassVar)

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._backends: dict[str, Backend] = {}

    @classmethod
    def of(cls, layout: Layout) -> Engine:
        """The engine of ``layout`` in this process (made on first call)."""
        engine = cls._engines.get(layout)
        if engine is None:
            engine = cls._engines[layout] = cls(layout)
        return engine

    # Each store's module is imported on first use: a command that needs no volume does not load the volume
    # store (the start path is measured; see tests/test_start_path.py).

    @cached_property
    def containers(self) -> ContainerStore:
        from geedocker.containers.store import ContainerStore

        return ContainerStore(self.layout)

    @cached_property
    def images(self) -> ImageStore:
        from geedocker.store.images import ImageStore

        return ImageStore(self.layout)

    @cached_property
    def blobs(self) -> BlobStore:
        from geedocker.store.blobs import BlobStore

        return BlobStore(self.layout)

    @cached_property
    def layers(self) -> LayerStore:
        from geedocker.store.layers import LayerStore

        return LayerStore(self.layout)

    @cached_property
    def volumes(self) -> VolumeStore:
        from geedocker.volumes.store import VolumeStore

        return VolumeStore(self.layout)

    def backend(self, name: str | None = None) -> Backend:
        """The runtime named ``name`` (as a container's record names it), else the configured default."""
        from geedocker.containers.backend import backend_name, get_backend, is_registered

        name = name or backend_name()
        if is_registered(name):
            return get_backend(self.layout, name)
        backend = self._backends.get(name)
        if backend is None:
            backend = self._backends[name] = get_backend(self.layout, name)
        return backend
