"""The Docker Engine API server: a front end beside ``geedocker.cli`` (``geedocker system service``).

``server`` speaks HTTP (h11, a thread per connection, hijacked streams), ``app`` routes docker's paths to the
endpoint modules (``system``, ``containers``, ``execs``, ``images``, ``networks``), which call the same engine
functions as the CLI and read the same on-disk state: the service keeps no state of its own but exec sessions
and clients waiting to attach.
"""
