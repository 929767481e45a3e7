"""``geedocker build``: Dockerfiles -> images.

- ``dockerfile``: the parser (directives, continuations, heredocs, instruction forms);
- ``shellwords``: docker's variable substitution and word splitting;
- ``dockerignore``: the context's ignore patterns;
- ``context``: the build context (a directory, a tar, stdin) and the content digests of COPY sources;
- ``stages``: stages, ARG scoping and the build plan;
- ``steps`` / ``builder``: running the instructions, each RUN/COPY/ADD committing one layer; ``cache``.
"""
