"""How the ``geedocker`` and ``geedocker-runtime`` processes start and end: ``launch``, ``run_main``.

A normal interpreter exit tears every module and object down one by one; with the ~170 modules of a
``geedocker run`` that takes about 20 ms on a small VM, a sixth of the command's whole time. The commands
have nothing to finalize besides what ``atexit`` handlers and the standard streams hold, so ``run_main``
runs ``main``, runs the ``atexit`` handlers, flushes stdout and stderr and leaves with ``os._exit`` (unless
threads are still running and the command was not interrupted: then it exits normally, which waits for them).

The launchers (``geedocker.launcher``) call ``launch``, which also turns the cyclic garbage collector off
before the command's modules are imported. Start-up makes some 100,000 objects and no garbage cycles worth
collecting, and the collector would scan the growing heap again and again (~4 ms of a ``geedocker run``,
and in every forked process of the runtime it would touch, and so copy, every page of that heap). A process
that then goes on for long, and may make cycles, turns it back on with ``collect_cycles``. It also imports
pathlib without urllib.parse (``import_pathlib``).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn


def launch(module: str) -> NoReturn:
    """Run ``module``'s ``main()`` under ``run_main``, with the cyclic garbage collector off meanwhile."""
    gc.disable()
    import_pathlib()
    run_main(__import__(module, fromlist=["main"]).main)


def geedocker() -> NoReturn:
    """The ``geedocker`` console script's entry point (pip, pipx): ``launch`` as the launchers do. What it cannot
    skip is ``site`` and the ``.pth`` files, which the interpreter ran before this (see the README's Usage)."""
    launch("geedocker.cli.main")


def geedocker_runtime() -> NoReturn:
    """The ``geedocker-runtime`` console script's entry point (see ``geedocker``)."""
    launch("geedocker.runtime.cli")


def import_pathlib() -> None:
    """Import pathlib without urllib.parse, which it imports for ``Path.as_uri`` alone and which brings
    ipaddress and six namedtuples along: ~3 ms of every command (Python 3.13 defers that import too).

    pathlib is imported with a stand-in ``urllib.parse`` whose one function pathlib takes loads the real module
    when it is called; the stand-in leaves ``sys.modules`` at once, so any later ``import urllib.parse`` gets
    the real module."""
    if "pathlib" in sys.modules or "urllib.parse" in sys.modules:
        return

    def quote_from_bytes(bs: bytes, safe: str = "/") -> str:
        from urllib.parse import quote_from_bytes as real

        return real(bs, safe)

    stand_in = type(sys)("urllib.parse")
    setattr(stand_in, "quote_from_bytes", quote_from_bytes)  # noqa: B010 - a module object, not a class
    sys.modules["urllib.parse"] = stand_in
    try:
        import pathlib  # noqa: F401 - imported for the start path, its first importer
    finally:
        del sys.modules["urllib.parse"]


def collect_cycles() -> None:
    """Turn the cyclic garbage collector back on (``launch`` turned it off): for a process that goes on for
    long. What start-up made lives as long as the process, so it is frozen first: never scanned again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


INTERRUPTED = 130  # the status of a command ended by SIGINT (Ctrl-C), as docker's


def run_main(main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s status (or a ``SystemExit``'s), skipping the interpreter's teardown."""
    try:
        code = main()
    except SystemExit as e:  # argparse's --help and errors, sys.exit() in main
        code = _exit_status(e.code)
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1 and code != INTERRUPTED:
        sys.exit(code)  # threads still running: the normal exit waits for them (not after Ctrl-C: it means now)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``geedocker ps | head``) or a closed stream
            pass
    os._exit(code)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)  # as the interpreter does with sys.exit("message")
    return 1
