"""Named and anonymous volumes with docker's ``local`` driver semantics.

``store`` keeps them on disk (``$ROOT/volumes/<name>/_data`` with ``volume.json`` beside it), ``driver`` mounts
the tmpfs and device kinds, ``seed`` copies an image's content into a new volume, ``usage`` says which containers
use one.
"""
