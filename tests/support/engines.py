"""The same command line to docker (a private dockerd 20.10, ``tests.support.dockerd``) and to geedocker (a store
of the test's own, named by ``env``): the tests that compare the two engines' words and exit statuses."""

from __future__ import annotations

import subprocess
import sys

from tests.support.dockerd import Dockerd

Result = subprocess.CompletedProcess[str]


class Engines:
    def __init__(self, d: Dockerd, env: dict[str, str]) -> None:
        self.d, self.env = d, env

    def docker(self, *args: str) -> Result:
        return subprocess.run([*self.d.cmd, *args], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)  # fmt: skip

    def gd(self, *args: str) -> Result:
        return subprocess.run([sys.executable, "-m", "geedocker", *args], capture_output=True, text=True,
                              timeout=120, env=self.env, stdin=subprocess.DEVNULL)  # fmt: skip

    def both(self, *args: str) -> tuple[Result, Result]:
        return self.docker(*args), self.gd(*args)
