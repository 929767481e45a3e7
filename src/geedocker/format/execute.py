"""Executing a parsed template with Go's text/template semantics (fields, methods, maps, variables, pipelines)."""

from __future__ import annotations

from geedocker.format import builtins
from geedocker.format.builtins import is_true
from geedocker.format.gofmt import NO_VALUE, go_type, sorted_keys, sprint_value
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
from geedocker.format.parse import parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_NO_FINAL = object()  # no value piped in from a previous command
_LAZY = {"and", "or"}  # evaluate their arguments only as far as needed, as Go 1.18+ does


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _arity(fn: Callable[..., object]) -> tuple[int, bool] | None:
    """(number of parameters, variadic) of a Python function or bound method; None when not knowable."""
    func = getattr(fn, "__func__", fn)  # a bound method: its function, less the self parameter
    bound = 0 if func is fn else 1
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    n = code.co_argcount - bound
    defaults = getattr(func, "__defaults__", None)
    if defaults:
        n -= len(defaults)
    return n, bool(code.co_flags & 0x04)


class Template:
    """A parsed template. missingkey is Go's option: "default" (a missing map key is <no value>) or "error"."""

    def __init__(self, src: str, funcs: Mapping[str, Callable[..., object]] | None = None, name: str = "",
                 missingkey: str = "default") -> None:
        self.src = src
        self.name = name
        self.funcs: dict[str, Callable[..., object]] = dict(builtins.FUNCS)
        if funcs:
            self.funcs.update(funcs)
        self.tree, self.defines = parse(src, self.funcs, name)
        self.missingkey = missingkey

    def execute(self, data: object, funcs: Mapping[str, Callable[..., object]] | None = None,
                out: list[str] | None = None) -> str:
        """The text; a TemplateError names the failing node. With out, text made before an error is kept there."""
        state = _State(self, dict(self.funcs, **funcs) if funcs else self.funcs, out if out is not None else [])
        state.vars.append(("$", data))
        state.walk(data, self.tree)
        return "".join(state.out)


class _State:
    def __init__(self, tmpl: Template, funcs: dict[str, Callable[..., object]], out: list[str]) -> None:
        self.tmpl = tmpl
        self.funcs = funcs
        self.out = out
        self.vars: list[tuple[str, object]] = []
        self.current = tmpl.name
        self.at: Node | None = None

    # --- errors and variables ----------------------------------------------------------------------------------

    def error(self, msg: str) -> TemplateError:
        src = self.tmpl.src
        where = ""
        context = ""
        if self.at is not None:
            pos = self.at.pos
            nl = src.rfind("\n", 0, pos)
            col = pos if nl < 0 else pos - nl - 1
            where = f":{src.count(chr(10), 0, pos) + 1}:{col}"
            context = node_text(self.at)
            if len(context) > 20:
                context = context[:20] + "..."
        return TemplateError(f"template: {self.tmpl.name}{where}: executing \"{self.current}\" at <{context}>: {msg}")

    def lookup(self, name: str) -> object:
        for n, v in reversed(self.vars):
            if n == name:
                return v
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, v: object) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, v)
                return
        raise self.error(f"undefined variable: {name}")

    # --- walking -----------------------------------------------------------------------------------------------

    def walk(self, dot: object, node: Node) -> None:
        if isinstance(node, Text):
            self.out.append(node.text)
        elif isinstance(node, ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, Action):
            mark = len(self.vars)
            v = self.pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append(sprint_value(v))
            elif mark == len(self.vars):
                return
            else:  # a {{$x := ...}} lives to the end of the enclosing block: keep it
                return
        elif isinstance(node, Branch):
            mark = len(self.vars)
            try:
                if node.kind == "range":
                    self.walk_range(dot, node)
                else:
                    v = self.pipeline(dot, node.pipe)
                    if is_true(v):
                        self.walk(v if node.kind == "with" else dot, node.body)
                    elif node.else_ is not None:
                        self.walk(dot, node.else_)
            finally:
                del self.vars[mark:]
        elif isinstance(node, TemplateCall):
            self.walk_template(dot, node)
        elif isinstance(node, Break):
            raise _Break
        elif isinstance(node, Continue):
            raise _Continue
        else:
            raise self.error(f"unknown node {type(node).__name__}")

    def walk_range(self, dot: object, node: Branch) -> None:
        v = self.pipeline(dot, node.pipe)
        decl = node.pipe.decl
        items: list[tuple[object, object]]
        if v is None or v is NO_VALUE:
            items = []
        elif isinstance(v, (list, tuple)):
            items = list(enumerate(v))
        elif isinstance(v, dict):
            items = [(k, v[k]) for k in sorted_keys(v)]
        elif isinstance(v, int) and not isinstance(v, bool):
            if len(decl) > 1:
                raise self.error(f"can't use {v} to iterate over more than one variable")
            items = [(i, i) for i in range(v)]
        else:
            self.at = node.pipe
            raise self.error(f"range can't iterate over {sprint_value(v, False)}")
        if not items:
            if node.else_ is not None:
                self.walk(dot, node.else_)
            return
        mark = len(self.vars)
        for key, elem in items:
            if decl:
                if node.pipe.is_assign:
                    if len(decl) > 1:
                        self.set_var(decl[0], key)
                        self.set_var(decl[1], elem)
                    else:
                        self.set_var(decl[0], elem)
                elif len(decl) > 1:
                    self.vars[mark - 2] = (decl[0], key)
                    self.vars[mark - 1] = (decl[1], elem)
                else:
                    self.vars[mark - 1] = (decl[0], elem)
            try:
                self.walk(elem, node.body)
            except _Break:
                break
            except _Continue:
                pass
            finally:
                del self.vars[mark:]

    def walk_template(self, dot: object, node: TemplateCall) -> None:
        body = self.tmpl.defines.get(node.name)
        if body is None:
            self.at = node
            raise self.error(f"template: no template \"{node.name}\" associated with template \"{self.tmpl.name}\"")
        new_dot = self.pipeline(dot, node.pipe) if node.pipe is not None else None
        saved_vars, saved_name = self.vars, self.current
        self.vars, self.current = [("$", new_dot)], node.name
        try:
            self.walk(new_dot, body)
        finally:
            self.vars, self.current = saved_vars, saved_name

    # --- evaluating --------------------------------------------------------------------------------------------

    def pipeline(self, dot: object, pipe: Pipe) -> object:
        v: object = _NO_FINAL
        for cmd in pipe.cmds:
            v = self.command(dot, cmd, v)
        for name in pipe.decl:
            if pipe.is_assign:
                self.set_var(name, v)
            else:
                self.vars.append((name, v))
        return v

    def not_a_function(self, args: tuple[Node, ...], final: object) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {node_text(args[0])}")

    def command(self, dot: object, cmd: Command, final: object) -> object:
        first = cmd.args[0]
        self.at = first
        if isinstance(first, Field):
            return self.field_chain(dot, dot, first, first.idents, cmd.args, final)
        if isinstance(first, Chain):
            receiver = self.arg(dot, first.node)
            self.at = first
            return self.field_chain(dot, receiver, first, first.fields, cmd.args, final)
        if isinstance(first, Identifier):
            return self.function(dot, first, cmd, cmd.args, final)
        if isinstance(first, Pipe):
            self.not_a_function(cmd.args, final)
            return self.pipeline(dot, first)
        if isinstance(first, Variable):
            v = self.lookup(first.idents[0])
            if len(first.idents) == 1:
                self.not_a_function(cmd.args, final)
                return v
            return self.field_chain(dot, v, first, first.idents[1:], cmd.args, final)
        self.not_a_function(cmd.args, final)
        if isinstance(first, Dot):
            return dot
        if isinstance(first, Constant):
            return first.value
        raise self.error(f"can't evaluate command {node_text(first)}")

    def arg(self, dot: object, node: Node) -> object:
        """An argument's value; a missing one is nil, as Go's zero value of interface{}."""
        self.at = node
        v: object
        if isinstance(node, Dot):
            v = dot
        elif isinstance(node, Nil):
            v = None
        elif isinstance(node, Constant):
            v = node.value
        elif isinstance(node, Field):
            v = self.field_chain(dot, dot, node, node.idents, (node,), _NO_FINAL)
        elif isinstance(node, Variable):
            v = self.lookup(node.idents[0])
            if len(node.idents) > 1:
                v = self.field_chain(dot, v, node, node.idents[1:], (node,), _NO_FINAL)
        elif isinstance(node, Pipe):
            v = self.pipeline(dot, node)
        elif isinstance(node, Identifier):
            v = self.function(dot, node, node, (node,), _NO_FINAL)
        elif isinstance(node, Chain):
            if isinstance(node.node, Nil):
                raise self.error(f"indirection through explicit nil in {node_text(node)}")
            v = self.field_chain(dot, self.arg(dot, node.node), node, node.fields, (node,), _NO_FINAL)
        else:
            raise self.error(f"can't handle {node_text(node)} for arg")
        return None if v is NO_VALUE else v

    def field_chain(self, dot: object, receiver: object, node: Node, idents: tuple[str, ...],
                    args: tuple[Node, ...], final: object) -> object:
        for name in idents[:-1]:
            receiver = self.field(dot, name, node, (node,), _NO_FINAL, receiver)
        return self.field(dot, idents[-1], node, args, final, receiver)

    def field(self, dot: object, name: str, node: Node, args: tuple[Node, ...], final: object,
              receiver: object) -> object:
        self.at = node
        if receiver is NO_VALUE:
            if self.tmpl.missingkey == "error":
                raise self.error(f"nil data; no entry for key \"{name}\"")
            return NO_VALUE
        has_args = len(args) > 1 or final is not _NO_FINAL
        if isinstance(receiver, dict):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            omitted = getattr(receiver, "omitted", None)  # a GoObject: typed nils, omitempty fields
            if omitted is not None and (name in receiver or name in omitted):
                return receiver.template_value(name)  # type: ignore[attr-defined]
            if name in receiver:
                return receiver[name]
            if self.tmpl.missingkey == "error":
                raise self.error(f"map has no entry for key \"{name}\"")
            return NO_VALUE
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, (str, int, float, bool, list, tuple)) or not name[:1].isupper():
            raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")
        attr = getattr(receiver, name, _NO_FINAL)
        if attr is _NO_FINAL:
            raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")
        if callable(attr):
            return self.call(dot, attr, name, node, args, final)
        if has_args:
            raise self.error(f"{name} has arguments but cannot be invoked as function")
        return attr

    def function(self, dot: object, ident: Identifier, node: Node, args: tuple[Node, ...], final: object) -> object:
        fn = self.funcs.get(ident.name)
        if fn is None:
            raise self.error(f"\"{ident.name}\" is not a defined function")
        if ident.name in _LAZY:
            operands = list(args[1:])
            if not operands and final is _NO_FINAL:
                raise self.error(f"wrong number of args for {ident.name}: want at least 1 got 0")
            want = ident.name == "or"
            v: object = None
            for i, a in enumerate(operands):
                v = self.arg(dot, a)
                if is_true(v) == want and (i < len(operands) - 1 or final is not _NO_FINAL):
                    return v
            if final is not _NO_FINAL:
                v = final
            return v
        return self.call(dot, fn, ident.name, node, args, final)

    def call(self, dot: object, fn: Callable[..., object], name: str, node: Node, args: tuple[Node, ...],
             final: object) -> object:
        argv = [self.arg(dot, a) for a in args[1:]]
        if final is not _NO_FINAL:
            argv.append(None if final is NO_VALUE else final)
        self.at = node
        shape = _arity(fn)
        if shape is not None:
            n, variadic = shape
            if (variadic and len(argv) < n) or (not variadic and len(argv) != n):
                want = f"at least {n}" if variadic else str(n)
                raise self.error(f"wrong number of args for {name}: want {want} got {len(argv)}")
        try:
            return fn(*argv)
        except TemplateError:
            raise
        except builtins.FuncError as e:
            raise self.error(f"error calling {name}: {e}") from e
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise self.error(f"error calling {name}: {e}") from e
