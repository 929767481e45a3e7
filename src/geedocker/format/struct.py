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


class GoTime(str):
    """A Go ``time.Time`` field (image ``Metadata.LastTagTime``, network ``Created``): its JSON is the RFC 3339
    text it holds, but a template prints it as Go's ``Time.String()`` does (``2026-12-06 01:52:57.990097759
    +0000 UTC``); an empty text is Go's zero time."""

    def go_string(self) -> str:
        import re

        m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", str(self) or _ZERO)
        if m is None:
            return str(self)
        day, clock, fraction, zone = m.groups()
        fraction = (fraction or "").rstrip("0")
        offset = "+0000 UTC" if zone == "Z" else f"{zone.replace(':', '')} {zone.replace(':', '')}"
        return f"{day} {clock}{'.' + fraction if fraction else ''} {offset}"


_ZERO = "0001-01-01T00:00:00Z"


class NilSlice(list):  # type: ignore[type-arg]
    """A Go nil slice: empty, false, printed ``[]``, marshalled ``null``."""

    def to_json(self) -> None:
        return None


class NilMap(dict):  # type: ignore[type-arg]
    """A Go nil map: empty, false, printed ``map[]``, marshalled ``null``."""

    def to_json(self) -> None:
        return None


class NilPointer:
    """A Go nil pointer: false, printed ``<nil>``, marshalled ``null``."""

    is_nil = True

    def __init__(self, go_type: str = "*struct {}") -> None:
        self.go_type = go_type

    def go_string(self) -> str:
        return "<nil>"

    def to_json(self) -> None:
        return None


def typed_nil(kind: str) -> object:
    """The typed nil for a field of this kind: "slice", "map" or "ptr"."""
    return NilSlice() if kind == "slice" else NilMap() if kind == "map" else NilPointer()


class GoObject(dict):  # type: ignore[type-arg]
    """A JSON object made from a Go struct (``docker inspect``'s), for templates to see as docker's typed struct:

    - its ``omitempty`` fields are left out of the JSON when empty, but a template still finds them, with their
      zero values (``{{json .Config.ExposedPorts}}`` is ``null``, not "map has no entry for key");
    - a field that is null in the JSON is, for a template, the nil of its Go type (``nils``: field -> "slice",
      "map" or "ptr"): ``{{.HostConfig.Binds}}`` prints ``[]`` as docker's, not ``<no value>``."""

    def __init__(self, fields: dict[str, object], omitted: dict[str, object],
                 nils: dict[str, str] | None = None) -> None:
        super().__init__(fields)
        self.omitted = {k: v for k, v in omitted.items() if k not in fields}
        self.nils = nils or {}

    def template_value(self, name: str) -> object:
        """The field as a template sees it (the caller checked it is there or omitted)."""
        v = self[name] if name in self else self.omitted[name]
        return typed_nil(self.nils[name]) if v is None and name in self.nils else v
