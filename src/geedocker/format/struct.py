"""Go structs for templates: named fields over a dict, so an unknown field is Go's "can't evaluate field X in
type T" (a plain dict would be a map: "<no value>", or "map has no entry for key")."""

from __future__ import annotations


class Struct:
    def __init__(self, go_type: str, fields: dict[str, object]) -> None:
        self.__dict__["go_type"] = go_type
        self.__dict__["_fields"] = fields

    def __getattr__(self, name: str) -> object:
        fields: dict[str, object] = self.__dict__["_fields"]
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def to_json(self) -> object:
        return {k: v.to_json() if isinstance(v, Struct) else
                [x.to_json() if isinstance(x, Struct) else x for x in v] if isinstance(v, list) else v
                for k, v in self.__dict__["_fields"].items()}

    def go_string(self) -> str:
        from geedocker.format.gofmt import sprint_value

        return "{" + " ".join(sprint_value(v, False) for v in self.__dict__["_fields"].values()) + "}"
