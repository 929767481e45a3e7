"""The logging flags of create/run: ``--log-driver`` and ``--log-opt``, checked against the logging drivers
geedocker has (``LOG_DRIVERS``) with docker's messages. Apart from ``containers.flags`` because they check a
logging driver's configuration, which in docker is the daemon's job (``DaemonRefusal``), not one flag's text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from geedocker.containers.flags import parse_bytes
from geedocker.errors import DaemonRefusal, UsageError

# the logging drivers geedocker has, and each one's --log-opt keys (docker's for those drivers)
LOG_DRIVERS: dict[str, frozenset[str]] = {
    "json-file": frozenset({"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}),
    "local": frozenset({"max-size", "max-file", "compress"}),
    "none": frozenset(),
}
# Go's strconv.ParseBool, which docker reads --log-opt compress with
TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
DOCKER_ONLY_LOG_DRIVERS = {"syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "etwlogs", "gcplogs",
                           "logentries"}  # fmt: skip


def parse_log_options(driver: str, opts: Iterable[str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``--log-driver`` and ``--log-opt K=V``: (driver, "" for the default json-file; the options), checked as
    docker checks them (its driver's keys; max-size a size, max-file 1 or more, compress a boolean)."""
    driver = driver or "json-file"
    pairs = [(k, v) for k, _, v in (o.partition("=") for o in opts)]
    if driver == "none" and pairs:
        raise UsageError("invalid logging opts for driver none")
    if driver not in LOG_DRIVERS:
        if driver in DOCKER_ONLY_LOG_DRIVERS:
            raise DaemonRefusal(f"logging driver {driver!r} is not supported by geedocker (json-file, local and none "
                                "are)")  # fmt: skip
        raise DaemonRefusal(f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    for k, v in pairs:
        if k not in LOG_DRIVERS[driver]:
            raise DaemonRefusal(f"unknown log opt '{k}' for {driver} log driver")
        # docker's daemon checks these values when the container starts; here, when it is made
        if k == "max-size":
            try:
                if parse_bytes(v, "max-size") <= 0:
                    raise ValueError
            except (UsageError, ValueError) as e:
                raise DaemonRefusal(f"failed to initialize logging driver: invalid size: '{v}'") from e
        elif k == "max-file":
            if not re.fullmatch(r"-?[0-9]+", v):
                raise DaemonRefusal(f'failed to initialize logging driver: strconv.Atoi: parsing "{v}": invalid '
                                    "syntax")  # fmt: skip
            if int(v) < 1:
                raise DaemonRefusal("failed to initialize logging driver: max-file cannot be less than 1")
        elif k == "compress" and v not in TRUE | FALSE:
            raise DaemonRefusal(f'failed to initialize logging driver: strconv.ParseBool: parsing "{v}": invalid '
                                "syntax")  # fmt: skip
    given = dict(pairs)
    if driver == "json-file" and given.get("compress") in TRUE and (
            int(given.get("max-file", "1")) == 1 or "max-size" not in given):  # docker's json-file, word for word
        raise DaemonRefusal("failed to initialize logging driver: compress cannot be true when max-file is less "
                            "than 2 or max-size is not set")  # fmt: skip
    return ("" if driver == "json-file" else driver), tuple(sorted(pairs))
