"""The flag-value parsers of create/run (no root needed)."""

from __future__ import annotations

import signal

import pytest

from geedocker.containers import flags
from geedocker.errors import UsageError


def test_parse_env_list_takes_host_values_and_drops_unset() -> None:
    assert flags.parse_env_list(["A=1", "FROMHOST", "UNSET", "E="], {"FROMHOST": "h"}) == ["A=1", "FROMHOST=h", "E="]
    with pytest.raises(UsageError):
        flags.parse_env_list(["=x"], {})


def test_env_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "env"
    f.write_text("# comment\n\nA=1\nB=two words\nHOSTV\n")
    assert flags.parse_env_file(str(f), {"HOSTV": "v"}) == ["A=1", "B=two words", "HOSTV=v"]
    f.write_text("BAD KEY=1\n")
    with pytest.raises(UsageError, match="whitespace"):
        flags.parse_env_file(str(f), {})
    with pytest.raises(UsageError, match="open"):
        flags.parse_env_file(str(tmp_path / "missing"), {})


@pytest.mark.parametrize(
    ("text", "want"),
    [("1024", 1024), ("512k", 512 << 10), ("64m", 64 << 20), ("1g", 1 << 30), ("1.5GB", 3 << 29), ("2MiB", 2 << 20)],
)
def test_parse_bytes(text: str, want: int) -> None:
    assert flags.parse_bytes(text) == want


def test_parse_memory_rules() -> None:
    assert flags.parse_memory("64m", None) == (64 << 20, 128 << 20)
    assert flags.parse_memory("64m", "-1") == (64 << 20, -1)
    assert flags.parse_memory(None, None) == (None, None)
    for mem, swap, msg in [
        ("1k", None, "Minimum memory"),
        ("lots", None, "invalid --memory"),
        ("64m", "32m", "larger than memory"),
        (None, "1g", "Memory limit"),
    ]:
        with pytest.raises(UsageError, match=msg):
            flags.parse_memory(mem, swap)


def test_parse_cpus() -> None:
    assert flags.parse_cpus("0.5") == 500_000_000
    assert flags.parse_cpus(None) is None
    with pytest.raises(UsageError):
        flags.parse_cpus("abc")
    with pytest.raises(UsageError, match="range of CPUs"):
        flags.parse_cpus("100000")


def test_parse_signal() -> None:
    assert flags.parse_signal("SIGTERM") == signal.SIGTERM
    assert flags.parse_signal("kill") == 9
    assert flags.parse_signal("15") == 15
    assert flags.parse_signal("SIGRTMIN+1") == signal.SIGRTMIN + 1
    for bad in ("NOPE", "0", "99"):
        with pytest.raises(UsageError):
            flags.parse_signal(bad)


def test_validate_name() -> None:
    assert flags.validate_name("/web.1_a-b") == "web.1_a-b"
    for bad in ("a", "-x", "a b", "x/y"):
        with pytest.raises(UsageError):
            flags.validate_name(bad)


def test_ulimits_and_sysctls() -> None:
    assert flags.parse_ulimit("nofile=1024:2048") == ("RLIMIT_NOFILE", 1024, 2048)
    assert flags.parse_ulimit("nproc=50") == ("RLIMIT_NPROC", 50, 50)
    assert flags.parse_ulimit("core=-1") == ("RLIMIT_CORE", 2**64 - 1, 2**64 - 1)
    for bad in ("nofile", "bogus=1", "nofile=2:1", "nofile=x"):
        with pytest.raises(UsageError):
            flags.parse_ulimit(bad)
    assert flags.parse_sysctl("net.ipv4.ip_forward=1") == ("net.ipv4.ip_forward", "1")
    with pytest.raises(UsageError, match="not namespaced"):
        flags.parse_sysctl("vm.swappiness=1")


def test_parse_expose() -> None:
    assert flags.parse_expose("80") == ["80/tcp"]
    assert flags.parse_expose("53/udp") == ["53/udp"]
    assert flags.parse_expose("9000-9002/tcp") == ["9000/tcp", "9001/tcp", "9002/tcp"]
    for bad, msg in (("abc", 'parsing "abc"'), ("80-x", 'parsing "x"'), ("80/icmp", "invalid proto"),
                     ("90-80", "below the start")):  # fmt: skip
        with pytest.raises(UsageError, match=msg):
            flags.parse_expose(bad)


def test_parse_device_as_dockers_cli() -> None:
    assert flags.parse_device("/dev/fuse") == ("/dev/fuse", "/dev/fuse", "rwm")
    assert flags.parse_device("/dev/fuse:rw") == ("/dev/fuse", "/dev/fuse", "rw")  # the mode may come second
    assert flags.parse_device("/dev/null:/dev/x") == ("/dev/null", "/dev/x", "rwm")
    assert flags.parse_device("/dev/null:/dev/x:r") == ("/dev/null", "/dev/x", "r")
    for bad, msg in (("/dev/null:/dev/x:rwz", "bad mode specified: rwz"), ("/dev/null:/dev/x:rr", "bad mode"),
                     ("a:b:c:d", "invalid device specification"), (":/x", "invalid device specification"),
                     ("/dev/null:rel", "bad format for path: rel")):  # fmt: skip
        with pytest.raises(UsageError, match=msg):
            flags.parse_device(bad)
