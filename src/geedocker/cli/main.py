"""``geedocker`` entry point.

Only the module of the command being run is imported (the start path of ``run`` is part of its latency).
Each command module defines ``register(parser)`` to add its arguments and ``run(args) -> int``.
"""

from __future__ import annotations

import importlib
import sys

from geedocker import logger
from geedocker.argparsing import ArgumentParser
from geedocker.entrypoint import collect_cycles

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import argparse  # at run time through geedocker.argparsing, which imports it its way
    from typing import Protocol

# command name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "pull": ("geedocker.cli.pull", "Pull an image from a registry"),
    "images": ("geedocker.cli.images", "List images"),
    "inspect": ("geedocker.cli.inspect", "Show low-level information on images or containers"),
    "tag": ("geedocker.cli.tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": ("geedocker.cli.rmi", "Remove one or more images"),
    "login": ("geedocker.cli.login", "Log in to a registry"),
    "logout": ("geedocker.cli.logout", "Log out from a registry"),
    "import": ("geedocker.cli.import_", "Create an image from a root filesystem tarball"),
    "push": ("geedocker.cli.push", "Push an image to a registry"),
    "save": ("geedocker.cli.save", "Save images to a tar archive (docker format with the OCI layout inside)"),
    "load": ("geedocker.cli.load", "Load images from a docker or OCI tar archive"),
    "unpack": ("geedocker.cli.unpack", "Write an image's flattened root filesystem to a directory"),
    "run": ("geedocker.cli.run", "Create and run a new container from an image"),
    "create": ("geedocker.cli.create", "Create a new container"),
    "start": ("geedocker.cli.start", "Start one or more stopped containers"),
    "ps": ("geedocker.cli.ps", "List containers"),
    "logs": ("geedocker.cli.logs", "Fetch the logs of a container"),
    "stop": ("geedocker.cli.stop", "Stop one or more running containers"),
    "kill": ("geedocker.cli.kill", "Kill one or more running containers"),
    "rm": ("geedocker.cli.rm", "Remove one or more containers"),
    "exec": ("geedocker.cli.exec", "Execute a command in a running container"),
    "wait": ("geedocker.cli.wait", "Block until one or more containers stop, then print their exit codes"),
    "restart": ("geedocker.cli.restart", "Restart one or more containers"),
    "container": ("geedocker.cli.container", "Manage containers (ls, rm, prune, inspect, ...)"),
    "image": ("geedocker.cli.image", "Manage images (ls, rm, tag, inspect, history, prune, pull, push, ...)"),
    "history": ("geedocker.cli.history", "Show the history of an image"),
    "version": ("geedocker.cli.version", "Show the geedocker version information"),
    "info": ("geedocker.cli.info", "Display system-wide information"),
    "search": ("geedocker.cli.search", "Search a registry for images (refused: registries have no search API)"),
    "build": ("geedocker.cli.build", "Build an image from a Dockerfile"),
    "builder": ("geedocker.cli.builder", "Manage builds (prune)"),
    "commit": ("geedocker.cli.commit", "Create a new image from a container's changes"),
    "diff": ("geedocker.cli.diff", "Inspect changes to files or directories on a container's filesystem"),
    "export": ("geedocker.cli.export", "Export a container's filesystem as a tar archive"),
    "network": ("geedocker.cli.network", "Manage networks (create, ls, inspect, rm, connect, disconnect)"),
    "pause": ("geedocker.cli.pause", "Pause all processes within one or more containers"),
    "unpause": ("geedocker.cli.unpause", "Unpause all processes within one or more containers"),
    "attach": ("geedocker.cli.attach", "Attach local standard output and error streams to a running container"),
    "events": ("geedocker.cli.events", "Get real time events from the server"),
    "stats": ("geedocker.cli.stats", "Display a live stream of container(s) resource usage statistics"),
    "top": ("geedocker.cli.top", "Display the running processes of a container"),
    "port": ("geedocker.cli.port", "List port mappings or a specific mapping for the container"),
    "rename": ("geedocker.cli.rename", "Rename a container"),
    "update": ("geedocker.cli.update", "Update configuration of one or more containers"),
    "cp": ("geedocker.cli.cp", "Copy files/folders between a container and the local filesystem"),
    "volume": ("geedocker.cli.volume", "Manage volumes (create, ls, inspect, rm, prune)"),
    "system": ("geedocker.cli.system", "Manage geedocker (service: serve the Docker Engine API)"),
}

GLOBAL_FLAGS_WITH_VALUE = {"--root", "--run-root", "--log-level"}

# The container commands, quick and on a container's start path, keep the cyclic garbage collector off (the
# launcher turns it off, see geedocker.entrypoint; a supervisor that stays up with its container turns it
# on). The others, pushes with their HTTP clients among them, turn it back on; a pull does when it downloads.
NO_CYCLE_COLLECTION = {"pull", "run", "create", "start", "exec", "ps", "stop", "kill", "rm", "wait", "restart",
                       "container"}


if TYPE_CHECKING:  # a Protocol only annotations use: no typing import at run time
    class CommandModule(Protocol):
        def register(self, parser: argparse.ArgumentParser) -> None: ...

        def run(self, args: argparse.Namespace) -> int: ...


def _global_parser() -> argparse.ArgumentParser:
    p = _CommandParser(prog="geedocker", description="A daemonless, Docker-compatible container engine")
    p.add_argument("--root", help="store directory (default /var/lib/geedocker, or $GEEDOCKER_ROOT)")
    p.add_argument("--run-root", help="runtime state directory (default /run/geedocker, or $GEEDOCKER_RUN)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.add_argument("-D", "--debug", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version="geedocker version 0.1.0, build geedocker-0.1.0")
    return p


def _find_command(argv: list[str]) -> int | None:
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in GLOBAL_FLAGS_WITH_VALUE:
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        return i
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    idx = _find_command(argv)
    parser = _global_parser()
    if idx is None or argv[idx] not in COMMANDS:
        sub = parser.add_subparsers(dest="command", metavar="COMMAND")
        for name, (_, help_) in COMMANDS.items():
            sub.add_parser(name, help=help_)
        if idx is None:
            parser.parse_args(argv)  # handles --help / --version
            parser.print_help(sys.stderr)
            return 125
        print(f"geedocker: unknown command {argv[idx]!r}; see 'geedocker --help'", file=sys.stderr)
        return 125
    name = argv[idx]
    module_name, help_ = COMMANDS[name]
    gargs = parser.parse_args(argv[:idx])
    logger.configure(logger.DEBUG if gargs.debug else logger.LEVELS[gargs.log_level])
    if name not in NO_CYCLE_COLLECTION:
        collect_cycles()
    module: CommandModule = importlib.import_module(module_name)
    cparser = _CommandParser(prog=f"geedocker {name}", description=help_)
    module.register(cparser)
    code = _management_command(cparser, name, argv[idx + 1 :])
    if code is not None:
        return code
    args = cparser.parse_args(argv[idx + 1 :])
    args.root = gargs.root
    args.run_root = gargs.run_root
    return _run_command(module, args, gargs.debug)


def _management_command(parser: argparse.ArgumentParser, name: str, rest: list[str]) -> int | None:
    """A management command (``container``, ``image``, ``system``...) as docker's: alone, its help on standard
    output and status 0; with an unknown subcommand, docker's "unknown command" and status 1. None otherwise."""
    import argparse  # loaded already, by geedocker.argparsing

    choices: dict[str, object] | None = None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices = action.choices
    if choices is None:
        return None
    if not rest:
        parser.print_help(sys.stdout)
        return 0
    if not rest[0].startswith("-") and rest[0] not in choices:
        print(f"geedocker: unknown command: geedocker {name} {rest[0]}\n\nUsage:  geedocker {name} COMMAND\n\n"
              f"Run 'geedocker {name} --help' for more information", file=sys.stderr)  # fmt: skip
        return 1
    return None


def _run_command(module: CommandModule, args: argparse.Namespace, debug: bool) -> int:
    """Run the command: an error becomes one line on stderr and docker's exit code, never a traceback."""
    from geedocker.errors import GeeDockerError, describe

    try:
        code = module.run(args)
        sys.stdout.flush()  # here, so that a full device or a closed pipe gets its error or its quiet end
        return code
    except GeeDockerError as e:
        prefix = getattr(e, "prefix", "Error: ")  # template errors go without it, as docker's
        print(f"{prefix}{describe(e, debug)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        if _stdout_gone():
            return _end_quietly()
        if e.filename is None and e.errno in _WRITE_ERRNOS:
            # A write without a file name: the standard output (a full device, say); files that the engine writes
            # name themselves in their errors. docker: "write /dev/stdout: no space left on device", status 1.
            _report(f"Error: write: {_strerror(e)}", e, debug)
            return 1
        _report(f"Error: {_strerror(e)}" + (f": {e.filename}" if e.filename else ""), e, debug)
        return 125
    except Exception as e:  # a safety net: every cause found is fixed where it arises
        _report(f"Error: unexpected {type(e).__name__}: {e}", e, debug)
        return 125


# errno values of a failed write: ENOSPC, EDQUOT, EFBIG, EIO
_WRITE_ERRNOS = {28, 122, 27, 5}


def _strerror(e: OSError) -> str:
    return e.strerror.lower() if e.strerror else str(e)


def _report(line: str, e: BaseException, debug: bool) -> None:
    """One line; with -D, the chain of causes that led to it too."""
    if debug:
        import traceback  # only when debugging: it imports linecache and tokenize

        traceback.print_exception(e, file=sys.stderr)
    print(line, file=sys.stderr)


def _stdout_gone() -> bool:
    """Whether the reader of our standard output went away (``geedocker save | head``): its pipe reports an
    error to poll."""
    import select

    try:
        p = select.poll()
        p.register(1, select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in p.poll(0))
    except (OSError, ValueError):
        return False


def _end_quietly() -> int:
    """End as docker does when its reader goes: quietly, with the status of SIGPIPE (128+13). Whatever is left
    in the buffer goes to /dev/null, so the final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    return 141


class _CommandParser(ArgumentParser):
    """A bad or unknown flag exits 125 as docker's does (argparse's default is 2)."""

    usage_exit_code = 125
