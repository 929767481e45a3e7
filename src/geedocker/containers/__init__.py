"""The container engine: docker's run flags + an image -> an OCI runtime-spec bundle -> the runtime core.

Modules
    options     RunOptions and MountSpec: docker's create/run flags as values (kept in the record)
    flags       the flags' text -> those values (parse_memory, parse_mount, parse_signal...), docker's errors
    plan        ContainerPlan: what the engine decides once at create (command, env, workdir, hostname,
                user, stop signal, capabilities, cgroup); Resolved: what it finds in the mounted rootfs
    spec        build_spec(plan, resolved, network attachment) -> config.json (pure)
    users       --user resolution against the image's /etc/passwd and /etc/group
    paths       safe path resolution inside an untrusted rootfs (symlinks confined to it)
    record      a container's record (ContainerRecord, ContainerState, Status): values only
    store       containers/<id>/container.json records, lookup by id/name/prefix
    nameindex   the name index (containers/.names/<name> -> id) that keeps names unique
    damaged     the stand-in for a record that cannot be read (a dead container that rm -f removes)
    names       docker-style random names (adjective_surname)
    rootfs      the overlay mount (image layers + upper/work) at the bundle's rootfs
    backend     the OCI runtime: geedocker.runtime in-process, or runc/crun by their CLI
    supervisor  what the monitor does for a running container: launch, exit status, cleanup, --rm
    streams     what the monitor copies: output to the log, the attached caller and attach clients; input back
    monitor     the monitor process (forked per container) and how a caller starts one attached or detached
    create      create (RootfsSource -> record, volumes, bundle; undone if a step fails)
    bundle      the bundle's config.json, written from the plan and the mounted rootfs; devices at start
    lifecycle   start, run, stop, kill
    shutdown    what stop, kill and rm share: thawing a paused container, waiting for it to be down
    removal     rm (damaged records included), prune, sweep of interrupted creates and removals
    wait        docker wait (not-running, next-exit, removed)
    refresh     a record that claims to run, checked against its processes
    execute     exec into a running container
    netns       loopback up in the container's private network namespace
    logs, ps, inspect, console, images (RootfsSource from the image store or a directory)

Behaviour worth knowing
    * Attached ``run``: a monitor inherits our stdio and copies the container's stdout and stderr there and
      to the json-file log; the geedocker process forwards SIGINT/TERM/HUP/QUIT/USR1/USR2 (and SIGWINCH
      for -t) and exits with the container's status (125 engine error, 126/127 command not
      executable/found). ``-d``: the monitor does the same with the log only.
    * State survives the CLI being killed: container.json is replaced atomically and fsynced on each
      change and holds the init's and the supervisor's pids with their start times; ``refresh`` (called
      by ps, wait, stop, rm, inspect) marks a container exited when both are gone, taking the exit code
      the runtime recorded. A record that cannot be read shows as a dead container (``store.load_any``)
      that ``rm -f`` removes with what it held (``removal._remove_damaged``).
    * Networks: ``host`` shares the host's network namespace; ``none`` and ``bridge`` (the default)
      get a private namespace with loopback up. The bridge driver (veth, address, NAT, -p) is not
      wired in yet.
    * ``--init`` bind-mounts the host's static docker-init/tini/catatonit (or $GEEDOCKER_INIT_PATH) at
      /sbin/docker-init and runs ``docker-init -- CMD`` as docker does.
    * The runtime is chosen by $GEEDOCKER_OCI_RUNTIME (geedocker by default, or runc, crun) and
      recorded per container.
    * ``--rm`` containers mount their overlay ``volatile`` (no sync on unmount; the upper dir is
      thrown away anyway) and leave their exit code in $RUN/exited/<id> for ``wait``.
    * Not supported (clear errors): named and anonymous volumes, --mount type=volume, -p (networking).
"""
