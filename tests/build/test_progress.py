"""The build's progress displays: BuildKit's plain lines, the redrawn terminal view, and nothing with -q."""

from __future__ import annotations

import io
import re

from geedocker.build.progress import Display, Plain, RawJSON, Tty


def _events(d: Display) -> None:
    a = d.start("[builder 1/2] FROM test/bb:1")
    d.done(a)
    b = d.start("[builder 2/2] RUN make")
    c = d.start("[stage-1 2/3] COPY a /a")  # another stage, at the same time
    d.log(b, b"cc -o app")  # a line shows once it is complete
    d.cached(c)
    d.log(b, b" app.c\nlinked\npartial")
    d.error(b, "exit code 2")
    e = d.start("exporting to image")
    d.status(e, "writing image sha256:abc")
    d.done(e)
    d.close()


def test_plain_is_buildkits_shape() -> None:
    out = io.StringIO()
    _events(Plain(out))
    text = re.sub(r"\d+\.\d+", "T", out.getvalue())  # times
    assert text == """\
#1 [builder 1/2] FROM test/bb:1
#1 DONE Ts

#2 [builder 2/2] RUN make

#3 [stage-1 2/3] COPY a /a
#3 CACHED

#2 T cc -o app app.c
#2 T linked
#2 T partial
#2 ERROR: exit code 2

#4 exporting to image
#4 writing image sha256:abc done
#4 DONE Ts
"""


def test_tty_redraws_in_place_and_ends_with_every_step() -> None:
    out = io.StringIO()
    _events(Tty(out))
    text = out.getvalue()
    last = text.rsplit("\x1b[J", 2)[-2]  # the final drawing
    rows = [r.rstrip() for r in re.split(r"\x1b\[\d+A|\x1b\[2K", last) if r.strip()]
    assert rows[0].startswith("[+] Building ") and "(4/4)" in rows[0]
    assert any(r.startswith(" => [builder 1/2] FROM test/bb:1") for r in rows)
    assert any(r.startswith(" => CACHED [stage-1 2/3] COPY a /a") for r in rows)
    assert any(r.startswith(" => ERROR [builder 2/2] RUN make") for r in rows)
    assert " => => # partial" in rows and " => => writing image sha256:abc" in rows  # a failed step keeps its tail
    assert "\x1b[" in text.split("\n", 1)[1]  # later drawings move back over the earlier ones


def test_quiet_shows_nothing() -> None:
    d = Display()
    _events(d)
    assert [v.number for v in d.vertices] == [1, 2, 3, 4]


def test_rawjson_is_buildkits_solve_status_a_line() -> None:
    import base64
    import json

    out = io.StringIO()
    _events(RawJSON(out))
    objs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(len(o) == 1 for o in objs)  # each line one kind: vertexes, logs or statuses
    vertexes = [v for o in objs for v in o.get("vertexes", [])]
    digests = {v["name"]: v["digest"] for v in vertexes}
    assert len(digests) == 4 and len(set(digests.values())) == 4
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", d) for d in digests.values())
    done = {v["name"]: v for v in vertexes if "completed" in v}
    assert done["[stage-1 2/3] COPY a /a"]["cached"] is True
    assert done["[builder 2/2] RUN make"]["error"] == "exit code 2"
    assert "cached" not in done["exporting to image"] and "error" not in done["exporting to image"]
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
    assert all(stamp.fullmatch(v["started"]) and stamp.fullmatch(v.get("completed", v["started"])) for v in vertexes)
    logs = [x for o in objs for x in o.get("logs", [])]
    assert {x["vertex"] for x in logs} == {digests["[builder 2/2] RUN make"]} and {x["stream"] for x in logs} == {1}
    assert b"".join(base64.b64decode(x["data"]) for x in logs) == b"cc -o app app.c\nlinked\npartial"
    statuses = [s for o in objs for s in o.get("statuses", [])]
    assert [(s["name"], s["vertex"]) for s in statuses] == [("writing image sha256:abc", digests["exporting to image"])]
