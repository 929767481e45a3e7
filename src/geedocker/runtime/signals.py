"""Signal names and numbers: ``"KILL"``, ``"SIGKILL"``, ``"9"``, ``9`` -> 9."""

from __future__ import annotations

import signal

from geedocker.errors import UsageError


def parse(sig: int | str) -> int:
    if isinstance(sig, int):
        n = sig
    else:
        s = sig.strip()
        if s.isdigit():
            n = int(s)
        else:
            name = s.upper()
            if not name.startswith("SIG"):
                name = "SIG" + name
            if name.startswith("SIGRTMIN+") or name.startswith("SIGRTMAX-"):
                base, _, off = name.partition("+" if "+" in name else "-")
                if not off.isdigit():
                    raise UsageError(f"unknown signal {sig!r}")
                n = signal.SIGRTMIN + int(off) if base == "SIGRTMIN" else signal.SIGRTMAX - int(off)
            else:
                try:
                    n = int(signal.Signals[name])
                except KeyError as e:
                    raise UsageError(f"unknown signal {sig!r}") from e
    if not 1 <= n <= signal.SIGRTMAX:
        raise UsageError(f"signal {sig!r} out of range")
    return n
