"""How the ``geedocker`` and ``geedocker-runtime`` processes end: ``run_main(main)``.

A normal interpreter exit tears every module and object down one by one; with the ~170 modules of a
``geedocker run`` that takes about 20 ms on a small VM, a sixth of the command's whole time. The commands
have nothing to finalize besides what ``atexit`` handlers and the standard streams hold, so ``run_main``
runs ``main``, runs the ``atexit`` handlers, flushes stdout and stderr and leaves with ``os._exit`` (unless
threads are still running: then it exits normally, which waits for them).
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import NoReturn


def run_main(main: Callable[[], int]) -> NoReturn:
    """Exit with ``main()``'s status (or a ``SystemExit``'s), skipping the interpreter's teardown."""
    try:
        code = main()
    except SystemExit as e:  # argparse's --help and errors, sys.exit() in main
        code = _exit_status(e.code)
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        sys.exit(code)  # threads still running: the normal exit waits for them
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
