"""Value classes: the part of ``dataclasses`` this code base uses, at a fraction of the start-up cost.

``dataclasses`` writes each class's ``__init__``/``__repr__``/``__eq__``/``__hash__``/``__setattr__`` as
source text and ``exec``s it: about a millisecond a class, and importing it pulls in ``inspect`` and
``ast``. Every ``geedocker run`` pays that before the container starts. Here the methods are generic
closures over the class's field list, so decorating a class costs microseconds.

    @value                                  # frozen, eq, hash, repr, __match_args__
    class Platform:
        os: str
        arch: str = "amd64"
        tags: tuple[str, ...] = ()
        extra: dict[str, str] = field(default_factory=dict, compare=False)

    @value(order=True)                      # also < <= > >= (as tuples of the compared fields)
    @value(frozen=False)                    # assignable, and unhashable like a mutable dataclass

Fields are the class's own annotations in order (``ClassVar[...]`` skipped), after those of value-class
bases. A method the class body defines itself (``__repr__`` hiding a password) is kept. ``__post_init__``
runs after ``__init__`` when defined. ``replace(obj, **changes)`` is ``dataclasses.replace``.
``dataclass_transform`` tells mypy to check all of this as it checks dataclasses.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from operator import attrgetter

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform, overload

    _T = TypeVar("_T")
else:  # what the type checker needs of these is the annotations; at run time they only have to exist
    def overload(f: object) -> object:
        return f

    def dataclass_transform(**_: object) -> Callable[[object], object]:
        return lambda f: f

__all__ = ["FrozenInstanceError", "Field", "field", "value", "replace"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen value."""


class Field:
    """One field, as ``field(...)`` declares it; a class's fields are in ``__value_fields__``."""

    __slots__ = ("name", "default", "default_factory", "init", "repr", "compare")

    def __init__(
        self, default: Any, default_factory: Callable[[], Any] | None, init: bool, repr: bool, compare: bool
    ) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return (
            f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r}, "
            f"init={self.init}, repr={self.repr}, compare={self.compare})"
        )


@overload
def field(*, default: _T, init: bool = True, repr: bool = True, compare: bool = True) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], init: bool = True, repr: bool = True, compare: bool = True) -> _T: ...
@overload
def field(*, init: bool = True, repr: bool = True, compare: bool = True) -> Any: ...
def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """A field with options; ``default_factory`` is called for each new instance."""
    if default is not MISSING and default_factory is not None:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, compare)


@overload
def value(cls: type[_T], /) -> type[_T]: ...
@overload
def value(*, frozen: bool = True, eq: bool = True, order: bool = False) -> Callable[[type[_T]], type[_T]]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def value(
    cls: type[_T] | None = None, /, *, frozen: bool = True, eq: bool = True, order: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """Make ``cls`` a value class (see the module docstring); ``@value`` or ``@value(...)``."""

    def wrap(c: type[_T]) -> type[_T]:
        return _build(c, frozen, eq, order)

    return wrap if cls is None else wrap(cls)


def replace(obj: _T, /, **changes: object) -> _T:
    """A copy of the value ``obj`` with ``changes`` applied, built (and checked) by its ``__init__``."""
    fields: tuple[Field, ...] | None = getattr(type(obj), "__value_fields__", None)
    if fields is None:
        raise TypeError("replace() should be called on value instances")
    for f in fields:
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect_fields(cls: type, frozen: bool) -> tuple[Field, ...]:
    by_name: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        base_fields: tuple[Field, ...] | None = base.__dict__.get("__value_fields__")
        if base_fields is not None:
            if base.__dict__["__value_frozen__"] != frozen:
                raise TypeError(f"{cls.__qualname__}: cannot mix frozen and non-frozen value classes")
            by_name.update((f.name, f) for f in base_fields)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        attr = cls.__dict__.get(name, MISSING)
        f = attr if isinstance(attr, Field) else Field(attr, None, True, True, True)
        f.name = name
        if f.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # a field(...) without a default leaves no class attribute
        else:
            if type(f.default).__hash__ is None:
                raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                                 "use default_factory")
            type.__setattr__(cls, name, f.default)
        by_name[name] = f  # a field redefined in a subclass keeps its base's place, as in dataclasses
    fields = tuple(by_name.values())
    seen_default = False
    for f in fields:
        if f.init:
            has_default = f.default is not MISSING or f.default_factory is not None
            if seen_default and not has_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            seen_default = seen_default or has_default
    return fields


def _tuple_getter(names: list[str]) -> Callable[[object], tuple[Any, ...]]:
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    if not names:
        return lambda obj: ()
    many: Callable[[object], tuple[Any, ...]] = attrgetter(*names)
    return many


def _plural(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _make_init(cls: type, fields: tuple[Field, ...]) -> Callable[..., None]:
    init_names = [f.name for f in fields if f.init]
    accepted = frozenset(init_names)
    required = frozenset(f.name for f in fields if f.init and f.default is MISSING and f.default_factory is None)
    with_default = [f for f in fields if f.default_factory is not None or f.default is not MISSING]
    defaulted = [(f.name, f.default_factory, f.default) for f in with_default]
    where = f"{cls.__qualname__}.__init__()"
    post_init = hasattr(cls, "__post_init__")

    def bad_arguments(args: tuple[Any, ...], kwargs: dict[str, Any], positional: dict[str, Any]) -> TypeError:
        if len(args) > len(init_names):  # counted with self, as in Python's own message
            most, least = len(init_names) + 1, len(required) + 1
            if least < most:
                takes = f"from {least} to {most} positional arguments"
            else:
                takes = f"{most} positional argument" + ("s" if most > 1 else "")
            return TypeError(f"{where} takes {takes} but {len(args) + 1} were given")
        unexpected = [name for name in kwargs if name not in accepted]
        if unexpected:
            return TypeError(f"{where} got an unexpected keyword argument {unexpected[0]!r}")
        twice = [name for name in kwargs if name in positional]
        return TypeError(f"{where} got multiple values for argument {twice[0]!r}")

    def missing_arguments(given: dict[str, Any]) -> TypeError:
        missing = [name for name in init_names if name in required and name not in given]
        s = "s" if len(missing) > 1 else ""
        return TypeError(f"{where} missing {len(missing)} required positional argument{s}: {_plural(missing)}")

    def __init__(self: Any, /, *args: Any, **kwargs: Any) -> None:
        given = dict(zip(init_names, args, strict=False))  # the first len(args) names
        if len(args) > len(init_names) or (kwargs and (not accepted.issuperset(kwargs) or given.keys() & kwargs)):
            raise bad_arguments(args, kwargs, given)
        given.update(kwargs)
        if not required <= given.keys():
            raise missing_arguments(given)
        attrs = self.__dict__
        attrs.update(given)
        if len(given) < len(fields):
            for name, factory, default in defaulted:
                if name not in given:
                    attrs[name] = factory() if factory is not None else default
        if post_init:
            self.__post_init__()

    return __init__


def _make_repr(fields: tuple[Field, ...]) -> Callable[[object], str]:
    names = [f.name for f in fields if f.repr]
    values = _tuple_getter(names)

    def __repr__(self: object) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(names, values(self), strict=True))
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _make_compare(key: Callable[[object], tuple[Any, ...]], op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def compare(self: object, other: object) -> Any:
        if other.__class__ is self.__class__:
            return op(key(self), key(other))
        return NotImplemented

    return compare


def _make_frozen(cls: type, fields: tuple[Field, ...]) -> tuple[Callable[..., None], Callable[..., None]]:
    names = frozenset(f.name for f in fields)

    def __setattr__(self: object, name: str, v: object) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, v)

    def __delattr__(self: object, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __setattr__, __delattr__


_ORDER: dict[str, Callable[[Any, Any], Any]] = {
    "__lt__": operator.lt,
    "__le__": operator.le,
    "__gt__": operator.gt,
    "__ge__": operator.ge,
}


def _build(cls: type[_T], frozen: bool, eq: bool, order: bool) -> type[_T]:
    if order and not eq:
        raise ValueError("eq must be true if order is true")
    fields = _collect_fields(cls, frozen)
    own = cls.__dict__
    methods: dict[str, Callable[..., Any]] = {"__init__": _make_init(cls, fields), "__repr__": _make_repr(fields)}
    key = _tuple_getter([f.name for f in fields if f.compare])
    if eq:
        methods["__eq__"] = _make_compare(key, operator.eq)
        # Like dataclasses: a frozen value hashes its compared fields; a mutable one is unhashable,
        # unless the class body defines __hash__ itself.
        explicit_hash = own.get("__hash__") is not None or ("__hash__" in own and "__eq__" not in own)
        if not explicit_hash:
            type.__setattr__(cls, "__hash__", (lambda self: hash(key(self))) if frozen else None)
    if order:
        for name, op in _ORDER.items():
            if name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}; consider order=False")
            methods[name] = _make_compare(key, op)
    if frozen:
        methods["__setattr__"], methods["__delattr__"] = _make_frozen(cls, fields)
    for name, method in methods.items():
        if name not in own:
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            type.__setattr__(cls, name, method)
    if "__match_args__" not in own:
        type.__setattr__(cls, "__match_args__", tuple(f.name for f in fields if f.init))
    type.__setattr__(cls, "__value_fields__", fields)
    type.__setattr__(cls, "__value_frozen__", frozen)
    return cls
