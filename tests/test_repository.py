"""The repository itself: no merge left its conflict markers in a tracked file (the README included)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(rb"^(<{7} |>{7} |={7}$)", re.MULTILINE)
NEWLINE = b"\n"


def test_no_tracked_file_holds_a_merge_conflict_marker() -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.suffix in (".py", ".md", ".sh", ".toml", ".cfg", ".txt", ".yml", ".yaml", "") and path.is_file():
            data = path.read_bytes()
            found += [f"{name.decode()}:{data.count(NEWLINE, 0, m.start()) + 1}" for m in MARKER.finditer(data)]
    assert found == []
