"""``geedocker build [OPTIONS] PATH | URL-less - | TARFILE``: build an image from a Dockerfile.

The context: a directory; ``-`` (stdin holds a Dockerfile, or a tar context: sniffed from its bytes); a
local tar file (plain or compressed), unpacked into a temp dir through the safe unpacker.
"""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import ExitStack
    from pathlib import Path

    from geedocker.build.progress import Display
    from geedocker.store.images import ImageRecord
    from geedocker.store.layout import Layout


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS] PATH | URL | -"  # docker's usage line
    p.add_argument("context", metavar="PATH | -", help="the build context: a directory, a tar file, or -")
    p.add_argument("-f", "--file", help="name of the Dockerfile (default: PATH/Dockerfile; - for stdin)")
    p.add_argument("-t", "--tag", action="append", default=[], help="name and optionally a tag (name:tag)")
    p.add_argument("--build-arg", action="append", default=[], help="set build-time variables (NAME[=VALUE])")
    p.add_argument("--target", default="", help="set the target build stage to build")
    p.add_argument("--label", action="append", default=[], help="set metadata for an image")
    p.add_argument("--no-cache", action="store_true", help="do not use cache when building the image")
    p.add_argument("--pull", action="store_true", help="always attempt to pull a newer version of the image")
    p.add_argument("--network", default="default", help="networking mode for the RUN instructions")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress the build output and print image ID")
    p.add_argument("--iidfile", help="write the image ID to the file")
    p.add_argument("--platform", default="", help="set platform (the host's only: no emulation)")
    p.add_argument("--add-host", action="append", default=[], help="add a custom host-to-IP mapping (host:ip)")
    p.add_argument("--shm-size", help="size of /dev/shm")
    p.add_argument("--ulimit", action="append", default=[], help="ulimit options")
    p.add_argument("--progress", default="auto", choices=["auto", "plain", "tty", "quiet", "rawjson"],
                   help="type of progress output: auto (tty on a terminal, else plain), plain, tty, quiet, "
                        "rawjson (BuildKit's status objects, one JSON line each)")
    p.add_argument("--secret", action="append", default=[], help="secret to expose: id=mysecret,src=/local/secret")
    p.add_argument("-o", "--output", action="append", default=[], help="output: type=tar|docker,dest=FILE")
    p.add_argument("--rm", nargs="?", const="true", default="true", help="accepted (containers are always removed)")
    p.add_argument("--force-rm", action="store_true", help="accepted (containers are always removed)")


def _kv(text: str, flag: str) -> dict[str, str]:
    from geedocker.errors import UsageError

    out = {}
    for part in text.split(","):
        k, eq, v = part.partition("=")
        if not eq:
            raise UsageError(f"{flag} {text!r}: expected key=value pairs")
        out[k.strip()] = v.strip()
    return out


def run(args: argparse.Namespace) -> int:
    import contextlib
    import tempfile
    from pathlib import Path

    from geedocker.build.builder import build
    from geedocker.build.options import BuildOptions
    from geedocker.cli.common import layout_of
    from geedocker.containers.flags import parse_bytes, parse_ulimit
    from geedocker.errors import UsageError
    from geedocker.network.options import parse_add_host

    layout = layout_of(args)
    build_args = []
    for a in args.build_arg:
        k, eq, v = a.partition("=")
        if eq:
            build_args.append((k, v))
        elif k in os.environ:
            build_args.append((k, os.environ[k]))
    secrets = []
    for s in args.secret:
        kv = _kv(s, "--secret")
        sid = kv.get("id", "")
        src = kv.get("src") or kv.get("source") or ""
        if not sid:
            raise UsageError(f"--secret {s!r}: id= is required")
        if kv.get("env") and not src:
            tmp_env = tempfile.NamedTemporaryFile(prefix="geedocker-secret-", delete=False)
            tmp_env.write(os.environ.get(kv["env"], "").encode())
            tmp_env.close()
            src = tmp_env.name
        if not src or not os.path.isfile(src):
            raise UsageError(f"--secret {s!r}: source file {src!r} not found")
        secrets.append((sid, os.path.abspath(src)))
    outputs = [_kv(o, "--output") for o in args.output]
    for o in outputs:
        if o.get("type") not in ("tar", "docker") or not o.get("dest"):
            raise UsageError("--output: supported are type=tar,dest=FILE and type=docker,dest=FILE")
    with contextlib.ExitStack() as stack:
        context, dockerfile, df_path = _context(args, stack)
        labels = [(x.partition("=")[0], x.partition("=")[2]) for x in args.label]
        opts = BuildOptions(
            dockerfile=dockerfile, context=context, dockerfile_path=df_path, tags=tuple(args.tag),
            build_args=tuple(build_args), target=args.target, labels=tuple(labels),
            no_cache=args.no_cache, pull=args.pull, network=args.network,
            quiet=args.quiet or args.progress == "quiet", platform=args.platform,
            add_hosts=tuple(parse_add_host(h) for h in args.add_host),
            shm_size=parse_bytes(args.shm_size, "--shm-size") if args.shm_size else None,
            ulimits=tuple(parse_ulimit(u) for u in args.ulimit), secrets=tuple(secrets),
        )
        rec = build(layout, opts, display=_display(args.progress, opts.quiet))
    for o in outputs:
        _write_output(layout, rec, o)
    if args.iidfile:
        Path(args.iidfile).write_text(str(rec.id))
    if opts.quiet:
        print(str(rec.id))
    return 0


def _display(progress: str, quiet: bool) -> Display:
    """BuildKit's choice: the progress goes to stderr; ``auto`` draws in place when stderr is a terminal."""
    from geedocker.build.progress import Display, Plain, RawJSON, Tty

    if quiet:
        return Display()
    if progress == "rawjson":
        return RawJSON(sys.stderr)
    if progress == "tty" or (progress == "auto" and sys.stderr.isatty()):
        return Tty(sys.stderr)
    return Plain(sys.stderr)


def _context(args: argparse.Namespace, stack: ExitStack) -> tuple[Path | None, str, Path | None]:
    """(context dir or None, the Dockerfile's text, the Dockerfile's path or None)."""
    from pathlib import Path

    from geedocker.errors import UsageError

    context: Path
    if args.context == "-":
        data = sys.stdin.buffer.read()
        if _is_tar(data):
            context = _unpack(stack, data)
        else:
            if args.file and args.file != "-":
                raise UsageError("a Dockerfile on stdin has no context: -f cannot name another file")
            return None, data.decode("utf-8", "surrogateescape"), None
    elif os.path.isdir(args.context):
        context = Path(args.context).resolve()
    elif os.path.isfile(args.context):
        context = _unpack(stack, Path(args.context).read_bytes())
    else:
        raise UsageError(f'unable to prepare context: path "{args.context}" not found')
    if args.file == "-":
        return context, sys.stdin.read(), None
    df_path = Path(args.file) if args.file else context / "Dockerfile"
    if args.file and not df_path.is_absolute() and not df_path.exists():
        df_path = context / args.file
    try:
        text = df_path.read_text(errors="surrogateescape")
    except FileNotFoundError as e:
        raise UsageError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                         f"lstat {df_path}: no such file or directory") from e
    except OSError as e:
        raise UsageError(f"reading {df_path}: {e.strerror}") from e
    return context, text, df_path


def _is_tar(data: bytes) -> bool:
    import io

    from geedocker.archive.compression import open_decompressed

    try:
        _, plain = open_decompressed(io.BytesIO(data[:1 << 16]))
        head = plain.read(512)
    except Exception:  # noqa: BLE001 - a decoder's error on a truncated sample: look at the raw bytes
        head = data[:512]
    return len(head) == 512 and head[257:262] == b"ustar"


def _unpack(stack: ExitStack, data: bytes) -> Path:
    import io
    import tempfile
    from pathlib import Path

    from geedocker.archive.apply import apply_layer
    from geedocker.archive.options import WhiteoutPolicy

    d = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="geedocker-context-")))
    apply_layer(io.BytesIO(data), d, WhiteoutPolicy.APPLY)
    return d


def _write_output(layout: Layout, rec: ImageRecord, o: dict[str, str]) -> None:
    from geedocker.images.union import write_tree

    dest = o["dest"]
    tmp = f"{dest}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            if o["type"] == "tar":
                from geedocker.archive.writer import tar_stream

                with tar_stream(f) as tw:
                    write_tree(tw, [layout.layer_diff(c) for c in reversed(rec.chain_ids)])
            else:
                from geedocker.images.tarball import save

                save(layout, [rec.tags[0] if rec.tags else str(rec.id)], f)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
