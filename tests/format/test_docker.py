"""docker's template functions, the table and json formats, and tabwriter's layout (as docker/cli's tests)."""

from __future__ import annotations

import pytest

from geedocker.format import docker
from geedocker.format.tabwriter import align


def one(src: str, data: object = None) -> str:
    return docker.render_one(src, data)


@pytest.mark.parametrize("src,data,want", [
    ("{{json .}}", {"b": "<x>", "a": [1, None]}, '{"b":"<x>","a":[1,null]}'),
    ('{{join .L ", "}}|{{join .M ","}}', {"L": ["a", "b"], "M": {"x": "2", "y": "1"}}, "a, b|1,2"),
    ('{{split . ":"}}', "a:b:c", "[a b c]"),
    ("{{lower .}} {{upper .}} {{title .}}", "hEllo world-x", "hello world-x HELLO WORLD-X HEllo World-X"),
    ('{{pad . 1 2}}|{{pad "" 1 2}}|', "x", " x  ||"),
    ("{{truncate . 3}} {{truncate . 10}}", "abcdef", "abc abcdef"),
    ("a\\tb\\nc", None, "a\tb\nc"),
])
def test_docker_functions(src: str, data: object, want: str) -> None:
    assert one(src, data) == want


def test_wrong_argument_type_is_an_error() -> None:
    with pytest.raises(docker.FormatError, match="wrong type for value; expected string; got int"):
        one("{{upper 1}}")


class Row:
    go_type = "*formatter.ContainerContext"

    def __init__(self, cid: str, names: str) -> None:
        self.ID = cid
        self._names = names

    def Names(self) -> str:
        return self._names

    def to_json(self) -> dict[str, str]:
        return {"ID": self.ID, "Names": self._names}


HEADERS = {"ID": "CONTAINER ID", "Names": "NAMES"}


def test_table_has_docker_headers_and_layout() -> None:
    rows = [Row("4f8e2c1b", "web"), Row("9a", "a-much-longer-name")]
    out = docker.render("table {{.ID}}\t{{.Names}}", rows, HEADERS)
    assert out == ("CONTAINER ID   NAMES\n"
                   "4f8e2c1b       web\n"
                   "9a             a-much-longer-name\n")
    # a header keeps its text through the text functions (docker's HeaderFunctions)
    out = docker.render("table {{lower .ID}}\t{{truncate .Names 1}}", [Row("AB", "xyz")], HEADERS)
    assert out.splitlines() == ["CONTAINER ID   NAMES", "ab             x"]


def test_table_minimum_width_is_ten_columns() -> None:
    out = docker.render("table {{.ID}}\t{{.Names}}", [Row("a", "b")], {"ID": "ID", "Names": "N"})
    assert out == "ID        N\na         b\n"


def test_plain_and_json_formats() -> None:
    rows = [Row("1", "a"), Row("2", "b")]
    assert docker.render("{{.ID}}:{{.Names}}", rows) == "1:a\n2:b\n"
    assert docker.render("json", rows) == '{"ID":"1","Names":"a"}\n{"ID":"2","Names":"b"}\n'


def test_errors_are_template_parsing_errors_exit_1() -> None:
    with pytest.raises(docker.FormatError) as e:
        docker.render("{{.Nope}}", [Row("1", "a")])
    assert str(e.value) == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                            "can't evaluate field Nope in type *formatter.ContainerContext")
    assert e.value.exit_code == 1
    with pytest.raises(docker.FormatError, match='function "nope" not defined'):
        docker.render("{{nope}}", [])


def test_tabwriter_elastic_columns() -> None:
    # Go's text/tabwriter: a column block ends at a line with fewer cells; the last cell is not padded
    assert align("a\tb\tc\naaa\tbbbbbbbbbbbbb\tc\nx\ny\tz", 2, 1) == "a   b             c\naaa bbbbbbbbbbbbb c\nx\ny z"
    assert align("日本\tx\nab\ty", 1, 1) == "日本 x\nab   y"
