"""The tree a Go text/template parses to (Go's text/template/parse nodes), and the error of a bad template."""

from __future__ import annotations

from geedocker.errors import GeeDockerError
from geedocker.values import value


class TemplateError(GeeDockerError):
    """A template that does not parse or execute; docker exits 1 for it."""

    exit_code = 1


@value
class Node:
    pos: int


@value
class Text(Node):
    text: str


@value
class Field(Node):          # .A.B
    idents: tuple[str, ...]


@value
class Variable(Node):       # $x.A.B (idents[0] is "$x")
    idents: tuple[str, ...]


@value
class Chain(Node):          # (pipeline).A.B
    node: Node
    fields: tuple[str, ...]


@value
class Identifier(Node):     # a function's name
    name: str


@value
class Dot(Node):
    pass


@value
class Nil(Node):
    pass


@value
class Constant(Node):       # bool, number, string
    value: object
    text: str


@value
class Command(Node):
    args: tuple[Node, ...]


@value
class Pipe(Node):
    decl: tuple[str, ...]
    is_assign: bool
    cmds: tuple[Command, ...]


@value
class Action(Node):
    pipe: Pipe


@value
class ListNode(Node):
    nodes: tuple[Node, ...]


@value
class Branch(Node):         # if / range / with
    kind: str
    pipe: Pipe
    body: ListNode
    else_: ListNode | None


@value
class TemplateCall(Node):
    name: str
    pipe: Pipe | None


@value
class Break(Node):
    pass


@value
class Continue(Node):
    pass


def node_text(n: Node) -> str:
    """The node as Go's String() shows it in an error's context."""
    if isinstance(n, Field):
        return "." + ".".join(n.idents)
    if isinstance(n, Variable):
        return ".".join(n.idents)
    if isinstance(n, Chain):
        return "(" + node_text(n.node) + ")." + ".".join(n.fields)
    if isinstance(n, Identifier):
        return n.name
    if isinstance(n, Dot):
        return "."
    if isinstance(n, Nil):
        return "nil"
    if isinstance(n, Constant):
        return n.text
    if isinstance(n, Command):
        return " ".join(("(" + node_text(a) + ")") if isinstance(a, Pipe) else node_text(a) for a in n.args)
    if isinstance(n, Pipe):
        s = " | ".join(node_text(c) for c in n.cmds)
        return (", ".join(n.decl) + (" = " if n.is_assign else " := ") + s) if n.decl else s
    if isinstance(n, Action):
        return "{{" + node_text(n.pipe) + "}}"
    return type(n).__name__
