"""Go structs for templates: named fields over a dict, so an unknown field is Go's "can't evaluate field X in
type T" (a plain dict would be a map: "<no value>", or "map has no entry for key"); and ``GoObject``, the JSON of
a Go struct whose ``omitempty`` fields still evaluate in templates."""

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


class GoObject(dict):  # type: ignore[type-arg]
    """A JSON object made from a Go struct (``docker inspect``'s): its ``omitempty`` fields are left out of the
    JSON when empty, but a template still finds them, with their zero values, as docker's typed struct has them
    (``{{json .Config.ExposedPorts}}`` is ``null``, not "map has no entry for key")."""

    def __init__(self, fields: dict[str, object], omitted: dict[str, object]) -> None:
        super().__init__(fields)
        self.omitted = {k: v for k, v in omitted.items() if k not in fields}
