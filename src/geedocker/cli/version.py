"""``geedocker version [--format F]``: versions as docker prints them (geedocker is both client and server)."""

from __future__ import annotations

import argparse
import sys

API_VERSION = "1.41"  # the Engine API that geedocker's service speaks (docker 20.10's)


def register(p: argparse.ArgumentParser) -> None:
    p.usage = "%(prog)s [OPTIONS]"  # docker's usage line
    p.add_argument("-f", "--format", default="", help='a Go template, or "json"')


def _arch() -> str:
    import os

    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)


def version_info() -> object:
    import os

    from geedocker import __version__
    from geedocker.format.struct import Struct

    python = "python" + ".".join(str(n) for n in sys.version_info[:3])
    client = Struct("*client.Version", {
        "Platform": Struct("struct { Name string }", {"Name": ""}), "Version": __version__,
        "ApiVersion": API_VERSION, "DefaultAPIVersion": API_VERSION, "GitCommit": "", "GoVersion": python,
        "Os": "linux", "Arch": _arch(), "BuildTime": "", "Context": "default"})
    server = Struct("*types.Version", {
        "Platform": Struct("struct { Name string }", {"Name": "geedocker"}),
        "Components": [Struct("types.ComponentVersion", {"Name": "Engine", "Version": __version__,
                                                         "Details": {"ApiVersion": API_VERSION}})],
        "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": "1.12", "GitCommit": "",
        "GoVersion": python, "Os": "linux", "Arch": _arch(), "KernelVersion": os.uname().release,
        "BuildTime": ""})
    return Struct("system.versionInfo", {"Client": client, "Server": server})


def run(args: argparse.Namespace) -> int:
    from geedocker.format import docker
    from geedocker.format.execute import Template
    from geedocker.format.nodes import TemplateError
    from geedocker.format.tabwriter import align

    info = version_info()
    if args.format:
        fmt = "{{json .}}" if args.format == "json" else docker.template_text(args.format)
        try:  # docker names this template "version" and prints Go's error as it is
            print(Template(fmt, docker.FUNCS, name="version").execute(info))
        except TemplateError as e:
            raise docker.FormatError(str(e)) from e
        return 0
    c, s = info.Client, info.Server  # type: ignore[attr-defined]
    lines = ["Client:", f" Version:\t{c.Version}", f" API version:\t{c.ApiVersion}",
             f" Go version:\t{c.GoVersion}", f" Git commit:\t{c.GitCommit}", f" Built:\t{c.BuildTime}",
             f" OS/Arch:\t{c.Os}/{c.Arch}", f" Context:\t{c.Context}", "",
             f"Server: {s.Platform.Name}", " Engine:", f"  Version:\t{s.Version}",
             f"  API version:\t{s.ApiVersion} (minimum version {s.MinAPIVersion})", f"  Go version:\t{s.GoVersion}",
             f"  Git commit:\t{s.GitCommit}", f"  Built:\t{s.BuildTime}", f"  OS/Arch:\t{s.Os}/{s.Arch}",
             "  Experimental:\tfalse"]
    print(align("\n".join(lines), minwidth=20, padding=1))
    return 0
