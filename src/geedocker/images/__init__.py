"""Images: pull and push (a registry's images), the local store's images (list, inspect, tag, remove, unpack),
import of a root filesystem tarball, and save/load of docker and OCI archives.

The modules here walk manifests, configs and layers over ``geedocker.store`` and ``geedocker.registry``;
``geedocker.containers`` builds containers from what they store.
"""
