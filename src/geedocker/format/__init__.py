"""Go's text/template, as docker's ``--format`` uses it, in Python.

Written here rather than taken from PyPI: the one pure-Python implementation found (gotpl 0.1.0, a single
release marked "Development Status :: 1 - Planning") is 27,000 lines with four dependencies and takes ~67 ms to
import, more than a whole ``geedocker ps``; the others wrap a Go shared library (go-template 0.0.3 of 2019,
cognihub-pygotemplate, py-go-template) and ship a binary per platform. What docker needs is small: a lexer
(``lex``), a parser (``parse``) to a tree of ``nodes``, an executor with Go's semantics (``execute``), Go's
value printing and ``printf`` (``gofmt``), the builtin functions (``builtins``) and docker's functions, ``table`` and
tabwriter (``docker``, ``tabwriter``).

Data: dicts are Go maps (sorted when ranged or printed), lists and tuples are slices, ``None`` is nil, other
objects are structs whose exported (capitalised) attributes are fields and whose callable attributes are
methods (``.Label "key"``).
"""
