"""The Dockerfile parser, variable substitution and .dockerignore, with the Dockerfile reference's examples."""

from __future__ import annotations

import pytest

from geedocker.build.dockerfile import DockerfileError, parse
from geedocker.build.dockerignore import Ignore, read_patterns
from geedocker.build.shellwords import SubstitutionError, expand, split_words


def test_directives_then_instructions() -> None:
    df = parse("# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM busybox\nRUN echo a `\n  b\n")
    assert dict(df.directives) == {"syntax": "docker/dockerfile:1", "check": "skip=all", "escape": "`"}
    assert df.escape == "`"
    assert [i.cmd for i in df.instructions] == ["from", "run"]
    assert df.instructions[1].args == ("echo a   b",)


def test_a_directive_after_a_comment_is_a_comment() -> None:
    df = parse("# about\n# escape=`\nFROM busybox\nRUN a \\\n b\n")
    assert df.escape == "\\" and df.instructions[1].args == ("a  b",)


def test_escape_backtick_windows_example() -> None:
    df = parse("# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\n")
    assert df.instructions[1].args == ("testfile.txt", "c:\\")
    assert df.instructions[2].args == ("dir c:\\",)


def test_comments_and_blank_lines_inside_continuations_are_dropped() -> None:
    df = parse("FROM x\nRUN echo hello \\\n# comment\n\nworld\n")
    assert df.instructions[1].args == ("echo hello world",)
    assert df.instructions[1].line == 2


def test_exec_and_shell_forms() -> None:
    df = parse('FROM x\nCMD ["echo", "hi"]\nENTRYPOINT echo hi\nRUN [ "broken"\nSHELL ["/bin/bash", "-c"]\n')
    cmd, ep, run, shell = df.instructions[1:]
    assert (cmd.json, cmd.args) == (True, ("echo", "hi"))
    assert (ep.json, ep.args) == (False, ("echo hi",))
    assert (run.json, run.args) == (False, ('[ "broken"',))  # not valid JSON: the shell form
    assert shell.args == ("/bin/bash", "-c")


def test_unknown_instruction_names_its_line() -> None:
    with pytest.raises(DockerfileError, match="line 3: unknown instruction: FORM"):
        parse("FROM x\n\nFORM y\n")


def test_shell_needs_json_and_copy_needs_a_destination() -> None:
    with pytest.raises(DockerfileError, match="line 2"):
        parse("FROM x\nSHELL /bin/sh\n")
    with pytest.raises(DockerfileError, match="Destination"):
        parse("FROM x\nCOPY onlyone\n")


def test_heredocs() -> None:
    df = parse(
        "FROM x\nRUN <<EOF\napt-get update\napt-get install -y vim\nEOF\n"
        "COPY <<EOF1 <<\"EOF2\" /dest/\nfile $one\nEOF1\nfile $two\nEOF2\n"
        "RUN <<-EOT sh\n\techo tabs\n\tEOT\nLABEL a=b\n"
    )
    run, copy, run2, label = df.instructions[1:]
    assert run.heredocs[0].content == "apt-get update\napt-get install -y vim\n"
    assert [(h.name, h.content, h.expand) for h in copy.heredocs] == [
        ("EOF1", "file $one\n", True), ("EOF2", "file $two\n", False)]  # fmt: skip
    assert copy.args[-1] == "/dest/"
    assert run2.heredocs[0].content == "echo tabs\n"
    assert label.line == 14


def test_flags_env_label_onbuild_healthcheck() -> None:
    df = parse(
        'FROM --platform=linux/amd64 busybox AS b\nCOPY --from=b --chown=1:2 --link a /b\n'
        'ENV A=1 B="x y" C=z\\ w\nENV LEGACY some value\nLABEL "com.example.vendor"="ACME" version=1.0\n'
        "ONBUILD ADD . /app/src\nHEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1\n"
        "HEALTHCHECK NONE\n"
    )
    fr, cp, env, legacy, label, onb, hc, hcn = df.instructions
    assert fr.flag("platform") == "linux/amd64" and fr.args == ("busybox", "AS", "b")
    assert cp.flag("from") == "b" and cp.flag("link") == "" and cp.flag("chmod") is None
    assert env.args == ("A=1", 'B="x y"', "C=z\\ w")
    assert legacy.args == ("LEGACY=some value",)
    assert label.args == ('"com.example.vendor"="ACME"', "version=1.0")
    assert onb.trigger is not None and onb.trigger.cmd == "add" and onb.trigger.args == (".", "/app/src")
    assert hc.flag("interval") == "5m" and hc.args == ("curl -f http://localhost/ || exit 1",)
    assert hcn.args == ("NONE",)
    with pytest.raises(DockerfileError, match="isn't allowed as an ONBUILD trigger"):
        parse("FROM x\nONBUILD ONBUILD RUN x\n")


ENV = {"FOO": "/bar", "abc": "hello", "empty": ""}


@pytest.mark.parametrize(("word", "want"), [
    ("${FOO}", "/bar"), ("$FOO", "/bar"), ("\\$FOO", "$FOO"), ("'$FOO'", "$FOO"), ('"$FOO"', "/bar"),
    ("${FOO}_x", "/bar_x"), ("${nope:-word}", "word"), ("${empty:-word}", "word"), ("${empty-word}", ""),
    ("${abc:-word}", "hello"), ("${abc:+word}", "word"), ("${nope:+word}", ""), ("${empty:+word}", ""),
    ("${abc+set}", "set"), ('"a\\"b"', 'a"b'), ('"a\\b"', "a\\b"), ("a\\ b", "a b"), ("$", "$"),
    ("${nope:-$abc}", "hello"), ("${abc#h*l}", "lo"), ("${abc%l*}", "hel"), ("${abc%%l*}", "he"),
])  # fmt: skip
def test_substitution(word: str, want: str) -> None:
    assert expand(word, ENV) == want


def test_substitution_errors_and_words() -> None:
    with pytest.raises(SubstitutionError, match="nope: must be set"):
        expand("${nope:?must be set}", ENV)
    assert split_words('a "b c" $FOO \\ d', ENV) == ["a", "b c", "/bar", " d"]
    used: set[str] = set()
    expand("$abc ${FOO:-x}", ENV, used=used)
    assert used == {"abc", "FOO"}


def test_dockerignore_reference_examples() -> None:
    ig = Ignore(read_patterns("# comment\n*/temp*\n*/*/temp*\ntemp?\n"))
    assert ig.excluded("somedir/temporary.txt") and ig.excluded("somedir/temp")
    assert ig.excluded("somedir/subdir/temporary.txt") and ig.excluded("tempa") and ig.excluded("tempb")
    assert not ig.excluded("temporary.txt") and not ig.excluded("a/b/c/temp")
    ig = Ignore(read_patterns("*.md\n!README*.md\nREADME-secret.md\n"))
    assert ig.excluded("CHANGELOG.md") and not ig.excluded("README.md") and ig.excluded("README-secret.md")
    ig = Ignore(read_patterns("*.md\nREADME-secret.md\n!README*.md\n"))
    assert not ig.excluded("README-secret.md")
    ig = Ignore(read_patterns("**/*.go\n/vendor/\n"))
    assert ig.excluded("a/b/c.go") and ig.excluded("c.go") and ig.excluded("vendor/x/y")
    assert not ig.excluded("a/vendor/y")


def test_dockerignore_parent_match_and_pruning() -> None:
    ig = Ignore(read_patterns("build\n"))
    assert ig.excluded("build/deep/file") and ig.prunes("build")
    ig = Ignore(read_patterns("build\n!build/keep\n"))
    assert ig.excluded("build/x") and not ig.excluded("build/keep") and not ig.prunes("build")
    ig = Ignore(read_patterns("[a-c]?.txt\n\\*lit\n"))
    assert ig.excluded("b1.txt") and not ig.excluded("d1.txt") and ig.excluded("*lit") and not ig.excluded("xlit")
