"""Helpers shared by the command modules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from geedocker.store.layout import Layout


def layout_of(args: argparse.Namespace) -> Layout:
    layout = Layout.from_env(getattr(args, "root", None), getattr(args, "run_root", None))
    for flag, path in (("--root", layout.root), ("--run-root", layout.run)):
        if not path.is_dir() and path.exists():  # one stat when all is well
            from geedocker.errors import UsageError

            raise UsageError(f"{flag} {path}: not a directory")
    return layout


def each_container(refs: list[str], act: Callable[[str], str], missing_ok: bool = False) -> int:
    """``act`` on each container in turn, printing the line it returns, or the error of one that fails (the
    others still go ahead, as with docker). 0, or the exit status of the last failure; with missing_ok
    (``rm -f``) a missing container is reported but is no failure, as docker's."""
    from geedocker.errors import ContainerNotFound, GeeDockerError

    code = 0
    for ref in refs:
        try:
            print(act(ref), flush=True)
        except GeeDockerError as e:
            print(f"{getattr(e, 'prefix', 'Error: ')}{e}", file=sys.stderr)
            if not (missing_ok and isinstance(e, ContainerNotFound)):
                code = e.exit_code or 1
    return code


def detach_keys_of(args: argparse.Namespace) -> bytes:
    """The detach sequence: ``--detach-keys``, else ``detachKeys`` in docker's config.json (read only for a
    terminal, where the keys apply), else ctrl-p,ctrl-q. A bad one raises (exit 1, as docker's)."""
    from geedocker.containers.attachment import DEFAULT_DETACH_KEYS, parse_detach_keys

    spec = args.detach_keys
    if not spec and getattr(args, "tty", True):
        import json
        import os
        from pathlib import Path

        d = os.environ.get("DOCKER_CONFIG")
        try:
            conf = json.loads((Path(d) if d else Path.home() / ".docker").joinpath("config.json").read_text())
            spec = str(conf.get("detachKeys") or "") if isinstance(conf, dict) else ""
        except (OSError, ValueError):
            spec = ""
    return parse_detach_keys(spec or DEFAULT_DETACH_KEYS)


def before_start(e: BaseException) -> None:
    """run and create: docker exits 125 for what fails before the container starts, a missing image or
    container among them (elsewhere the daemon's errors exit 1)."""
    from geedocker.errors import GeeDockerError

    if isinstance(e, GeeDockerError) and e.exit_code == 1:
        e.exit_code = 125


def parse_time(text: str) -> float | None:
    """An RFC 3339 timestamp (as in image configs) -> epoch seconds, or None."""
    from geedocker.timefmt import rfc3339_epoch

    return rfc3339_epoch(text)


def ago(epoch: float | None) -> str:
    import time

    from geedocker.timefmt import human_duration

    if epoch is None:
        return "N/A"
    return human_duration(time.time() - epoch) + " ago"


def human_size(n: float, precision: int = 3) -> str:
    """docker's units.HumanSizeWithPrecision: decimal units, ``precision`` significant digits (docker's tables
    use 3, its "Total reclaimed space" 4)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.{precision}g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}B"


def table(rows: list[list[str]]) -> str:
    """Columns laid out as docker's tabwriter does (minwidth 10, padding 3; the last column unpadded)."""
    from geedocker.format.tabwriter import align

    return align("\n".join("\t".join(r) for r in rows)) if rows else ""


def run_inspect(refs: list[str], get: Callable[[str], object], fmt: str = "") -> int:
    """``inspect`` as docker's CLI: each object found goes into a JSON array indented by 4 (Go's escaping of <, >
    and &), or with -f/--format through the template, one line each (a missing key is an error, as docker's raw
    fallback). What is missing or fails is reported after the output; then the exit status is 1. A template
    that does not parse exits 64 before anything is looked up (docker's StatusError)."""
    from geedocker.errors import GeeDockerError

    tmpl = None
    if fmt and fmt != "json":
        from geedocker.format import docker

        tmpl = docker.parse(docker.template_text(fmt), missingkey="error")
    found: list[object] = []
    texts: list[str] = []
    errors: list[str] = []
    for ref in refs:
        try:
            obj = get(ref)
            if tmpl is not None:
                texts.append(docker.execute(tmpl, obj) + "\n")
            found.append(obj)
        except GeeDockerError as e:
            errors.append(f"{getattr(e, 'prefix', '')}{e}")
    if tmpl is not None:
        sys.stdout.write("".join(texts) or "\n")
    else:
        import json

        text = json.dumps(found, indent=4, ensure_ascii=False)
        sys.stdout.write(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n")
    sys.stdout.flush()
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    return 0


def register_group(p: argparse.ArgumentParser,
                   subcommands: dict[str, str]) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A management command (``container``, ``image``): each subcommand takes the arguments of the top-level
    command module it names. The subparsers, for the group's own subcommands."""
    import importlib

    from geedocker.cli.main import COMMANDS

    described = {module: help_ for module, help_ in COMMANDS.values()}
    canonical: dict[str, str] = {}  # module -> its first name: docker names an alias (container ps) by it
    sub = p.add_subparsers(dest="action", metavar="COMMAND", required=True)
    for name, module in subcommands.items():
        prog = f"{p.prog} {canonical.setdefault(module, name)}"
        sp = sub.add_parser(name, help=f"see 'geedocker {module.rsplit('.', 1)[1].rstrip('_')} --help'", prog=prog,
                            description=described.get(module))  # fmt: skip
        importlib.import_module(module).register(sp)
    return sub


def run_group(args: argparse.Namespace, subcommands: dict[str, str]) -> int | None:
    """The subcommand's exit status when it is a top-level command's module, else None."""
    if args.action not in subcommands:
        return None
    import importlib

    code: int = importlib.import_module(subcommands[args.action]).run(args)
    return code
