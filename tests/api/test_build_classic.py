"""The ``Classic`` display: the builder's progress events -> docker's classic builder messages (no root needed;
``test_build.py`` drives it through real builds)."""

from __future__ import annotations

from typing import Any

from geedocker.api.build import Classic


def test_events_become_the_classic_builders_messages() -> None:
    msgs: list[dict[str, Any]] = []
    d = Classic(msgs.append)
    d.instruction(1, 3, "FROM busybox")
    d.done(d.start("[1/2] FROM busybox"))
    d.instruction(2, 3, "RUN make")
    v = d.start("[2/2] RUN make")
    d.container(v, "ab" * 32)
    d.log(v, b"out \xc3", "stdout")  # a character cut in two pieces
    d.log(v, b"\xa9\n", "stdout")
    d.log(v, b"warn\n", "stderr")
    d.done(v)
    d.instruction(3, 3, "COPY . /")
    c = d.start("[3/3] COPY . /")
    d.cached(c)
    d.done(c)
    d.warning("[Warning] One or more build-args [X] were not consumed")
    assert msgs == [
        {"stream": "Step 1/3 : FROM busybox"}, {"stream": "\n"},
        {"stream": "Step 2/3 : RUN make"}, {"stream": "\n"},
        {"stream": f" ---> Running in {'ab' * 6}\n"},
        {"stream": "out "}, {"stream": "\u00e9\n"}, {"stream": "\x1b[91mwarn\n\x1b[0m"},
        {"stream": f"Removing intermediate container {'ab' * 6}\n"},
        {"stream": "Step 3/3 : COPY . /"}, {"stream": "\n"},
        {"stream": " ---> Using cache\n"},
        {"stream": "[Warning] One or more build-args [X] were not consumed\n"},
    ]  # fmt: skip


def test_a_failed_run_keeps_no_removal_line() -> None:
    msgs: list[dict[str, Any]] = []
    d = Classic(msgs.append)
    v = d.start("[2/2] RUN false")
    d.container(v, "cd" * 32)
    d.error(v, "The command '/bin/sh -c false' returned a non-zero code: 1")
    assert msgs == [{"stream": f" ---> Running in {'cd' * 6}\n"}]  # the error itself is the stream's last line
