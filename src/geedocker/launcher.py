"""Fast launchers for ``geedocker`` and ``geedocker-runtime``: ``python -m geedocker.launcher [--bindir DIR]``.

The console scripts pip writes start a normal interpreter: ``site`` runs, reads every ``.pth`` file in
site-packages and executes the ``import`` lines in them. On some machines that is most of a container's
start time (a ``.pth`` that imports certifi costs 25-50 ms here, twice what a whole ``runc run`` takes).

A launcher written by this module starts the same interpreter with ``-S`` (no ``site``) and puts back, in
the same order, the import path that ``site`` computed when the launcher was written: site-packages, the
directories that ``.pth`` files add, and the directory holding the ``geedocker`` package (an editable
checkout too). What it does not replay is the code in ``.pth`` files, which geedocker does not need.

The interpreter: the distribution's build of the same Python version (``/usr/bin/python3.X``) when there
is one that can import geedocker and its dependencies from this environment, else this interpreter
(``preferred_python``; ``--python`` chooses).

Write the launchers again after installing packages that add directories to the path through ``.pth``
files (``scripts/install-deps.sh`` does it after its ``pip install``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

from geedocker.errors import GeeDockerError, UsageError

ENTRY_POINTS = {"geedocker": "geedocker.cli.main", "geedocker-runtime": "geedocker.runtime.cli"}
MAX_SHEBANG = 255  # the kernel reads at most this much of the ``#!`` line (BINPRM_BUF_SIZE - 1, Linux >= 5.1)


def package_parent() -> str:
    """The directory that holds the ``geedocker`` package as imported now (site-packages or a checkout)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def no_site_path(python: str) -> list[str]:
    """``sys.path`` of ``python -S`` (the standard library only), without the script directory."""
    out = subprocess.run([python, "-S", "-c", "import sys; print('\\n'.join(sys.path[1:]))"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise GeeDockerError(f"running {python} -S: {out.stderr.strip() or out.returncode}")
    return [p for p in out.stdout.splitlines() if p]


def import_path(python: str = sys.executable, current: list[str] | None = None) -> list[str]:
    """What the launcher appends to the ``-S`` path: the package's directory, then what ``site`` added
    (neither ``python``'s standard library nor this interpreter's)."""
    base = set(no_site_path(python)) | set(no_site_path(sys.executable))
    wanted = [package_parent()]
    for p in sys.path[1:] if current is None else current:  # sys.path[0]: the running script's dir, or cwd
        p = os.path.abspath(p) if p else ""
        if p and p not in base and p not in wanted and os.path.isdir(p):
            wanted.append(p)
    return wanted


def distribution_python(version: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)) -> str:
    """The distribution's interpreter of this Python version (``/usr/bin/python3.X``), or "" if there is none."""
    candidate = f"/usr/bin/python{version[0]}.{version[1]}"
    return candidate if os.access(candidate, os.X_OK) else ""


def can_run_geedocker(python: str, path: list[str]) -> bool:
    """Whether ``python -S`` with ``path`` appended imports both entry points and every dependency."""
    from importlib import metadata

    try:
        requires = metadata.requires("geedocker") or []
    except metadata.PackageNotFoundError:
        requires = []
    # a requirement's name is what comes before its version, extras or markers ("urllib3>=2.0")
    names = [m.group(0) for r in requires if "extra ==" not in r if (m := re.match(r"[A-Za-z0-9_.-]+", r))]
    modules = [*ENTRY_POINTS.values(), *(n.replace("-", "_") for n in names)]
    code = f"import sys; sys.path.extend({path!r})\n" + "".join(f"import {m}\n" for m in modules)
    out = subprocess.run([python, "-S", "-c", code], capture_output=True, text=True, check=False, timeout=60)
    return out.returncode == 0


def preferred_python(current: str = sys.executable) -> str:
    """The interpreter the launchers run on: the distribution's build of this Python version when there is one
    that imports geedocker and its dependencies from this environment, else ``current``.

    Distributions build CPython with profile-guided and link-time optimisation; a build from source without
    them (pyenv's default) runs geedocker's start path ~8% slower. The packages stay where pip put them:
    extension modules built for ``python3.X`` load in any 3.X interpreter (CPython keeps that ABI within
    a version)."""
    candidate = distribution_python()
    if not candidate or os.path.realpath(candidate) == os.path.realpath(current):
        return current
    return candidate if _usable(candidate) else current


def _usable(python: str) -> bool:
    try:
        return can_run_geedocker(python, import_path(python))
    except (GeeDockerError, OSError):
        return False


def script_text(module: str, python: str, path: list[str]) -> str:
    """The launcher for ``module``'s ``main``: a Python script run by ``python -S``."""
    shebang = f"#!{python} -S"
    if len(shebang) > MAX_SHEBANG or any(c.isspace() for c in python):
        raise UsageError(f"cannot write a launcher for {python}: the path is too long or has spaces for a #! line")
    return (
        f"{shebang}\n"
        "# Written by `python -m geedocker.launcher`: starts without site.py (see geedocker/launcher.py).\n"
        "import sys\n"
        f"sys.path.extend({path!r})\n"
        "from geedocker.entrypoint import launch\n"
        f"launch({module!r})\n"
    )


def install(bindir: Path, python: str = sys.executable, names: tuple[str, ...] = tuple(ENTRY_POINTS)) -> list[Path]:
    """Write the launchers ``names`` into ``bindir`` (replacing pip's scripts of the same name, atomically)."""
    path = import_path(python)
    bindir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        if name not in ENTRY_POINTS:
            raise UsageError(f"unknown launcher {name!r} (known: {', '.join(ENTRY_POINTS)})")
        target = bindir / name
        tmp = bindir / f".{name}.{os.getpid()}.tmp"
        try:
            tmp.write_text(script_text(ENTRY_POINTS[name], python, path))
            tmp.chmod(0o755)
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise GeeDockerError(f"writing launcher {target}: {e.strerror}") from e
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    from geedocker.argparsing import ArgumentParser

    ap = ArgumentParser(prog="python -m geedocker.launcher", description=__doc__.splitlines()[0])
    ap.add_argument("--bindir", type=Path, default=Path(sysconfig.get_path("scripts")),
                    help="where to write them (default: this interpreter's scripts directory)")
    ap.add_argument("--python", default="",
                    help="the interpreter they run on (default: the distribution's build of this Python version "
                         "when it can run geedocker from here, else this interpreter)")
    ap.add_argument("names", nargs="*", default=list(ENTRY_POINTS), help="which launchers (default: all)")
    args = ap.parse_args(argv)
    try:
        python = args.python or preferred_python()
        if args.python and not _usable(python):
            raise UsageError(f"{python} cannot import geedocker and its dependencies from this environment")
        for p in install(args.bindir, python=python, names=tuple(args.names)):
            print(p)
    except GeeDockerError as e:
        print(f"Error: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
