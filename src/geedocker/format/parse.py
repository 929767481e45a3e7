"""The parser of Go's text/template: tokens (``lex``) -> a tree of nodes (``nodes``), as Go's
text/template/parse."""

from __future__ import annotations

from geedocker.format.lex import Token, lex, line_of, parse_number, unquote
from geedocker.format.nodes import (
    Action,
    Branch,
    Break,
    Chain,
    Command,
    Constant,
    Continue,
    Dot,
    Field,
    Identifier,
    ListNode,
    Nil,
    Node,
    Pipe,
    TemplateCall,
    TemplateError,
    Text,
    Variable,
    node_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Container


class Parser:
    def __init__(self, src: str, name: str, funcs: Container[str]) -> None:
        self.src = src
        self.name = name
        self.funcs = funcs
        self.toks = lex(src, name)
        self.i = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, ListNode] = {}

    def error(self, msg: str, tok: Token | None = None) -> TemplateError:
        t = tok or self.toks[min(self.i, len(self.toks) - 1)]
        return TemplateError(f"template: {self.name}:{line_of(self.src, t.pos)}: {msg}")

    def peek(self, skip_space: bool = True) -> Token:
        j = self.i
        while skip_space and self.toks[j].kind == "space":
            j += 1
        return self.toks[j]

    def next(self, skip_space: bool = True) -> Token:
        while skip_space and self.toks[self.i].kind == "space":
            self.i += 1
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind: str, context: str) -> Token:
        t = self.next()
        if t.kind != kind:
            raise self.error(f"unexpected {self._describe(t)} in {context}", t)
        return t

    @staticmethod
    def _describe(t: Token) -> str:
        if t.kind == "eof":
            return "EOF"
        if t.kind == "right":
            return "\"}}\""
        return f"\"{t.text}\"" if t.kind not in ("space",) else "space"

    def parse(self) -> tuple[ListNode, dict[str, ListNode]]:
        body, end = self.item_list(top=True)
        return body, self.defines

    def item_list(self, top: bool = False) -> tuple[ListNode, Token]:
        """Items up to {{end}} or {{else}} (returned as the token that ended the list) or EOF at top level."""
        nodes: list[Node] = []
        start = self.toks[self.i].pos
        while True:
            t = self.next(skip_space=False)
            if t.kind == "eof":
                if not top:
                    raise self.error("unexpected EOF", t)
                return ListNode(start, tuple(nodes)), t
            if t.kind == "text":
                nodes.append(Text(t.pos, t.text))
                continue
            # t is "left"
            kw = self.peek()
            if kw.kind in ("end", "else"):
                if top:
                    raise self.error(f"unexpected {{{{{kw.kind}}}}}", kw)
                self.next()
                return ListNode(start, tuple(nodes)), kw
            if kw.kind == "define":
                if not top:
                    raise self.error("unexpected \"define\" in command", kw)
                self.next()
                self.parse_define()
                continue
            node = self.action()
            if node is not None:
                nodes.append(node)

    def parse_define(self) -> None:
        name_tok = self.next()
        if name_tok.kind not in ("string", "raw"):
            raise self.error("unexpected name in define clause", name_tok)
        self.expect("right", "define clause")
        saved = self.vars
        self.vars = ["$"]
        body, end = self.item_list()
        if end.kind != "end":
            raise self.error("unexpected {{else}} in define", end)
        self.expect("right", "end")
        self.vars = saved
        self.defines[self._string(name_tok)] = body

    def _string(self, t: Token) -> str:
        return unquote(t.text[1:-1]) if t.kind == "string" else t.text[1:-1]

    def action(self) -> Node | None:
        t = self.peek()
        kind = t.kind
        if kind in ("if", "range", "with"):
            self.next()
            return self.branch(kind, t)
        if kind == "block":
            self.next()
            name_tok = self.next()
            name = self._string(name_tok)
            pipe = self.pipeline("block", decl_ok=False)
            saved = self.vars
            self.vars = ["$"]
            body, end = self.item_list()
            self.vars = saved
            if end.kind != "end":
                raise self.error("unexpected {{else}} in block", end)
            self.expect("right", "end")
            self.defines[name] = body
            return TemplateCall(t.pos, name, pipe)
        if kind == "template":
            self.next()
            name_tok = self.next()
            if name_tok.kind not in ("string", "raw"):
                raise self.error(f"unexpected {self._describe(name_tok)} in template clause", name_tok)
            arg: Pipe | None = None
            if self.peek().kind != "right":
                arg = self.pipeline("template", decl_ok=False)
            else:
                self.next()
            return TemplateCall(t.pos, self._string(name_tok), arg)
        if kind in ("break", "continue"):
            self.next()
            if not self.range_depth:
                raise self.error(f"{{{{{kind}}}}} outside {{{{range}}}}", t)
            self.expect("right", kind)
            return Break(t.pos) if kind == "break" else Continue(t.pos)
        return Action(t.pos, self.pipeline("command", decl_ok=True))

    def branch(self, kind: str, t: Token) -> Branch:
        mark = len(self.vars)
        pipe = self.pipeline(kind, decl_ok=True, range_=kind == "range")
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_: ListNode | None = None
        if end.kind == "else":
            nxt = self.peek()
            if kind in ("if", "with") and nxt.kind == kind:  # {{else if ...}} / {{else with ...}}: one shared {{end}}
                self.next()
                inner = self.branch(kind, nxt)
                else_ = ListNode(nxt.pos, (inner,))
                del self.vars[mark:]
                return Branch(t.pos, kind, pipe, body, else_)
            self.expect("right", "else")
            else_, end = self.item_list()
            if end.kind != "end":
                raise self.error("expected end; found {{else}}", end)
        self.expect("right", "end")
        del self.vars[mark:]
        return Branch(t.pos, kind, pipe, body, else_)

    def pipeline(self, context: str, decl_ok: bool, range_: bool = False) -> Pipe:
        start = self.peek()
        decl: list[str] = []
        is_assign = False
        if decl_ok and start.kind == "var":
            save = self.i
            v = self.next()
            op = self.peek()
            if op.kind in ("declare", "assign"):
                self.next()
                decl, is_assign = [v.text], op.kind == "assign"
            elif op.kind == "comma" and range_:
                self.next()
                v2 = self.expect("var", "range")
                op2 = self.next()
                if op2.kind not in ("declare", "assign"):
                    raise self.error("range can only initialize variables", op2)
                decl, is_assign = [v.text, v2.text], op2.kind == "assign"
            else:
                self.i = save
            if is_assign:
                for d in decl:
                    if d not in self.vars:
                        raise self.error(f"undefined variable \"{d}\"", v)
            else:
                self.vars.extend(decl)
        cmds: list[Command] = []
        while True:
            t = self.peek()
            if t.kind in ("right", "rparen"):
                self.next()
                break
            cmds.append(self.command())
            t = self.peek()
            if t.kind == "pipe":
                self.next()
            elif t.kind not in ("right", "rparen"):
                raise self.error(f"unexpected {self._describe(t)} in operand", t)
        if not cmds:
            raise self.error(f"missing value for {context}", start)
        for k, c in enumerate(cmds[1:], 2):
            if isinstance(c.args[0], (Constant, Nil, Dot)):
                raise self.error(f"non executable command in pipeline stage {k}", start)
        return Pipe(start.pos, tuple(decl), is_assign, tuple(cmds))

    def command(self) -> Command:
        args: list[Node] = []
        start = self.peek()
        while True:
            t = self.peek(skip_space=False)
            if t.kind == "space":
                self.next(skip_space=False)
                continue
            if t.kind in ("right", "rparen", "pipe", "eof"):
                break
            args.append(self.operand())
            nxt = self.peek(skip_space=False)
            if nxt.kind not in ("space", "right", "rparen", "pipe"):
                raise self.error(f"unexpected {self._describe(nxt)} in operand", nxt)
        if not args:
            raise self.error("empty command", start)
        if isinstance(args[0], Nil):
            raise self.error("nil is not a command", start)
        return Command(start.pos, tuple(args))

    def operand(self) -> Node:
        node = self.term()
        if self.peek(skip_space=False).kind == "field":
            pos = self.peek(skip_space=False).pos  # Go places a chain at its second part (errors say so)
            fields: list[str] = []
            while self.peek(skip_space=False).kind == "field":
                fields.append(self.next(skip_space=False).text[1:])
            if isinstance(node, Field):
                node = Field(pos, node.idents + tuple(fields))
            elif isinstance(node, Variable):
                node = Variable(pos, node.idents + tuple(fields))
            elif isinstance(node, (Constant, Nil, Dot)):
                raise self.error(f"unexpected . after term \"{node_text(node)}\"")
            else:
                node = Chain(pos, node, tuple(fields))
        return node

    def term(self) -> Node:
        t = self.next(skip_space=False)
        k = t.kind
        if k == "ident":
            if t.text not in self.funcs:
                raise self.error(f"function \"{t.text}\" not defined", t)
            return Identifier(t.pos, t.text)
        if k == "dot":
            return Dot(t.pos)
        if k == "nil":
            return Nil(t.pos)
        if k == "var":
            if t.text not in self.vars:
                raise self.error(f"undefined variable \"{t.text}\"", t)
            return Variable(t.pos, (t.text,))
        if k == "field":
            return Field(t.pos, (t.text[1:],))
        if k == "bool":
            return Constant(t.pos, t.text == "true", t.text)
        if k == "number":
            try:
                return Constant(t.pos, parse_number(t.text), t.text)
            except ValueError:
                raise self.error(f"bad number syntax: \"{t.text}\"", t) from None
        if k == "char":
            try:
                ch = unquote(t.text[1:-1])
            except (ValueError, IndexError):
                ch = ""
            if len(ch) != 1:
                raise self.error(f"malformed character constant: {t.text}", t)
            return Constant(t.pos, ord(ch), t.text)
        if k == "string":
            try:
                return Constant(t.pos, unquote(t.text[1:-1]), t.text)
            except (ValueError, IndexError):
                raise self.error(f"invalid syntax: {t.text}", t) from None
        if k == "raw":
            return Constant(t.pos, t.text[1:-1], t.text)
        if k == "lparen":
            return self.pipeline("parenthesized pipeline", decl_ok=False)
        raise self.error(f"unexpected {self._describe(t)} in operand", t)


def parse(src: str, funcs: Container[str], name: str = "") -> tuple[ListNode, dict[str, ListNode]]:
    """The template's tree and the templates it defines (define/block)."""
    return Parser(src, name, funcs).parse()
