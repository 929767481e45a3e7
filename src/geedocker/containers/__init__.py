"""The container engine: run options -> OCI runtime-spec bundle -> the runtime core; state on disk.

Modules: ``spec`` (RunOptions, build_spec), ``users`` (user resolution inside a rootfs), ``paths``
(safe path resolution inside a rootfs), ``store`` (containers/<id>/container.json, names, lookup),
``rootfs`` (overlay mounts), ``lifecycle`` (create/start/run/stop/kill/rm/wait), ``monitor``
(the detached process holding a container's stdio), ``logs``, ``ps``, ``inspect``, ``execute``.
"""
