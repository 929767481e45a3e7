"""What ``geedocker-runtime list`` and ``ps`` print beside the runtime core's answer: list's owner column and
ps's table (the host's ``ps`` cut to the container's processes).

Apart from ``cli`` (main and the dispatch, which imports this for those commands): they load pwd and
subprocess, which ``geedocker-runtime run`` must not.
"""

from __future__ import annotations

from geedocker.runtime.cli_parser import usage

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from pathlib import Path


def owner(state_dir: Path) -> str:
    """runc's ``owner`` in ``list``: the name of the user owning the container's state dir (``#uid`` without one)."""
    import pwd  # here: only ``list`` needs it

    try:
        uid = state_dir.stat().st_uid
    except OSError:
        return ""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def ps_table(pids: list[int], ps_args: list[str]) -> None:
    """runc's table: the host's ``ps`` output (``-ef`` unless given) cut to the header and the container's
    processes, found by the PID column."""
    import subprocess  # here: only ``ps`` runs it

    try:
        out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise usage(f"running ps {' '.join(ps_args)}: {e}") from e
    lines = out.splitlines()
    if not lines or "PID" not in lines[0].split():
        raise usage(f"ps {' '.join(ps_args)}: no PID column in its output")
    col = lines[0].split().index("PID")
    wanted = set(pids)
    print(lines[0])
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in wanted:
            print(line)
