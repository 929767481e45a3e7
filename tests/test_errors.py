"""geedocker.errors: the cause chain that ``-D`` prints below an error."""

from __future__ import annotations

import json

import pytest

from geedocker.errors import ContainerError, StoreError, causes, describe


def _raise_chain() -> None:
    try:
        try:
            open("/nonexistent-dir-for-geedocker-tests/x")
        except OSError as e:
            raise StoreError("reading the record") from e
    except StoreError as e:
        raise ContainerError("starting c1") from e


def test_causes_lists_the_chain_nearest_first_one_line_each() -> None:
    with pytest.raises(ContainerError) as info:
        _raise_chain()
    chain = causes(info.value)
    assert chain[0] == "StoreError: reading the record"
    assert chain[1].startswith("FileNotFoundError: [Errno 2] No such file or directory")
    assert len(chain) == 2


def test_describe_adds_the_causes_only_when_debugging() -> None:
    with pytest.raises(ContainerError) as info:
        _raise_chain()
    assert describe(info.value, debug=False) == "starting c1"
    lines = describe(info.value, debug=True).split("\n")
    assert lines[0] == "starting c1"
    assert lines[1] == "  caused by: StoreError: reading the record"
    assert lines[2].startswith("  caused by: FileNotFoundError: ")


def test_a_suppressed_context_is_not_a_cause_but_an_implicit_one_is() -> None:
    try:
        try:
            json.loads("{")
        except ValueError:
            raise StoreError("hidden") from None
    except StoreError as e:
        assert causes(e) == []
    try:
        try:
            json.loads("{")
        except ValueError:
            raise StoreError("while handling")  # noqa: B904 - the implicit context is what this test checks
    except StoreError as e:
        assert len(causes(e)) == 1 and causes(e)[0].startswith("JSONDecodeError: ")


def test_a_multi_line_cause_stays_on_one_line() -> None:
    err = StoreError("outer")
    err.__cause__ = ValueError("first\n- second")
    assert causes(err) == ["ValueError: first - second"]
