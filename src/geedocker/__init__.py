"""geedocker: a daemonless, Docker-compatible container engine.

The package is layered (see DESIGN.md): the CLI (``geedocker.cli``) is a thin shell over the
library (``geedocker.images.pull``, ``geedocker.store``, ...), and containers run through the runtime core
(``geedocker.runtime``) from an OCI runtime-spec bundle.
"""

__version__ = "0.1.0"
