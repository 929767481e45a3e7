from __future__ import annotations

import json
from datetime import UTC, datetime

from geedocker.containers import ps
from geedocker.containers.options import RunOptions
from geedocker.containers.record import ContainerRecord, ContainerState, Status
from geedocker.oci import ContainerConfig
from geedocker.timefmt import human_duration
from geedocker.values import replace

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def _ts(offset: float) -> str:
    return datetime.fromtimestamp(T0 + offset, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rec(state: ContainerState, args: tuple[str, ...] = ("sh", "-c", "echo hello world; sleep 1")) -> ContainerRecord:
    return ContainerRecord(
        id="0123456789ab" + "f" * 52, name="web", image="busybox", image_id="sha256:" + "e" * 64, created=_ts(0),
        args=args, options=RunOptions(labels=(("a", "b"),)), image_config=ContainerConfig(), lower_dirs=(),
        state=state,
    )  # fmt: skip


def test_status_text() -> None:
    running = ContainerState(Status.RUNNING, started_at=_ts(10))
    assert ps.status_text(rec(running), T0 + 13) == "Up 3 seconds"
    assert ps.status_text(rec(running), T0 + 10.5) == "Up Less than a second"
    exited = ContainerState(Status.EXITED, exit_code=137, finished_at=_ts(100))
    assert ps.status_text(rec(exited), T0 + 105) == "Exited (137) 5 seconds ago"
    assert ps.status_text(rec(exited), T0 + 100 + 7200) == "Exited (137) 2 hours ago"
    assert ps.status_text(rec(ContainerState()), T0) == "Created"


def test_human_duration() -> None:
    assert human_duration(0.4) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(59) == "59 seconds"
    assert human_duration(61) == "About a minute"
    assert human_duration(3600) == "About an hour"
    assert human_duration(86400 * 3) == "3 days"


def test_table() -> None:
    r = ps.row(rec(ContainerState(Status.RUNNING, started_at=_ts(0))), T0 + 3)
    out = ps.format_table([r]).splitlines()
    assert out[0].split("   ")[0] == "CONTAINER ID"
    for col in ps.HEADER:
        assert col in out[0]
    assert out[1].startswith("0123456789ab   busybox   ")
    assert '"sh -c \'echo hello w…"' in out[1]  # moby quotes an argument with spaces
    assert out[0].index("COMMAND") == out[1].index('"sh -c')
    assert out[1].endswith("web")
    # columns line up with the header
    assert out[1].index("busybox") == out[0].index("IMAGE")
    assert out[1].index("Up 3 seconds") == out[0].index("STATUS")


def test_no_trunc_and_formats() -> None:
    r = ps.row(rec(ContainerState(Status.EXITED, exit_code=1, finished_at=_ts(0))), T0 + 2, trunc=False)
    assert r.id == "0123456789ab" + "f" * 52
    assert r.command == '"sh -c \'echo hello world; sleep 1\'"'
    d = json.loads(ps.format_template([r], "json"))
    assert d["Names"] == "web" and d["State"] == "exited" and d["Status"] == "Exited (1) 2 seconds ago"
    assert d["Labels"] == "a=b"
    assert ps.format_template([r], "{{.Names}}\\t{{.State}}") == "web\texited\n"
    assert ps.format_template([r], '{{.Label "a"}}|{{.Label "x"}}|{{.Labels}}|{{.Networks}}') == "b||a=b|bridge\n"
    assert ps.format_template([r], "table {{.Names}}\t{{.State}}") == "NAMES     STATE\nweb       exited\n"
    assert json.loads(ps.format_template([r], "{{json .}}"))["ID"] == r.id


def test_image_falls_back_to_the_short_id() -> None:
    r = replace(rec(ContainerState()), image="")
    assert ps.image_text(r) == "e" * 12
