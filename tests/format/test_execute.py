"""Go's text/template semantics; most cases are the examples of Go's text/template documentation."""

from __future__ import annotations

import pytest

from geedocker.format.execute import Template
from geedocker.format.nodes import TemplateError


def run(src: str, data: object = None, missingkey: str = "default") -> str:
    return Template(src, missingkey=missingkey).execute(data)


@pytest.mark.parametrize("src,data,want", [
    # trim markers: "{{23 -}} < {{- 45}}" gives "23<45"
    ("{{23 -}} < {{- 45}}", None, "23<45"),
    ("a  {{- /* a comment */ -}}  b", None, "ab"),
    ("{{/* a comment */}}x", None, "x"),
    # fields, nested fields, map keys
    ("{{.A.B}} {{.C}}", {"A": {"B": "x"}, "C": 3}, "x 3"),
    ("{{.Missing}}", {}, "<no value>"),
    # pipelines and parenthesized arguments
    ('{{"output" | printf "%q"}}', None, '"output"'),
    ('{{printf "%q" (print "out" "put")}}', None, '"output"'),
    ('{{"put" | printf "%s%s" "out" | printf "%q"}}', None, '"output"'),
    ('{{"output" | printf "%s" | printf "%q"}}', None, '"output"'),
    ('{{with "output"}}{{printf "%q" .}}{{end}}', None, '"output"'),
    ('{{with $x := "output" | printf "%q"}}{{$x}}{{end}}', None, '"output"'),
    ('{{with $x := "output"}}{{printf "%q" $x}}{{end}}', None, '"output"'),
    ('{{with $x := "output"}}{{$x | printf "%q"}}{{end}}', None, '"output"'),
    # if / else if / else, with / else with / else
    ("{{if .}}yes{{else}}no{{end}}", 0, "no"),
    ("{{if eq . 1}}one{{else if eq . 2}}two{{else}}many{{end}}", 2, "two"),
    ("{{with .A}}{{.}}{{else with .B}}b={{.}}{{else}}none{{end}}", {"A": "", "B": 7}, "b=7"),
    ("{{with .A}}{{.}}{{else}}none{{end}}", {"A": []}, "none"),
    # range over slices, maps (sorted keys), ints; else; variables; break and continue
    ("{{range .}}<{{.}}>{{end}}", ["a", "b"], "<a><b>"),
    ("{{range $i, $v := .}}{{$i}}={{$v}};{{end}}", ["a", "b"], "0=a;1=b;"),
    ("{{range $k, $v := .}}{{$k}}:{{$v}} {{end}}", {"b": 2, "a": 1}, "a:1 b:2 "),
    ("{{range $v := .}}{{$v}}{{end}}", {"b": 2, "a": 1}, "12"),
    ("{{range .}}x{{else}}empty{{end}}", [], "empty"),
    ("{{range 3}}{{.}}{{end}}", None, "012"),
    ("{{range .}}{{if eq . 3}}{{break}}{{end}}{{if eq . 1}}{{continue}}{{end}}{{.}}{{end}}", [0, 1, 2, 3, 4], "02"),
    ("{{$x := 0}}{{range .}}{{$x = .}}{{end}}{{$x}}", [4, 5], "5"),
    ("{{range .}}{{$}}{{end}}", [1], "[1]"),
    # define, template, block
    ('{{define "T1"}}ONE{{end}}{{define "T2"}}TWO{{end}}{{define "T3"}}{{template "T1"}} {{template "T2"}}{{end}}'
     '{{template "T3"}}', None, "ONE TWO"),
    ('{{block "list" .}}{{range .}}-{{.}}{{end}}{{end}}', ["a", "b"], "-a-b"),
    ('{{block "x" .A}}[{{.}}]{{end}}', {"A": 1}, "[1]"),
    # builtins
    ("{{and 1 0 2}} {{and 1 2}} {{or 0 \"\" 3}} {{or 0 0}} {{not 0}} {{not 1}}", None, "0 2 3 0 true false"),
    ("{{len .}} {{len \"héllo\"}}", [1, 2, 3], "3 6"),
    ('{{index .L 1}}|{{index .M "k"}}|{{index .M "x"}}|{{index .N 0 1}}',
     {"L": [0, "one"], "M": {"k": "v"}, "N": [[1, 2]]}, "one|v||2"),
    ("{{slice \"abcdef\" 1 3}} {{slice . 1}}", [1, 2, 3], "bc [2 3]"),
    ('{{print 1 2 "a" "b" 3}}|{{println 1 "a"}}|{{print nil}}', None, '1 2ab3|1 a\n|<nil>'),
    ("{{eq 1 1}} {{eq 1 2 1}} {{ne \"a\" \"b\"}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 1}} {{ge 1 2}}", None,
     "true true true true true true false"),
    ('{{html "<a href=\'x\'>&\\""}}', None, "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"),
    ('{{js "a<b\'c\\"d="}}', None, "a\\u003Cb\\'c\\\"d\\u003D"),
    ('{{urlquery "a b&c/d"}}', None, "a+b%26c%2Fd"),
    ("{{call .F 2 3}}", {"F": lambda a, b: a * b}, "6"),
    # printf verbs
    ('{{printf "%5d|%-5d|%05d|%x|%X|%o|%b|%c|%U" 42 42 42 255 255 8 5 65 65}}', None,
     "   42|42   |00042|ff|FF|10|101|A|U+0041"),
    ('{{printf "%.2f|%8.3f|%e|%g|%v|%v|%v" 3.14159 2.5 1234.5678 0.00001 1e6 100000.0 1.5}}', None,
     "3.14|   2.500|1.234568e+03|1e-05|1e+06|100000|1.5"),
    ('{{printf "%s|%q|%v|%t|%T|%T|%%|%5s|%-5s|%.2s" "a" "b\\n" true false 1 "s" "x" "y" "abc"}}', None,
     'a|"b\\n"|true|false|int|string|%|    x|y    |ab'),
    ('{{printf "%d" "a"}} {{printf "%d %d" 1}} {{printf "%d" 1 2}}', None,
     "%!d(string=a) 1 %!d(MISSING) 1%!(EXTRA int=2)"),
    ("{{.}}", {"b": [1, None], "a": True}, "map[a:true b:[1 <nil>]]"),
    ("{{.}} {{.}}", None, "<no value> <no value>"),
    ("{{'a'}} {{0x1F}} {{1_000}} {{-3}} {{`raw\\n`}}", None, "97 31 1000 -3 raw\\n"),
])
def test_go_examples(src: str, data: object, want: str) -> None:
    assert run(src, data) == want


class Row:
    """A struct with fields and methods, as docker's ContainerContext."""

    go_type = "*formatter.ContainerContext"
    ID = "abc"

    def Label(self, name: str) -> str:
        return {"com.x": "1"}.get(name, "")

    def Names(self) -> str:
        return "web"


def test_struct_fields_and_methods() -> None:
    assert run('{{.ID}} {{.Names}} {{.Label "com.x"}}|{{.Label "nope"}}|', Row()) == "abc web 1||"
    assert run('{{"com.x" | .Label}}', Row()) == "1"


@pytest.mark.parametrize("src,data,missingkey,msg", [
    ("{{.Foo}}", Row(), "default",
     'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext'),
    ("{{.Foo}}", {"a": 1}, "error", 'template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"'),
    ("x\n {{.A.B}}", {"A": None}, "default",
     'template: :2:5: executing "" at <.A.B>: nil pointer evaluating interface {}.B'),
    ("{{.ID 1}}", Row(), "default",
     'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function'),
    ("{{.Names 1}}", Row(), "default",
     'template: :1:2: executing "" at <.Names>: wrong number of args for Names: want 0 got 1'),
    ("{{index . 5}}", [1], "default",
     'template: :1:2: executing "" at <index . 5>: error calling index: index out of range: 5'),
    ("{{len 3}}", None, "default", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
    ("{{range 1.5}}{{end}}", None, "default",
     'template: :1:8: executing "" at <1.5>: range can\'t iterate over 1.5'),
    ('{{template "nope"}}', None, "default", 'no template "nope"'),
    ('{{eq "a" 1}}', None, "default", "incompatible types for comparison"),
    ('{{1 2}}', None, "default", "can't give argument to non-function 1"),
])
def test_execution_errors_name_the_node(src: str, data: object, missingkey: str, msg: str) -> None:
    with pytest.raises(TemplateError) as e:
        run(src, data, missingkey)
    assert msg in str(e.value)


@pytest.mark.parametrize("src,msg", [
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{$y}}", 'template: :1: undefined variable "$y"'),
    ("{{if}}{{end}}", "missing value for if"),
    ("{{if 1}}", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{.A", "unclosed action"),
    ("{{break}}", "{{break}} outside {{range}}"),
    ('{{"abc}}', "unterminated quoted string"),
    ("{{/* x */ y}}", "comment ends before closing delimiter"),
    ("{{(1}}", "unclosed left paren"),
    ("{{nil}}", "nil is not a command"),
    ("{{. | 1}}", "non executable command in pipeline stage 2"),
])
def test_parse_errors(src: str, msg: str) -> None:
    with pytest.raises(TemplateError) as e:
        Template(src)
    assert msg in str(e.value)


def test_variable_scope_ends_with_its_block() -> None:
    with pytest.raises(TemplateError, match='undefined variable "\\$x"'):
        Template("{{if 1}}{{$x := 1}}{{end}}{{$x}}")
    assert run('{{$x := "outer"}}{{if 1}}{{$x := "inner"}}{{$x}}{{end}} {{$x}}') == "inner outer"


def test_a_go_objects_omitted_fields_have_their_zero_values() -> None:
    """docker's inspect templates run on typed structs: an omitempty field left out of the JSON still evaluates."""
    import json

    from geedocker.format.docker import FUNCS
    from geedocker.format.struct import GoObject

    obj = GoObject({"Cmd": ["sh"]}, {"ExposedPorts": None, "StopSignal": "", "Cmd": "never used"})
    assert json.dumps(obj) == '{"Cmd": ["sh"]}' and obj.omitted == {"ExposedPorts": None, "StopSignal": ""}
    tmpl = Template('{{json .ExposedPorts}}|{{.StopSignal}}|{{json .Cmd}}', FUNCS, missingkey="error")
    assert tmpl.execute(obj) == 'null||["sh"]'
    with pytest.raises(TemplateError, match='map has no entry for key "Nope"'):
        Template("{{.Nope}}", FUNCS, missingkey="error").execute(obj)


def test_a_go_objects_nulls_are_typed_nils() -> None:
    """A null field of a Go struct is, for a template, the nil of its type, as docker's typed inspect structs."""
    import json

    from geedocker.format.docker import FUNCS
    from geedocker.format.struct import GoObject

    obj = GoObject({"Binds": None, "Labels": None, "Pids": None, "Other": None}, {"Init": None},
                   {"Binds": "slice", "Labels": "map", "Pids": "ptr", "Init": "ptr"})
    assert json.dumps(obj) == '{"Binds": null, "Labels": null, "Pids": null, "Other": null}'
    text = ("{{.Binds}}|{{json .Binds}}|{{len .Binds}}|{{.Labels}}|{{json .Labels}}|{{.Pids}}|{{json .Pids}}|"
            "{{.Init}}|{{if .Pids}}y{{else}}n{{end}}|{{range .Binds}}x{{else}}empty{{end}}|{{.Other}}")
    assert Template(text, FUNCS, missingkey="error").execute(obj) == \
        "[]|null|0|map[]|null|<nil>|null|<nil>|n|empty|<no value>"
