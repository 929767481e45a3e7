"""ps --filter as moby's daemon/list.go defines it."""

from __future__ import annotations

from pathlib import Path

import pytest

from geedocker.containers.filters import FilterError, filter_records
from geedocker.containers.options import MountSpec, RunOptions
from geedocker.containers.record import ContainerRecord, ContainerState, Status
from geedocker.errors import UsageError
from geedocker.network.options import NetworkOptions, PortSpec
from geedocker.oci import ContainerConfig
from geedocker.store.layout import Layout


def rec(cid: str, name: str, status: Status, created: str, exit_code: int = 0, labels: tuple = (),
        ports: tuple = (), mounts: tuple = (), network: str = "bridge") -> ContainerRecord:
    return ContainerRecord(
        id=cid * 64, name=name, image="busybox", image_id="sha256:" + "e" * 64, created=created, args=("true",),
        options=RunOptions(labels=labels, mounts=mounts, net=NetworkOptions(mode=network, ports=ports)),
        image_config=ContainerConfig(exposed_ports=("80/tcp",)), lower_dirs=(),
        state=ContainerState(status, exit_code=exit_code,
                             started_at="" if status == Status.CREATED else "2024-01-01T00:00:00Z"),
    )  # fmt: skip


RECS = [
    rec("c", "web", Status.RUNNING, "2024-01-03", labels=(("tier", "front"), ("x", "1")),
        ports=(PortSpec(8080),), network="net1"),
    rec("b", "db", Status.EXITED, "2024-01-02", exit_code=3, labels=(("tier", "back"),),
        mounts=(MountSpec("volume", "/data", "dbdata"),)),
    rec("a", "webtool", Status.CREATED, "2024-01-01"),
]


def names(tmp_path: Path, specs: list[str], all_: bool = True) -> list[str]:
    return [r.name for r in filter_records(Layout(tmp_path, tmp_path), RECS, specs, all_)]


def test_running_only_unless_all_or_status(tmp_path: Path) -> None:
    assert names(tmp_path, [], all_=False) == ["web"]
    assert names(tmp_path, ["status=exited"], all_=False) == ["db"]
    assert names(tmp_path, ["status=exited", "status=created"], all_=False) == ["db", "webtool"]


def test_name_is_a_regex_on_the_slashed_name(tmp_path: Path) -> None:
    assert names(tmp_path, ["name=web"]) == ["web", "webtool"]
    assert names(tmp_path, ["name=^/web$"]) == ["web"]
    assert names(tmp_path, ["name=db", "name=tool"]) == ["db", "webtool"]


def test_keys_are_anded_labels_all_hold(tmp_path: Path) -> None:
    assert names(tmp_path, ["label=tier"]) == ["web", "db"]
    assert names(tmp_path, ["label=tier=front", "label=x"]) == ["web"]
    assert names(tmp_path, ["label=tier", "name=db"]) == ["db"]
    assert names(tmp_path, ["id=" + "b" * 5]) == ["db"]


def test_exited_before_since_ports_volume_network(tmp_path: Path) -> None:
    assert names(tmp_path, ["exited=3"]) == ["db"]
    assert names(tmp_path, ["exited=0"]) == []
    assert names(tmp_path, ["publish=8080"]) == ["web"]
    assert names(tmp_path, ["publish=8000-8100/tcp"]) == ["web"]
    assert names(tmp_path, ["publish=8080/udp"]) == []
    assert names(tmp_path, ["expose=80"]) == ["web", "db", "webtool"]
    assert names(tmp_path, ["volume=dbdata"]) == ["db"]
    assert names(tmp_path, ["volume=/data"]) == ["db"]
    assert names(tmp_path, ["network=net1"]) == ["web"]
    assert names(tmp_path, ["health=none"]) == ["web", "db", "webtool"]
    assert names(tmp_path, ["health=healthy"]) == []
    assert names(tmp_path, ["is-task=true"]) == []
    assert names(tmp_path, ["ancestor=busybox"]) == ["web", "db", "webtool"]


@pytest.mark.parametrize("spec,msg", [
    ("nope=1", "Invalid filter 'nope'"),
    ("status=sleeping", "Invalid filter 'status=sleeping'"),
    ("health=great", "Unrecognised filter value for health: great"),
    ("exited=x", 'strconv.Atoi: parsing "x": invalid syntax'),
    ("is-task=x", "Invalid filter 'is-task=\\[x\\]'"),
])
def test_bad_filters_are_daemon_errors_exit_1(tmp_path: Path, spec: str, msg: str) -> None:
    with pytest.raises(FilterError, match=msg) as e:
        names(tmp_path, [spec])
    assert e.value.exit_code == 1


def test_a_filter_without_equals_is_a_flag_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="bad format of filter"):
        names(tmp_path, ["nope"])


def test_health_matches_the_status_the_monitor_recorded(tmp_path: Path) -> None:
    import json

    from geedocker.containers.store import ContainerStore
    from geedocker.values import replace

    layout = Layout(tmp_path, tmp_path)
    probed = ContainerConfig(exposed_ports=("80/tcp",)).with_key("Healthcheck", {"Test": ["CMD", "true"]})
    disabled = ContainerConfig().with_key("Healthcheck", {"Test": ["NONE"]})
    recs = [replace(RECS[0], image_config=probed), replace(RECS[1], image_config=probed),
            replace(RECS[2], image_config=disabled)]
    d = ContainerStore(layout).dir(recs[0].id)
    d.mkdir(parents=True)
    (d / "health.json").write_text(json.dumps({"Status": "healthy", "FailingStreak": 0, "Log": []}))

    def matching(spec: str) -> list[str]:
        return [r.name for r in filter_records(layout, recs, [spec], True)]

    assert matching("health=healthy") == ["web"]
    assert matching("health=starting") == ["db"]  # a healthcheck not probed yet
    assert matching("health=none") == ["webtool"]  # Test ["NONE"] is no healthcheck
    assert matching("health=unhealthy") == []
