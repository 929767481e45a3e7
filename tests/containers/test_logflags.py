"""The logging flags of create/run: --log-driver, --log-opt (no root needed)."""

from __future__ import annotations

import pytest

from geedocker.containers import logflags
from geedocker.errors import UsageError


def test_parse_log_options() -> None:
    assert logflags.parse_log_options("", []) == ("", ())
    assert logflags.parse_log_options("json-file", ["max-size=10m", "max-file=3", "compress=true", "tag=x"]) == (
        "", (("compress", "true"), ("max-file", "3"), ("max-size", "10m"), ("tag", "x")))
    assert logflags.parse_log_options("none", []) == ("none", ())
    assert logflags.parse_log_options("local", ["max-size=1k"]) == ("local", (("max-size", "1k"),))
    for driver, opts, msg in (("none", ["max-size=1m"], "invalid logging opts for driver none"),
                              ("gelf", [], "not supported by geedocker"), ("xyz", [], 'plugin "xyz" not found'),
                              ("", ["badformat"], "unknown log opt 'badformat' for json-file log driver"),
                              ("", ["max-size=0"], "invalid size: '0'"), ("", ["max-file=x"], "strconv.Atoi"),
                              ("local", ["compress=maybe"], "strconv.ParseBool")):  # fmt: skip
        with pytest.raises(UsageError, match=msg):
            logflags.parse_log_options(driver, opts)


def test_compress_is_a_go_bool_and_json_file_needs_rotation_for_it() -> None:
    for value in ("true", "TRUE", "True", "1", "t"):
        assert logflags.parse_log_options("", ["max-size=1m", "max-file=2", f"compress={value}"])[1][0] == (
            "compress", value)
    for value in ("false", "0", "F"):  # no rotation needed to compress nothing
        assert logflags.parse_log_options("", [f"compress={value}"]) == ("", (("compress", value),))
    with pytest.raises(UsageError, match='strconv.ParseBool: parsing "tRuE": invalid syntax'):
        logflags.parse_log_options("", ["max-size=1m", "max-file=2", "compress=tRuE"])
    with pytest.raises(UsageError, match='strconv.ParseBool: parsing "bogus": invalid syntax'):
        logflags.parse_log_options("", ["compress=bogus"])
    for opts in (["compress=true"], ["max-size=1m", "compress=true"], ["max-file=3", "compress=true"],
                 ["max-size=1m", "max-file=01", "compress=1"]):
        with pytest.raises(UsageError, match="^failed to initialize logging driver: compress cannot be true when "
                                             "max-file is less than 2 or max-size is not set$"):
            logflags.parse_log_options("", opts)
