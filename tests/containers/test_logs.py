from __future__ import annotations

import io
import json
import os
import threading
import time
from pathlib import Path

import pytest

from geedocker.containers import logs


def test_writer_splits_lines_per_stream(tmp_path: Path) -> None:
    p = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(p)
    w.write("stdout", b"hel")
    w.write("stderr", b"oops\n")
    w.write("stdout", b"lo\nwor")
    w.write("stdout", b"ld\nno newline")
    w.close()
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    assert [(r["stream"], r["log"]) for r in recs] == [
        ("stderr", "oops\n"),
        ("stdout", "hello\n"),
        ("stdout", "world\n"),
        ("stdout", "no newline"),
    ]
    assert all(r["time"].endswith("Z") and "T" in r["time"] for r in recs)


def test_long_lines_are_split(tmp_path: Path) -> None:
    p = tmp_path / "l.log"
    w = logs.JsonLogWriter(p)
    w.write("stdout", b"x" * (logs.MAX_LINE * 2 + 5) + b"\n")
    w.close()
    recs = [json.loads(line)["log"] for line in p.read_text().splitlines()]
    assert [len(r) for r in recs] == [logs.MAX_LINE, logs.MAX_LINE, 6]


def test_read_tail_and_write(tmp_path: Path) -> None:
    p = tmp_path / "l.log"
    w = logs.JsonLogWriter(p)
    for i in range(10):
        w.write("stderr" if i % 2 else "stdout", f"line {i}\n".encode())
    w.close()
    assert len(logs.read_entries(p)) == 10
    tail = logs.read_entries(p, 3)
    assert [e.log for e in tail] == ["line 7\n", "line 8\n", "line 9\n"]
    out, err = io.BytesIO(), io.BytesIO()
    logs.write_entries(tail, out, err, timestamps=False)
    assert out.getvalue() == b"line 8\n" and err.getvalue() == b"line 7\nline 9\n"
    out = io.BytesIO()
    logs.write_entries(logs.read_entries(p, 1), out, out, timestamps=True)
    assert out.getvalue().decode().split(" ", 1)[1] == "line 9\n"
    assert logs.read_entries(tmp_path / "missing") == []


def test_follow_sees_appended_entries(tmp_path: Path) -> None:
    p = tmp_path / "l.log"
    w = logs.JsonLogWriter(p)
    w.write("stdout", b"first\n")
    stop = threading.Event()

    def writer() -> None:
        for i in range(3):
            time.sleep(0.05)
            w.write("stdout", f"more {i}\n".encode())
        stop.set()

    t = threading.Thread(target=writer)
    t.start()
    got = [e.log for e in logs.follow_entries(p, 0, stop.is_set, poll=0.01)]
    t.join()
    w.close()
    assert got == ["first\n", "more 0\n", "more 1\n", "more 2\n"]


def test_timestamps_are_utc_rfc3339_with_nanoseconds() -> None:
    import re
    import time

    from geedocker.timefmt import now_rfc3339, parse_rfc3339

    before = time.time()
    ts = now_rfc3339(nanoseconds=True)  # what JsonLogWriter stamps each line with
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", ts), ts
    parsed = parse_rfc3339(ts)
    assert parsed is not None and before - 1 <= parsed.timestamp() <= time.time() + 1


def test_a_container_that_says_nothing_makes_no_log_file(tmp_path: Path) -> None:
    p = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(p)
    w.close()
    assert not p.exists()
    assert logs.read_entries(p) == []
    w = logs.JsonLogWriter(p)
    w.write("stderr", b"late\n")
    w.close()
    assert [(e.stream, e.log) for e in logs.read_entries(p)] == [("stderr", "late\n")]


def test_a_log_that_cannot_be_written_drops_entries_and_says_why_once() -> None:
    seen: list[str] = []
    w = logs.JsonLogWriter(Path("/dev/full"), on_error=seen.append)  # every write: ENOSPC
    for i in range(5):
        w.write("stdout", f"line {i}\n".encode())
    w.write("stderr", b"no newline")
    w.close()  # flushes the pending part: dropped too, and no exception
    assert w.dropped == 6
    assert seen == ["write /dev/full: no space left on device"] and w.error == seen[0]
    assert w.report() == "log: 6 entries dropped: write /dev/full: no space left on device"


def test_an_entry_cut_short_costs_that_entry_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path)
    w.write("stdout", b"first\n")
    real = os.write
    calls = {"n": 0}

    def short_then_full(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real(fd, bytes(data[:10]))  # part of the entry, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(logs.os, "write", short_then_full)
    w.write("stdout", b"second\n")
    monkeypatch.setattr(logs.os, "write", real)
    w.write("stdout", b"third\n")  # space again
    w.close()
    assert [e.log for e in logs.read_entries(path)] == ["first\n", "third\n"]
    assert w.dropped == 1 and w.report().startswith("log: 1 entries dropped: write ")


def test_max_size_and_max_file_rotate_as_docker_and_logs_reads_them_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=300, max_files=3)
    for i in range(40):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["c-json.log", "c-json.log.1", "c-json.log.2"]  # max-file counts the log itself
    for p in (path, Path(f"{path}.1"), Path(f"{path}.2")):
        size = p.stat().st_size
        assert size < 300 + 100  # reached, then one entry more at most (docker checks before each write)
    got = [e.log for e in logs.read_entries(path)]
    assert got == [f"line {i}\n" for i in range(40 - len(got), 40)] and len(got) < 40  # the oldest went
    assert [e.log for e in logs.read_entries(path, tail=2)] == ["line 38\n", "line 39\n"]
    assert logs.log_files(path) == [Path(f"{path}.2"), Path(f"{path}.1"), path]


def test_max_file_1_starts_the_log_again(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=200, max_files=1)
    for i in range(20):
        w.write("stdout", f"line {i}\n".encode())
    w.close()
    assert [p.name for p in tmp_path.iterdir()] == ["c-json.log"]
    assert path.stat().st_size < 300 and logs.read_entries(path)[-1].log == "line 19\n"


@pytest.mark.parametrize(("text", "size"), [("10", 10), ("10k", 10240), ("1m", 1 << 20), ("2g", 2 << 30),
                                            ("1.5k", 1536), ("10kb", 10240), ("3MiB", 3 << 20), ("", 0), ("x", 0)])
def test_parse_size_is_dockers_ram_in_bytes(text: str, size: int) -> None:
    assert logs.parse_size(text) == size


def test_follow_goes_on_in_the_new_file_after_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=150, max_files=2)
    w.write("stdout", b"start\n")
    stop = threading.Event()
    got: list[str] = []

    def follow() -> None:
        got.extend(e.log for e in logs.follow_entries(path, 0, stop.is_set, poll=0.01))

    t = threading.Thread(target=follow)
    t.start()
    for i in range(10):
        w.write("stdout", f"line {i}\n".encode())
        time.sleep(0.05)
    w.close()
    time.sleep(0.1)
    stop.set()
    t.join(10)
    assert got[0] == "start\n" and got[-1] == "line 9\n"


def _lines(n: int) -> list[str]:
    return [f"line {i}\n" for i in range(n)]


def test_compress_gzips_the_rotated_files_and_logs_reads_them_in_order(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=300, max_files=4, compress=True)
    for line in _lines(60):
        w.write("stdout", line.encode())
    w.close()  # waits for the last compression
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["c-json.log", "c-json.log.1.gz", "c-json.log.2.gz", "c-json.log.3.gz"]  # the log stays plain
    assert logs.log_files(path) == [Path(f"{path}.3.gz"), Path(f"{path}.2.gz"), Path(f"{path}.1.gz"), path]
    for i in (1, 2, 3):
        with gzip.open(f"{path}.{i}.gz") as f:
            assert all(json.loads(line)["stream"] == "stdout" for line in f)
        assert os.stat(f"{path}.{i}.gz").st_mode & 0o777 == 0o640
    got = [e.log for e in logs.read_entries(path)]
    assert got == _lines(60)[-len(got):] and 12 < len(got) < 60  # every file, oldest first; the oldest went
    assert [e.log for e in logs.read_entries(path, tail=3)] == _lines(60)[-3:]


def test_compress_false_keeps_the_rotated_files_plain(tmp_path: Path) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=300, max_files=3, compress=False)
    for line in _lines(40):
        w.write("stdout", line.encode())
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log", "c-json.log.1", "c-json.log.2"]


def test_the_writer_goes_on_while_a_rotated_file_is_compressed(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c-json.log"
    release = threading.Event()
    real = logs.compress_file

    def slow(plain: Path) -> None:
        release.wait(10)
        real(plain)

    monkeypatch.setattr(logs, "compress_file", slow)
    w = logs.JsonLogWriter(path, max_size=100, max_files=3, compress=True)
    for line in _lines(4):  # one rotation: its compression waits
        w.write("stdout", line.encode())
    assert os.path.exists(f"{path}.1") and not os.path.exists(f"{path}.1.gz")
    assert [e.log for e in logs.read_entries(path)] == _lines(4)  # the plain rotated file is read meanwhile
    release.set()
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log", "c-json.log.1.gz"]
    assert [e.log for e in logs.read_entries(path)] == _lines(4)


def test_a_compression_that_fails_leaves_the_plain_file_and_no_gz(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c-json.log"

    def fail(fd: int) -> None:  # the crash: after the data, before the rename
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(logs.os, "fsync", fail)
    w = logs.JsonLogWriter(path, max_size=300, max_files=3, compress=True)
    for line in _lines(12):
        w.write("stdout", line.encode())
    w.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    assert [e.log for e in logs.read_entries(path)] == _lines(12)  # nothing lost


def test_plain_and_compressed_rotated_files_are_read_in_order(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "c-json.log"

    def entries(*ns: int) -> bytes:
        return b"".join(json.dumps({"log": f"line {n}\n", "stream": "stdout", "time": "t"}).encode() + b"\n"
                        for n in ns)

    Path(f"{path}.3.gz").write_bytes(gzip.compress(entries(0, 1)))
    Path(f"{path}.2").write_bytes(entries(2))  # left plain by a crash mid-compress
    Path(f"{path}.2.gz.tmp").write_bytes(b"\x1f\x8b half")  # the crash's half-written .gz: never read
    Path(f"{path}.1").write_bytes(entries(3))  # being compressed: the plain file is taken, as docker does
    Path(f"{path}.1.gz").write_bytes(gzip.compress(entries(3)))
    path.write_bytes(entries(4))
    assert [e.log for e in logs.read_entries(path)] == _lines(5)
    assert [e.log for e in logs.read_entries(path, tail=2)] == _lines(5)[3:]


def test_a_rotated_file_compressed_after_it_was_listed_is_read_from_its_gz(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c-json.log"
    w = logs.JsonLogWriter(path, max_size=100, max_files=2)
    for line in _lines(4):
        w.write("stdout", line.encode())
    w.close()
    listed = logs.log_files(path)
    assert listed[0] == Path(f"{path}.1")
    logs.compress_file(Path(f"{path}.1"))
    monkeypatch.setattr(logs, "log_files", lambda p: listed)
    assert [e.log for e in logs.read_entries(path)] == _lines(4)


def test_rotations_with_compress_never_import_gzip_into_the_writer_without_it() -> None:
    import subprocess
    import sys

    code = ("import sys, tempfile, pathlib; from geedocker.containers import logs\n"
            "d = pathlib.Path(tempfile.mkdtemp())\n"
            "w = logs.JsonLogWriter(d / 'l.log', max_size=50, max_files=3)\n"
            "[w.write('stdout', b'x' * 40 + b'\\n') for _ in range(10)]; w.close()\n"
            "print('gzip' in sys.modules)\n")
    src = str(Path(logs.__file__).parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PYTHONPATH": src})
    assert out.stdout.strip() == "False", out.stderr
