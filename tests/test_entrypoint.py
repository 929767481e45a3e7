"""geedocker.entrypoint.run_main: the exit status, flushed output and atexit handlers, without teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(body: str, **kw: object) -> subprocess.CompletedProcess[str]:
    code = (f"import sys, atexit; sys.path.insert(0, {SRC!r})\n"
            "from geedocker.entrypoint import run_main\n" + body)
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)


def test_the_status_of_main_and_buffered_output_and_atexit_handlers() -> None:
    r = _run("atexit.register(lambda: print('atexit ran'))\n"
             "def main():\n    sys.stdout.write('partial line, no newline')\n    return 3\n"
             "run_main(main)\n")
    assert r.returncode == 3
    assert r.stdout == "partial line, no newlineatexit ran\n"


@pytest.mark.parametrize(("exit_arg", "status", "stderr"),
                         [("None", 0, ""), ("125", 125, ""), ("'bad flag'", 1, "bad flag\n")])
def test_system_exit_from_main(exit_arg: str, status: int, stderr: str) -> None:
    r = _run(f"def main():\n    raise SystemExit({exit_arg})\nrun_main(main)\n")
    assert r.returncode == status
    assert r.stderr == stderr


def test_a_closed_stdout_pipe_is_not_an_error() -> None:
    """``geedocker ps | head``: the reader is gone before our buffered output is flushed. A plain interpreter
    exit reports the BrokenPipeError and exits 120; run_main keeps main's status."""
    import os

    body = "def main():\n    sys.stdout.write('buffered output')\n    return 0\n"
    for tail, want_status, want_noise in (("run_main(main)\n", 0, False), ("sys.exit(main())\n", 120, True)):
        r, w = os.pipe()
        os.close(r)  # nobody will ever read
        try:
            p = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {SRC!r})\n"
                                "from geedocker.entrypoint import run_main\n" + body + tail],
                               stdout=w, stderr=subprocess.PIPE, text=True, timeout=30,
                               env={k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})
        finally:
            os.close(w)
        assert p.returncode == want_status, (tail, p.stderr)
        assert ("BrokenPipeError" in p.stderr) == want_noise, p.stderr


def test_an_unexpected_exception_keeps_its_traceback_and_status() -> None:
    r = _run("def main():\n    raise RuntimeError('boom')\nrun_main(main)\n")
    assert r.returncode == 1
    assert "RuntimeError: boom" in r.stderr


def test_running_threads_are_waited_for() -> None:
    r = _run("import threading, time\n"
             "def work():\n    time.sleep(0.2)\n    print('thread done', flush=True)\n"
             "def main():\n    threading.Thread(target=work).start()\n    return 4\n"
             "run_main(main)\n")
    assert r.returncode == 4
    assert r.stdout == "thread done\n"


def test_launch_runs_main_of_the_module_with_the_cycle_collector_off(tmp_path: Path) -> None:
    (tmp_path / "gdtestcmd.py").write_text("import gc, sys\n"
                                         "def main():\n    print('collector on:', gc.isenabled())\n    return 7\n")
    code = (f"import sys; sys.path[:0] = [{SRC!r}, {str(tmp_path)!r}]\n"
            "from geedocker.entrypoint import launch\nlaunch('gdtestcmd')\n")
    r = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (7, "collector on: False\n")


def test_collect_cycles_turns_the_collector_back_on_and_leaves_start_up_objects_alone() -> None:
    r = _run("import gc\n"
             "def main():\n"
             "    gc.disable()\n"
             "    from geedocker.entrypoint import collect_cycles\n"
             "    collect_cycles()\n"
             "    print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
             "    class Node: pass\n"
             "    a = Node(); a.me = a; del a\n"
             "    print(gc.collect() >= 1)\n"
             "    return 0\n"
             "run_main(main)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "True True\nTrue\n"


def test_import_pathlib_leaves_urllib_parse_out_until_as_uri_needs_it() -> None:
    r = _run("from geedocker.entrypoint import import_pathlib\n"
             "import_pathlib()\n"
             "import pathlib\n"
             "print('urllib.parse' in sys.modules, 'ipaddress' in sys.modules)\n"
             "print(pathlib.Path('/a b/c').as_uri())\n"
             "import urllib.parse\n"
             "print(urllib.parse.urlsplit('http://host/x').netloc)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "False False\nfile:///a%20b/c\nhost\n"


@pytest.mark.parametrize("script", ["geedocker", "geedocker-runtime"])
def test_the_console_scripts_go_through_launch(script: str, tmp_path: Path) -> None:
    """pip's wrapper for the entry point in pyproject.toml: it runs the command as the launchers do (the collector
    off, no teardown) and exits with its status."""
    import tomllib

    meta = tomllib.loads((Path(SRC).parent / "pyproject.toml").read_text())
    module, _, func = meta["project"]["scripts"][script].partition(":")
    assert module == "geedocker.entrypoint"
    wrapper = (f"import re, sys; sys.path.insert(0, {SRC!r})\n"
               "import atexit, gc; atexit.register(lambda: print('gc', gc.isenabled()))\n"
               f"from {module} import {func}\n"
               f"sys.exit({func}())\n")  # as pip writes it
    argv = ["--root", str(tmp_path), "--run-root", str(tmp_path / "run"), "ps", "-a"] if script == "geedocker" \
        else ["--root", str(tmp_path), "list"]
    r = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split()[:2] == (["CONTAINER", "ID"] if script == "geedocker" else ["ID", "PID"])
    assert r.stdout.splitlines()[-1] == "gc False"
