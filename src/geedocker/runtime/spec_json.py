"""Reading ``config.json``'s JSON values with their types checked: ``SpecError`` and the readers the spec's
sections (``runtime.spec``, ``.spec_process``, ``.spec_linux``, ``.spec_resources``) build their values with.

Every reader names the field it reads (``where``) in its error, so a bad config says which field is wrong.
Separate from the sections so that each of them imports only these, not each other.
"""

from __future__ import annotations

from geedocker.errors import ContainerError

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    from typing import Any


class SpecError(ContainerError):
    """config.json is malformed or asks for something this runtime does not honour."""


def fail(where: str, msg: str) -> SpecError:
    return SpecError(f"config.json: {where}: {msg}")


def as_obj(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise fail(where, "expected an object")
    return v


def as_list(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise fail(where, "expected an array")
    return v


def as_str(v: Any, where: str, default: str = "") -> str:
    if v is None:
        return default
    if not isinstance(v, str):
        raise fail(where, "expected a string")
    return v


def as_strs(v: Any, where: str) -> tuple[str, ...]:
    return tuple(as_str(x, f"{where}[{i}]") for i, x in enumerate(as_list(v, where)))


def as_int(v: Any, where: str, default: int | None = None) -> int | None:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int):
        raise fail(where, "expected an integer")
    return v


def req_int(v: Any, where: str) -> int:
    r = as_int(v, where)
    if r is None:
        raise fail(where, "required")
    return r


def as_bool(v: Any, where: str) -> bool:
    if v is None:
        return False
    if not isinstance(v, bool):
        raise fail(where, "expected a boolean")
    return v


def refuse(obj: dict[str, Any], key: str, where: str, what: str) -> None:
    v = obj.get(key)
    if v not in (None, "", [], {}):
        raise fail(f"{where}.{key}", f"{what} is not supported by the geedocker runtime")
