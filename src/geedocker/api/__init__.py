"""The Docker Engine API server: a front end beside ``geedocker.cli`` (``geedocker system service``).

``server`` listens (a thread per connection), ``connection`` speaks HTTP on one (h11, hijacked streams),
``messages`` holds the ``Request``/``Response``/``Hijack`` values handlers take and return, ``app`` routes docker's
paths to the endpoint modules (``system``, the ``container_*`` modules, ``archive``, ``resources``, ``events``,
``execs``, ``images``, ``networks``, ``volumes``), which call the same engine functions as the CLI and read the same
on-disk state: the service keeps no state of its own but exec sessions and clients waiting to attach. ``create``
maps a create request's body to RunOptions, ``streams`` runs an engine function in a forked child with pipes as its
stdio and relays them to the client, ``errors`` maps engine errors to docker's status codes, ``service`` runs the
listener until idle.
"""
