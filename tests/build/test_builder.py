"""The builder end to end (root): a whole Dockerfile's config and layers, the cache, ONBUILD, the target's
stages, bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geedocker.errors import GeeDockerError
from geedocker.store.layout import Layout
from tests.support.build import BASE, build_in, files_of, path_in

pytestmark = pytest.mark.root


FULL = """\
FROM {base}
ARG V=1
ENV E=env$V F="x y"
LABEL k=v "q r"=$E
WORKDIR /app
COPY --chmod=600 --chown=1000:2000 a.txt sub ./
RUN echo run $V $E > r.txt && rm /etc/group && ln r.txt r2
RUN <<EOF
echo heredoc > /app/h.txt
EOF
COPY <<EOF /app/doc.txt
value $E
EOF
EXPOSE 80 53/udp 7000-7001
VOLUME /data
USER 1000:2000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=3 CMD true
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child > /tmp/child
ENTRYPOINT ["sh"]
CMD echo hi
"""


def test_instructions_config_and_layers(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    (ctx / "a.txt").write_text("a\n")
    (ctx / "sub/s.txt").write_text("s\n")
    os.link(ctx / "a.txt", ctx / "sub/hard")
    text = FULL.format(base=BASE)
    args = (("V", "2"),)
    rec = build_in(store, ctx, text, build_args=args)
    cfg = rec.config.config
    assert cfg.env[-2:] == ("E=env2", "F=x y")
    assert dict(cfg.labels) == {"k": "v", "q r": "env2"}
    assert cfg.working_dir == "/app" and cfg.user == "1000:2000" and cfg.stop_signal == "SIGTERM"
    assert cfg.exposed_ports == ("53/udp", "7000/tcp", "7001/tcp", "80/tcp") and cfg.volumes == ("/data",)
    assert cfg.entrypoint == ("sh",) and cfg.cmd == ("/bin/sh", "-ec", "echo hi")
    assert cfg.get("Healthcheck") == {"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000, "Retries": 3}
    assert cfg.get("OnBuild") == ["RUN echo child > /tmp/child"] and cfg.get("Shell") == ["/bin/sh", "-ec"]
    assert len(rec.config.diff_ids) == 1 + 5  # the base, WORKDIR, COPY, RUN, RUN, COPY
    hist = rec.config.history
    assert len(hist) == 1 + 17 and sum(1 for h in hist if not h.get("empty_layer")) == 6
    files = files_of(store, rec)
    assert "etc/group" not in files and "etc/hosts" not in files and "etc/resolv.conf" not in files
    assert path_in(store, rec, "app/r.txt").read_text() == "run 2 env2\n"
    assert files["app/r.txt"].st_ino == files["app/r2"].st_ino
    assert files["app/hard"].st_ino == files["app/a.txt"].st_ino  # a hard link in the context stays one
    a = files["app/a.txt"]
    assert (a.st_mode & 0o7777, a.st_uid, a.st_gid) == (0o600, 1000, 2000)
    assert path_in(store, rec, "app/h.txt").read_text() == "heredoc\n"
    assert path_in(store, rec, "app/doc.txt").read_text() == "value env2\n"
    # nothing changed: every layer step comes from the cache
    assert build_in(store, ctx, text, build_args=args).config.diff_ids == rec.config.diff_ids
    # a changed mtime alone keeps the cache; a changed byte re-runs from the COPY on
    os.utime(ctx / "a.txt", (1, 1))
    assert build_in(store, ctx, text, build_args=args).config.diff_ids == rec.config.diff_ids
    (ctx / "sub/s.txt").write_text("t\n")
    changed = build_in(store, ctx, text, build_args=args).config.diff_ids
    assert changed[:2] == rec.config.diff_ids[:2] and changed[2] != rec.config.diff_ids[2]
    # ONBUILD runs in a child build and is not inherited further
    child = build_in(store, tmp_path / "child", f"FROM {rec.id}\n")
    assert path_in(store, child, "tmp/child").read_text() == "child\n" and child.config.config.get("OnBuild") is None


def test_multi_stage_builds_only_what_the_target_needs(store: Layout, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    rec = build_in(store, ctx, f"""\
ARG BASE={BASE}
FROM $BASE AS one
RUN echo one > /one && mkdir -p /out/d && echo x > /out/d/x
FROM $BASE AS broken
RUN exit 3
FROM scratch
COPY --from=one /one /
COPY --from=0 /out/ /copied/
COPY --from=one /out /kept
""")
    assert set(files_of(store, rec)) == {"one", "copied", "copied/d", "copied/d/x", "kept", "kept/d", "kept/d/x"}
    target = build_in(store, ctx, f"FROM {BASE} AS a\nRUN echo a > /a\nFROM {BASE} AS b\nRUN exit 1\n", target="a")
    assert "a" in files_of(store, target)


def test_syntax_errors_name_the_line(store: Layout, tmp_path: Path) -> None:
    with pytest.raises(GeeDockerError, match="line 3: unknown instruction: BOGUS"):
        build_in(store, tmp_path / "ctx", f"FROM {BASE}\n\nBOGUS x\n")
    with pytest.raises(GeeDockerError, match="emulation"):
        build_in(store, tmp_path / "ctx", f"FROM --platform=linux/s390x {BASE}\n")
