"""Names: generated, unique, conflicts refused; lookup by name, id and prefix."""

from __future__ import annotations

import pytest

from tests.containers.conftest import Engine

pytestmark = pytest.mark.root


def test_name_conflict(engine: Engine) -> None:
    assert engine.run("true", flags=("--name", "dup")).returncode == 0
    r = engine.run("true", flags=("--name", "dup"))
    assert r.returncode == 125
    assert 'The container name "/dup" is already in use' in r.stderr
    assert len(engine.ids()) == 1
    assert engine.cli("rm", "dup").returncode == 0
    assert engine.run("true", flags=("--name", "dup")).returncode == 0


def test_generated_name_and_lookup(engine: Engine) -> None:
    engine.run("true")
    cid = engine.ids()[0]
    name = engine.cli("ps", "-a", "--format", "{{.Names}}").stdout.strip()
    assert "_" in name
    for ref in (name, cid, cid[:12], cid[:5]):
        r = engine.cli("wait", ref)
        assert r.stdout == "0\n", (ref, r.stderr)
    r = engine.cli("rm", "nosuchname")
    assert r.returncode != 0 and "No such container: nosuchname" in r.stderr


def test_random_names_are_docker_style_and_varied() -> None:
    from geedocker.containers.names import ADJECTIVES, SURNAMES, random_name

    names = {random_name() for _ in range(200)}
    assert len(names) > 150  # 100+ adjectives x 200+ surnames: repeats are rare
    for n in names:
        adjective, surname = n.split("_")
        assert adjective in ADJECTIVES and surname in SURNAMES
    retried = random_name(2)
    assert retried[-1].isdigit() and retried[:-1].split("_")[1] in SURNAMES
