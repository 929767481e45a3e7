"""geedocker.values: the dataclass behaviour the code base relies on, without dataclasses."""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from geedocker.values import Field, FrozenInstanceError, field, replace, value


@value
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    SCALE: ClassVar[int] = 10

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


@value
class Bag:
    name: str
    items: list[int] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict, compare=False)
    secret: str = field(default="", repr=False)


@value(order=True)
class Version:
    major: int
    minor: int = 0
    note: str = field(default="", compare=False)


@value(frozen=False)
class Counter:
    n: int = 0


@value
class Secret:
    user: str
    password: str

    def __repr__(self) -> str:
        return f"Secret(user={self.user!r}, password=***)"


@value
class Derived(Point):
    z: int = 0


@value
class Checked:
    low: int
    high: int
    width: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low > high")
        object.__setattr__(self, "width", self.high - self.low)


# construction


def test_positional_keyword_and_defaults() -> None:
    assert Point(1).y == 0 and Point(1).tags == ()
    p = Point(1, 2, ("a",))
    assert (p.x, p.y, p.tags) == (1, 2, ("a",))
    assert Point(y=2, x=1) == Point(1, 2)
    assert Point.SCALE == 10 and p.norm1() == 3
    assert Point.__match_args__ == ("x", "y", "tags")


def test_class_attribute_holds_default_and_no_attribute_for_required() -> None:
    assert Point.y == 0
    assert "x" not in Point.__dict__
    assert "items" not in Bag.__dict__ and Bag.secret == ""


def test_missing_arguments() -> None:
    with pytest.raises(TypeError, match=r"^Point.__init__\(\) missing 1 required positional argument: 'x'$"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"missing 2 required positional arguments: 'low' and 'high'$"):
        Checked()  # type: ignore[call-arg]


def test_too_many_unexpected_and_duplicate_arguments() -> None:
    @value
    class Empty:
        pass

    with pytest.raises(TypeError, match=r"^Point.__init__\(\) takes from 2 to 4 positional arguments but 5 were given"):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"<locals>.Empty.__init__\(\) takes 1 positional argument but 2 were given$"):
        Empty(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^Checked.__init__\(\) takes 3 positional arguments but 4 were given$"):
        Checked(1, 2, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^Point.__init__\(\) got an unexpected keyword argument 'z'$"):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"^Point.__init__\(\) got multiple values for argument 'x'$"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword argument 'width'"):
        Checked(1, 2, width=3)  # type: ignore[call-arg]


def test_default_factory_is_called_per_instance() -> None:
    a, b = Bag("a"), Bag("b")
    a.items.append(1)
    a.meta["k"] = "v"
    assert b.items == [] and b.meta == {}
    assert a.items is not b.items


def test_mutable_default_is_refused() -> None:
    with pytest.raises(ValueError, match="mutable default <class 'list'> for field xs is not allowed"):

        @value
        class Bad:
            xs: list[int] = []


def test_non_default_after_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @value
        class Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_field_refuses_default_and_factory() -> None:
    with pytest.raises(ValueError, match="both default and default_factory"):
        field(default=1, default_factory=int)  # type: ignore[call-overload]


def test_post_init_runs_and_init_false_field_gets_its_default() -> None:
    c = Checked(2, 5)
    assert c.width == 3
    assert Checked.__match_args__ == ("low", "high")
    with pytest.raises(ValueError, match="low > high"):
        Checked(5, 2)


# equality, hashing, ordering


def test_eq_compares_fields_of_the_same_class_only() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert Point(1, 2) != Derived(1, 2)
    assert Point(1, 2) != (1, 2, ())  # type: ignore[comparison-overlap]
    assert Point.__eq__(Point(1), "x") is NotImplemented


def test_compare_false_fields_are_ignored_by_eq_hash_and_order() -> None:
    assert Bag("a", [1], {"k": "v"}) == Bag("a", [1], {})
    assert Version(1, 2, "x") == Version(1, 2, "y")
    assert hash(Version(1, 2, "x")) == hash(Version(1, 2, "y"))


def test_frozen_values_hash_by_fields() -> None:
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert hash(Point(1, 2)) == hash((1, 2, ()))


def test_order_compares_as_tuples() -> None:
    assert Version(1, 2) < Version(1, 10) <= Version(1, 10) < Version(2)
    assert Version(2) > Version(1, 99) >= Version(1, 99)
    assert sorted([Version(2), Version(1, 5), Version(1)]) == [Version(1), Version(1, 5), Version(2)]
    with pytest.raises(TypeError):
        _ = Version(1) < (1, 0)  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Point(1) < Point(2)  # type: ignore[operator]


def test_order_needs_eq_and_keeps_no_own_comparison() -> None:
    with pytest.raises(ValueError, match="eq must be true if order is true"):
        value(order=True, eq=False)(type("X", (), {}))
    with pytest.raises(TypeError, match="cannot overwrite attribute __lt__"):

        @value(order=True)
        class Bad:
            a: int

            def __lt__(self, other: object) -> bool:  # type: ignore[misc]
                return True


def test_eq_false_keeps_identity() -> None:
    @value(eq=False)
    class Handle:
        fd: int

    h = Handle(3)
    assert h != Handle(3) and h == h
    assert hash(h) == object.__hash__(h)


# repr


def test_repr_like_dataclasses() -> None:
    assert repr(Point(1, 2, ("a",))) == "Point(x=1, y=2, tags=('a',))"
    assert repr(Bag("b", [1])) == "Bag(name='b', items=[1], meta={})"  # secret has repr=False
    assert repr(Derived(1, z=3)) == "Derived(x=1, y=0, tags=(), z=3)"


def test_own_methods_are_kept() -> None:
    assert repr(Secret("u", "p")) == "Secret(user='u', password=***)"
    assert Secret("u", "p") == Secret("u", "p")


# frozen and mutable


def test_frozen_assignment_and_deletion_raise() -> None:
    p = Point(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'other'"):
        p.other = 2  # type: ignore[attr-defined]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'x'"):
        del p.x
    assert isinstance(FrozenInstanceError(), AttributeError)
    assert p.x == 1


def test_mutable_values_assign_and_are_unhashable() -> None:
    c = Counter()
    c.n += 1
    assert c == Counter(1)
    assert Counter.__hash__ is None
    with pytest.raises(TypeError, match="unhashable"):
        hash(c)


def test_frozen_and_mutable_do_not_mix() -> None:
    with pytest.raises(TypeError, match="cannot mix frozen and non-frozen"):

        @value(frozen=False)
        class Bad(Point):  # type: ignore[misc]
            pass


# inheritance


def test_inherited_fields_come_first() -> None:
    d = Derived(1, 2, (), 3)
    assert (d.x, d.y, d.z) == (1, 2, 3)
    assert Derived.__match_args__ == ("x", "y", "tags", "z")
    assert d.norm1() == 3
    assert isinstance(d, Point)
    with pytest.raises(FrozenInstanceError):
        d.z = 4  # type: ignore[misc]


def test_redefined_field_keeps_its_place() -> None:
    @value
    class Moved(Point):
        x: int = 5

    assert Moved.__match_args__ == ("x", "y", "tags")
    assert Moved().x == 5


# replace and the field list


def test_replace_makes_a_checked_copy() -> None:
    p = Point(1, 2, ("a",))
    q = replace(p, y=3)
    assert q == Point(1, 3, ("a",)) and p == Point(1, 2, ("a",))
    assert q.tags is p.tags
    assert replace(Derived(1, z=2), x=7) == Derived(7, z=2)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(p, nope=1)


def test_replace_reruns_post_init_and_refuses_init_false_fields() -> None:
    assert replace(Checked(1, 2), high=10).width == 9
    with pytest.raises(ValueError, match="init=False"):
        replace(Checked(1, 2), width=0)


def test_replace_refuses_other_objects() -> None:
    with pytest.raises(TypeError, match="value instances"):
        replace(object())


def test_field_list() -> None:
    fields: tuple[Field, ...] = Bag.__value_fields__  # type: ignore[attr-defined]
    assert [(f.name, f.compare, f.repr) for f in fields] == [
        ("name", True, True),
        ("items", True, True),
        ("meta", False, True),
        ("secret", True, False),
    ]


def test_values_pickle() -> None:
    assert pickle.loads(pickle.dumps(Derived(1, 2, ("t",), 3))) == Derived(1, 2, ("t",), 3)


def test_pattern_matching() -> None:
    def kind(obj: Any) -> str:
        match obj:
            case Point(0, 0):
                return "origin"
            case Point(x, y=0):
                return f"on x at {x}"
        return "other"

    assert (kind(Point(0)), kind(Point(4)), kind(Point(1, 1))) == ("origin", "on x at 4", "other")


def test_importing_values_loads_neither_dataclasses_nor_inspect() -> None:
    code = "import sys, geedocker.values; print('dataclasses' in sys.modules, 'inspect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_same_results_as_dataclasses() -> None:
    import dataclasses

    def build(deco: Any, fld: Any) -> Any:
        class Rec:
            __annotations__ = {"a": "int", "b": "str", "c": "tuple[int, ...]", "d": "dict[str, int]"}
            b = "x"
            c = ()
            d = fld(default_factory=dict, compare=False)

        return deco(Rec)

    V = build(value(order=True), field)
    D = build(dataclasses.dataclass(frozen=True, order=True), dataclasses.field)
    Calls = list[tuple[tuple[Any, ...], dict[str, Any]]]
    good: Calls = [((1,), {}), ((1, "y", (2,)), {"d": {"k": 1}}), ((), {"a": 0})]
    for args, kwargs in good:
        v, d = V(*args, **kwargs), D(*args, **kwargs)
        assert (repr(v), hash(v)) == (repr(d), hash(d))
    assert (V(1) < V(2), V(1, "b") <= V(1, "a")) == (D(1) < D(2), D(1, "b") <= D(1, "a"))
    bad: Calls = [((), {}), ((1, "b", (), {}, 5), {}), ((1,), {"a": 2}), ((1,), {"e": 2}), ((), {"b": ""})]
    for args, kwargs in bad:
        errors = []
        for cls in (V, D):
            with pytest.raises(TypeError) as e:
                cls(*args, **kwargs)
            errors.append(str(e.value).replace(cls.__init__.__qualname__, "__init__"))
        assert errors[0] == errors[1]


def test_init_false_field_without_default_is_left_unset() -> None:
    @value
    class Lazy:
        a: int
        b: int = field(init=False)

    lazy = Lazy(1)
    assert Lazy.__match_args__ == ("a",) and lazy.a == 1
    with pytest.raises(AttributeError):
        _ = lazy.b
