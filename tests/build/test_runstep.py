"""RUN (root): a failing or unstartable RUN leaves nothing, a heredoc with a shebang runs as a script."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.build.errors import BuildError
from geedocker.containers.store import ContainerStore
from geedocker.errors import GeeDockerError
from geedocker.store.layout import Layout
from tests.support.build import BASE, build_in, files_of, path_in

pytestmark = pytest.mark.root


def test_failing_run_leaves_nothing(store: Layout, tmp_path: Path) -> None:
    layers_before = set(os.listdir(store.layers))
    with pytest.raises(BuildError, match="returned a non-zero code: 7"):
        build_in(store, tmp_path / "ctx", f"FROM {BASE}\nRUN echo out; touch /junk; exit 7\n")
    assert ContainerStore(store).ids() == []
    assert set(os.listdir(store.layers)) == layers_before
    with open("/proc/self/mountinfo") as f:
        assert str(store.root) not in f.read()
    assert not [p for p in store.tmp.iterdir() if p.name.startswith("build-")]


def test_heredoc_with_a_shebang_runs_as_a_script(store: Layout, tmp_path: Path) -> None:
    rec = build_in(store, tmp_path / "ctx", f"""\
FROM {BASE}
RUN <<EOF
#!/bin/busybox sh
echo "as $0" > /script.txt
EOF
RUN <<EOF
echo "as $0" > /shell.txt
EOF
""")
    assert path_in(store, rec, "script.txt").read_text() == "as /dev/pipes/EOF\n"  # run as a file, not by sh -c
    assert path_in(store, rec, "shell.txt").read_text() == "as /bin/sh\n"
    assert not [n for n in files_of(store, rec) if n.startswith("dev")]


def test_a_run_that_cannot_start_leaves_nothing(store: Layout, tmp_path: Path) -> None:
    # The leak once seen after test_versus_docker.py: a RUN container whose start failed (the runtime's error,
    # not an exit status) stayed with its network namespace mounted, since the step only removed containers
    # that had started.
    for text in (f'FROM {BASE}\nRUN ["/no/such/binary"]\n', f"FROM {BASE}\nUSER nosuchuser\nRUN true\n"):
        with pytest.raises(GeeDockerError):
            build_in(store, tmp_path / "ctx", text)
        assert ContainerStore(store).ids() == []
        with open("/proc/self/mountinfo") as f:
            assert str(store.root.parent) not in f.read()
