"""The docker CLI that scripts use, compared with docker itself.

Debian's dockerd 20.10 (``tests.support.dockerd``) runs on its own socket; docker's CLI 28 (``/usr/local/bin/docker``,
speaking the daemon's API 1.41) and geedocker get the same image from the test registry, make the same
containers, and answer the same commands: outputs (ids and times left out of the templates) and exit codes must
match. The template engine is also run on docker's own inspect JSON, so its semantics are compared on the same
data.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from geedocker.format import docker as gofmt
from tests.integration.conftest import GD
from tests.support.dockerd import Dockerd, running_dockerd
from tests.support.layers import busybox_rootfs_entries, layer_tar
from tests.support.registry import TestRegistry, push_test_image

pytestmark = [pytest.mark.root, pytest.mark.registry]

DOCKER_CLI = Path("/usr/local/bin/docker")


class Pair:
    def __init__(self, d: Dockerd, gd: GD, image: str) -> None:
        self.d, self.gd, self.image = d, gd, image

    def docker(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
        cli = str(DOCKER_CLI) if DOCKER_CLI.exists() else self.d.cmd[0]
        return subprocess.run([cli, "-H", f"unix://{self.d.socket}", *args], capture_output=True, text=True,
                              timeout=120, input=input)

    def both(self, *args: str, input: str | None = None  # noqa: A002
             ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        return self.docker(*args, input=input), self.gd(*args, input=input)

    def same(self, *args: str, sort: bool = False) -> str:
        """Both print the same and exit the same; the output."""
        d, g = self.both(*args)
        dl, gl = d.stdout.splitlines(), g.stdout.splitlines()
        if sort:
            dl, gl = sorted(dl), sorted(gl)
        assert (g.returncode, gl) == (d.returncode, dl), f"{args}: docker {d.stderr!r}, geedocker {g.stderr!r}"
        return d.stdout


@pytest.fixture(scope="module")
def dockerd() -> Iterator[Dockerd]:
    with running_dockerd() as d:
        yield d


@pytest.fixture
def pair(dockerd: Dockerd, gd: GD, registry_http: TestRegistry) -> Iterator[Pair]:
    layer = layer_tar(busybox_rootfs_entries())
    push_test_image(registry_http, "compat/bb", "1", [layer],
                    config_overrides={"config": {"Labels": {"tier": "front", "x": "<&>"}, "Cmd": ["sh"]}})
    image = f"{registry_http.host}/compat/bb:1"
    p = Pair(dockerd, gd, image)
    for run in (p.docker, p.gd):
        assert run("pull", "-q", image).returncode == 0
        r = run("run", "--network", "none", "--name", "c1", "--label", "a=b", image, "sh", "-c", 'echo "hi"; exit 3')
        assert r.returncode == 3, r.stderr
        r = run("create", "--network", "none", "--name", "c2", "-v", "/tmp:/host", image, "true")
        assert r.returncode == 0, r.stderr
    yield p
    for run in (p.docker, p.gd):
        run("rm", "-f", "c1", "c2")
        run("rmi", "-f", image)


TEMPLATES = [
    "{{.Os}}/{{.Architecture}}",
    "{{.Config.Labels}}",
    "{{json .Config.Labels}}",
    '{{index .Config.Labels "tier"}}|{{index .Config.Labels "missing"}}|',
    "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}",
    "{{len .RootFS.Layers}} {{len .Config.Cmd}}",
    '{{printf "%s|%6.3s|%q|%-4d|%v" .Os .Architecture .Os 7 .Config.Cmd}}',
    '{{if eq .Os "linux"}}L{{else if eq .Os "windows"}}W{{else}}X{{end}}',
    "{{with .Config}}{{.Cmd}}{{end}} {{with .Comment}}c{{else}}no comment{{end}}",
    '{{join .Config.Cmd " "}} {{upper .Os}} {{title .Os}} [{{pad .Os 1 2}}] {{truncate .Architecture 3}}',
    '{{split .Architecture "d"}} {{lower "ABC"}} {{println .Os}}',
    "{{- /* comment */ -}}   {{ .Os -}}   !",
    "{{$os := .Os}}{{range .Config.Cmd}}{{$os}}:{{.}}{{end}}",
    '{{range $i, $l := .RootFS.Layers}}{{$i}}{{if $i}},{{end}}{{end}}{{.RootFS.Type | printf "%q"}}',
    '{{and .Os ""}}|{{or "" .Os}}|{{not .Os}}|{{eq 1 1 2}}|{{lt 1 2}}|{{html "<a>"}}|{{js "a\'b"}}|{{urlquery "a b"}}',
    '{{define "T"}}[{{.}}]{{end}}{{template "T" .Os}}{{block "B" .Architecture}}<{{.}}>{{end}}',
    "{{.Nope}}",
    "{{.Config.Nope.Deeper}}",
    "{{nope .}}",
    "{{.Os",
    "{{index .Config.Cmd 5}}",
    "{{range .Os}}{{end}}",
]


def test_templates_on_dockers_own_data(pair: Pair) -> None:
    """Each template on docker's image inspect JSON: docker's answer and geedocker.format's are the same text,
    or the same error."""
    data = json.loads(pair.docker("image", "inspect", pair.image).stdout)[0]
    for tmpl in TEMPLATES:
        d = pair.docker("image", "inspect", "-f", tmpl, pair.image)
        try:
            ours, code, err = gofmt.render_one(tmpl, data, missingkey="error") + "\n", 0, ""
        except gofmt.FormatError as e:
            ours, code, err = "", e.exit_code, str(e)
        assert (code, ours.strip("\n")) == (d.returncode, d.stdout.strip("\n")), f"{tmpl}: docker said {d.stderr!r}"
        if code:
            assert err in d.stderr, tmpl


def test_ps_formats_and_filters(pair: Pair) -> None:
    fields = ('{{.Names}}|{{.Image}}|{{.Command}}|{{.State}}|{{.Label "a"}}|{{.Label "tier"}}|{{.Labels}}|'
              "{{.Networks}}|{{.Mounts}}|{{.LocalVolumes}}|{{.Size}}")
    pair.same("ps", "-a", "--format", fields, sort=True)
    pair.same("ps", "-a", "--no-trunc", "--format", "{{.Names}} {{.Command}}", sort=True)
    pair.same("ps", "-a", "--format", "table {{.Names}}\t{{.State}}\t{{.Command}}", sort=True)
    pair.same("ps", "--format", "{{.Names}}")
    pair.same("ps", "-a", "-n", "1", "--format", "{{.Names}}")
    pair.same("ps", "-a", "-l", "--format", "{{.Names}}")
    for f in ("status=exited", "status=created", "name=c", "name=^/c1$", "label=a", "label=a=b", "label=tier",
              "exited=3", "exited=0", f"ancestor={pair.image}", "volume=/host", "network=none", "health=none",
              "is-task=false", "before=c2", "since=c1"):
        pair.same("ps", "-a", "--filter", f, "--format", "{{.Names}}", sort=True)
    pair.same("ps", "-a", "--filter", "status=exited", "--filter", "status=created", "--format", "{{.Names}}",
              sort=True)
    d, g = pair.both("ps", "-a", "--format", "json")
    assert [sorted(json.loads(x)) for x in g.stdout.splitlines()] == [sorted(json.loads(x))
                                                                      for x in d.stdout.splitlines()]
    for bad in (["--filter", "color=red"], ["--filter", "status=sleeping"], ["--format", "{{.Nope}}"],
                ["--format", "{{nope}}"]):
        d, g = pair.both("ps", "-a", *bad)
        assert (g.returncode, g.stdout) == (d.returncode, d.stdout), bad
        assert g.stderr.strip() == d.stderr.strip(), bad


def test_images_formats_and_filters(pair: Pair) -> None:
    repo = pair.image.rsplit(":", 1)[0]
    pair.same("images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}")
    pair.same("images", "--format", "table {{.Repository}}\t{{.Tag}}")
    for f in ("label=tier=front", "label=nope", "dangling=true", "dangling=false", f"reference={repo}",
              "reference=*/compat/*", "reference=nothing"):
        pair.same("images", "--filter", f, "--format", "{{.Repository}}:{{.Tag}}")
    d, g = pair.both("images", "--format", "json")
    assert sorted(json.loads(g.stdout)) == sorted(json.loads(d.stdout))
    d, g = pair.both("images", "--filter", "color=red")
    assert (g.returncode, g.stderr.strip()) == (d.returncode, d.stderr.strip())


def test_inspect_format_and_missing_objects(pair: Pair) -> None:
    pair.same("inspect", "-f", "{{.Name}} {{.State.Status}} {{.State.ExitCode}} {{.Config.Labels}}", "c1")
    pair.same("container", "inspect", "-f", "{{.Config.Cmd}} {{.Path}} {{.Args}}", "c1")
    pair.same("inspect", "-f", "{{json .Config.Labels}}", "c1", "c2")
    d, g = pair.both("inspect", "-f", "{{.Name}}", "c1", "nosuch")
    assert (g.returncode, g.stdout) == (d.returncode, d.stdout)
    d, g = pair.both("inspect", "-f", "{{.Nope}}", "c1")
    assert (g.returncode, g.stderr.strip()) == (d.returncode, d.stderr.strip())


def test_image_group_and_history(pair: Pair) -> None:
    pair.same("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
    pair.same("image", "inspect", "-f", "{{.Os}} {{.Config.Cmd}} {{index .Config.Labels \"tier\"}}", pair.image)
    pair.same("history", "--format", "{{.CreatedBy}}|{{.Comment}}", pair.image)
    pair.same("image", "history", "--no-trunc", "--format", "{{.CreatedBy}}", pair.image)
    d, g = pair.both("history", "-q", pair.image)
    assert len(g.stdout.splitlines()) == len(d.stdout.splitlines()) and g.returncode == d.returncode == 0
    d, g = pair.both("history", "--format", "table {{.ID}}\t{{.CreatedBy}}", pair.image)
    assert g.stdout.splitlines()[0] == d.stdout.splitlines()[0]
    d, g = pair.both("image", "inspect", "nosuch")
    assert (g.returncode, g.stdout, g.stderr) == (d.returncode, d.stdout, d.stderr)


def test_exit_codes_and_messages(pair: Pair) -> None:
    for args in (["rm", "nosuch"], ["rm", "-f", "nosuch"], ["stop", "nosuch"], ["logs", "nosuch"],
                 ["start", "nosuch"], ["wait", "nosuch"], ["restart", "nosuch"], ["container", "rm", "nosuch"],
                 ["exec", "c1", "true"], ["ps", "--bogus"], ["run", "--bogus", pair.image],
                 # create: what the daemon refuses exits 1 (run: 125), a bad flag 125
                 ["create", "--network", "none", "--pull", "never", "nosuch:1"],
                 ["create", "--network", "none", "--name", "c1", pair.image], ["create", "--bogus", pair.image],
                 ["run", "--network", "none", "--name", "c1", pair.image]):
        d, g = pair.both(*args)
        assert g.returncode == d.returncode, (args, d.stderr, g.stderr)
        if "nosuch" in args:
            assert g.stderr.splitlines()[0] == d.stderr.splitlines()[0], args


def test_logs_since_until(pair: Pair) -> None:
    pair.same("logs", "--since", "1h", "c1")
    pair.same("logs", "--until", "1h", "c1")
    pair.same("logs", "--since", "2000-01-01T00:00:00Z", "--until", "4000000000", "c1")
    d, g = pair.both("logs", "--since", "yesterday", "c1")
    assert g.returncode == d.returncode == 1


def test_it_without_a_terminal_and_network_prune(pair: Pair) -> None:
    d, g = pair.both("run", "--rm", "-it", "--network", "none", pair.image, "true")
    assert (g.returncode, g.stderr.strip()) == (d.returncode, d.stderr.strip())
    for run in (pair.docker, pair.gd):
        assert run("network", "create", "compat-prune-net").returncode == 0
    pair.same("network", "prune", "-f")
    pair.same("network", "ls", "--filter", "name=compat-prune", "--format", "{{.Name}}")


def test_system_df(pair: Pair) -> None:
    pair.same("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}")
    d, g = pair.both("system", "df")
    assert g.stdout.splitlines()[0] == d.stdout.splitlines()[0]
    assert [line.split()[0] for line in g.stdout.splitlines()] == [line.split()[0] for line in d.stdout.splitlines()]


def _ids(text: str) -> str:
    return re.sub(r"\b[0-9a-f]{64}\b", "ID", text)


def test_system_df_verbose(pair: Pair) -> None:
    pair.same("system", "df", "-v", "--format",
              "{{len .Images}} {{len .Containers}} {{len .Volumes}} {{len .BuildCache}}")
    pair.same("system", "df", "-v", "--format",
              "{{range .Images}}{{.Repository}}:{{.Tag}} {{.Containers}} {{.SharedSize}} [{{.Digest}}]|{{end}}")
    pair.same("system", "df", "-v", "--format",
              "{{range .Containers}}{{.Names}} {{.LocalVolumes}} {{.Command}} {{.Size}} {{.Mounts}}|{{end}}")
    d, g = pair.both("system", "df", "-v")

    def shape(text: str) -> list[str]:  # titles and column headers as they are, each data row as "row"
        return [" ".join(x.split()) if not any(c.islower() for c in x) or "usage" in x else "row"
                for x in text.splitlines()]

    assert (g.returncode, shape(g.stdout)) == (d.returncode, shape(d.stdout)), (d.stdout, g.stdout)


def test_system_prune(pair: Pair) -> None:
    d, g = pair.both("system", "prune", "--filter", "label=a", input="")  # no answer: nothing goes
    assert (g.returncode, g.stdout) == (d.returncode, d.stdout)
    for bad in (["--filter", "bogus=1"], ["--volumes", "--filter", "until=1h"], ["--filter", "until=soon"]):
        d, g = pair.both("system", "prune", "-f", *bad)
        assert (g.returncode, g.stdout, g.stderr) == (d.returncode, d.stdout, d.stderr), bad
    d, g = pair.both("system", "prune", "-f", "--filter", "label=a=b")  # c1 only
    assert (g.returncode, _ids(g.stdout)) == (d.returncode, _ids(d.stdout)) == (0, "Deleted Containers:\nID\n\n"
                                                                              "Total reclaimed space: 0B\n")
    pair.same("ps", "-a", "--format", "{{.Names}}")
    d, g = pair.both("system", "prune", "-f", "--filter", "until=24h")  # c2 is younger: it stays
    assert (g.returncode, g.stdout) == (d.returncode, d.stdout) == (0, "Total reclaimed space: 0B\n")
    # the build cache takes durations only: an RFC 3339 until= fails there, after the other passes
    d, g = pair.both("system", "prune", "-f", "--filter", "until=2000-01-01T00:00:00Z")
    assert (g.returncode, g.stdout, g.stderr) == (d.returncode, d.stdout, d.stderr)
    d, g = pair.both("system", "prune", "-a", "-f")
    assert g.returncode == d.returncode == 0
    # the image goes with all its names; the space counted differs (docker counts files' bytes, geedocker tar sizes)
    dl, gl = d.stdout.splitlines(), g.stdout.splitlines()
    assert _ids("\n".join(gl[:4])) == _ids("\n".join(dl[:4])) == "Deleted Containers:\nID\n\nDeleted Images:"
    assert {x for x in gl if x.startswith("untagged:")} == {x for x in dl if x.startswith("untagged:")}
    assert gl[-1].startswith("Total reclaimed space: ") and gl[-1] != "Total reclaimed space: 0B"
    pair.same("images", "-q")


def test_load_failures_and_the_container_group(pair: Pair) -> None:
    for args, stdin in ((["load", "-i", "/nonexistent"], None), (["load"], "not a tar archive\n" * 50),
                        (["load"], "")):  # fmt: skip
        d, g = pair.both(*args, input=stdin)
        assert g.returncode == d.returncode == 1, (args, d.stderr, g.stderr)
    assert "open /nonexistent: no such file or directory" in pair.gd("load", "-i", "/nonexistent").stderr
    # every command of docker's `container --help`, answering as docker's for a missing or stopped container
    for args in (["top", "nosuch"], ["top", "c1"], ["port", "c1"], ["port", "nosuch"], ["rename", "nosuch", "x2"],
                 ["rename", "c1", "x"], ["rename", "c1", "c1"], ["pause", "c1"], ["unpause", "c1"],
                 ["stats", "--no-stream", "nosuch"], ["update", "--cpu-shares", "512", "nosuch"],
                 ["attach", "nosuch"], ["cp", "nosuch:/x", "/tmp/x"], ["remove", "nosuch"]):
        d, g = pair.both("container", *args)
        assert (g.returncode, _ids(g.stderr)) == (d.returncode, _ids(d.stderr)), args
    for group in (["container"], ["image"], ["system"], ["container", "bogus"]):  # help (0); unknown command (1)
        d, g = pair.both(*group)
        assert g.returncode == d.returncode, group
    pair.same("system", "info", "--format", "{{.OSType}} {{.Containers}} {{.ContainersStopped}} {{.Images}}")
    d, g = pair.both("image", "build", "--help")
    assert g.returncode == d.returncode == 0


def _shape(v: object, path: str = "") -> dict[str, str]:
    """Every key path of a JSON value with its JSON type ("null" included): what scripts index into."""
    names = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
    out = {path: "null" if v is None else names[type(v)]}
    if isinstance(v, dict):
        for k, x in v.items():
            out.update(_shape(x, f"{path}.{k}"))
    elif isinstance(v, list) and v:
        out.update(_shape(v[0], path + "[]"))
    return out


def test_inspect_has_dockers_keys(pair: Pair) -> None:
    """Container and image inspect: every key docker 20.10 shows, with the same JSON type; values that scripts
    read the same. geedocker's own extras (an image's Manifest and Metadata.Added) are the only other keys."""
    for obj in ("c1", "c2", pair.image):
        d, g = (json.loads(r.stdout)[0] for r in pair.both("inspect", obj))
        ds, gs = _shape(d), _shape(g)
        extra = {k for k in gs if k not in ds}
        assert extra <= {".Manifest", ".Manifest.Digest", ".Manifest.MediaType", ".Metadata.Added"}, (obj, extra)
        assert {k: (ds[k], gs.get(k)) for k in ds if gs.get(k) != ds[k]} == {}, obj
    for fmt in ("{{json .HostConfig.RestartPolicy}} {{json .HostConfig.LogConfig}} {{.HostConfig.ShmSize}}",
                "{{json .HostConfig.Binds}} {{json .HostConfig.PortBindings}} {{.HostConfig.IpcMode}}",
                "{{json .Config.Env}} {{json .Config.ExposedPorts}} {{json .Config.Volumes}} {{.Config.StdinOnce}}",
                "{{range $n, $s := .NetworkSettings.Networks}}{{$n}} {{$s.IPAddress}}{{end}} {{len .Mounts}}",
                # nulls as docker's typed structs print them: a nil slice [], a nil map map[], a nil pointer <nil>
                "{{.HostConfig.CapAdd}}|{{json .HostConfig.CapAdd}}|{{.HostConfig.PidsLimit}}|{{.Config.Entrypoint}}|"
                "{{.Config.Volumes}}|{{.State.Health}}|{{if .HostConfig.CapAdd}}y{{else}}n{{end}}|{{.ExecIDs}}|"
                "{{len .HostConfig.ExtraHosts}}|{{.HostConfig.Init}}|{{.HostConfig.Tmpfs}}|{{.Config.StopTimeout}}"):
        pair.same("inspect", "-f", fmt, "c2")
    pair.same("image", "inspect", "-f", "{{.Parent}}|{{.Comment}}|{{.Author}}|{{.DockerVersion}}|{{.GraphDriver.Name}}|"
              "{{json .ContainerConfig.Cmd}}|{{json .Config.ExposedPorts}}|{{len .RootFS.Layers}}", pair.image)


def test_run_flags_of_step_seven(pair: Pair, tmp_path: Path) -> None:
    """-v making a missing host dir and its consistency modes, --cidfile, --expose, --device, --log-driver and
    --log-opt, -a, --platform and --pull: the same outputs and statuses as docker's."""
    try:
        _run_flags(pair, tmp_path)
    finally:  # the containers made here go (a stopped one keeps its network namespace mounted)
        for run in (pair.docker, pair.gd):
            run("rm", "-f", "flags", "quiet")


def _run_flags(pair: Pair, tmp_path: Path) -> None:
    img = pair.image
    for who, run in (("d", pair.docker), ("g", pair.gd)):
        made = tmp_path / who / "missing" / "sub"
        r = run("run", "--rm", "--network", "none", "-v", f"{made}:/x", img, "ls", "-d", "/x")
        assert (r.returncode, r.stdout, made.is_dir()) == (0, "/x\n", True), (who, r.stderr)
        cid = tmp_path / who / "c.id"
        r = run("create", "--network", "none", "--cidfile", str(cid), "--name", "flags", "--expose", "9000-9001/udp",
                "--expose", "7000", "--device", "/dev/null:/dev/mynull:rw", "--log-driver", "local", "--log-opt",
                "max-size=1m", "-a", "stdout", img, "true")  # fmt: skip
        assert r.returncode == 0 and cid.read_text() == r.stdout.strip(), (who, r.stderr)
        r = run("run", "--network", "none", "--cidfile", str(cid), img, "true")
        assert r.returncode == 125 and "container ID file found" in r.stderr, who
    pair.same("inspect", "-f", "{{json .Config.ExposedPorts}} {{json .HostConfig.Devices}} "
              "{{json .HostConfig.LogConfig}} {{.Config.AttachStdout}} {{.Config.AttachStderr}}", "flags")
    for mode in ("cached", "delegated,ro", "consistent", "z"):
        pair.same("run", "--rm", "--network", "none", "-v", f"/tmp:/h:{mode}", img, "true")
    pair.same("run", "--rm", "--network", "none", "--device", "/dev/null:/dev/mynull:rw", img, "sh", "-c",
              "test -c /dev/mynull && echo x > /dev/mynull && echo ok")  # fmt: skip
    if Path("/dev/net/tun").exists():  # a directory of devices: each node under it
        pair.same("run", "--rm", "--network", "none", "--device", "/dev/net:/dev/mynet", img, "ls", "/dev/mynet")
    pair.same("run", "--rm", "--network", "none", "-a", "stdout", img, "sh", "-c", "echo out; echo err >&2")
    for attach in (["-i", "-a", "stdout"], ["-a", "stdin", "-a", "stdout"]):  # stdin goes in with -i only
        d, g = pair.both("run", "--rm", "--network", "none", *attach, img, "cat", input="hi\n")
        assert (g.returncode, g.stdout) == (d.returncode, d.stdout), attach
    d, g = pair.both("run", "--rm", "--network", "none", "-a", "stderr", img, "sh", "-c", "echo out; echo err >&2")
    assert (g.returncode, g.stdout, g.stderr) == (d.returncode, d.stdout, d.stderr) == (0, "", "err\n")
    for run in (pair.docker, pair.gd):
        assert run("run", "--network", "none", "--name", "quiet", "--log-driver", "none", img, "echo", "hi").stdout \
            == "hi\n"
    d, g = pair.both("logs", "quiet")
    assert (g.returncode, g.stdout, g.stderr) == (d.returncode, d.stdout, d.stderr)  # "does not support reading"
    # refused before anything runs: the same status, and docker's words in geedocker's message
    for bad in (["--mount", f"type=bind,src={tmp_path}/nope,dst=/x"], ["-v", "/tmp:/x:bogus"], ["--expose", "abc"],
                ["--device", "/dev/null:/x:rwz"], ["--log-driver", "xyz"], ["--log-opt", "foo=bar"],
                ["--log-opt", "max-size=abc"], ["--log-opt", "max-file=0"], ["--log-driver", "none", "--log-opt",
                "max-size=1m"], ["-a", "bogus"], ["-d", "-a", "stdout"], ["--pull", "sometimes"],
                ["--platform", "linux/arm64"]):  # fmt: skip
        d, g = pair.both("run", "--rm", "--network", "none", *bad, img, "true")
        assert g.returncode == d.returncode != 0, (bad, d.stderr, g.stderr)
        words = d.stderr.strip().splitlines()[0].removeprefix("docker: ").removeprefix("Error response from daemon: ")
        if bad[0] not in ("--platform", "--device", "-v"):
            assert words in g.stderr, (bad, d.stderr, g.stderr)
    d, g = pair.both("run", "--rm", "--network", "none", "--pull", "never", "nosuch:1", "true")
    assert (g.returncode, g.stderr.strip()) == (d.returncode, d.stderr.strip().splitlines()[0].removeprefix("docker: "))
    pair.same("run", "--rm", "--network", "none", "--platform", "linux/amd64", "--pull", "always", img, "echo", "ok")
