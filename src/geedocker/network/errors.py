"""Errors of the network driver (all are ``geedocker.errors.NetworkError``, exit status 125)."""

from __future__ import annotations

from geedocker.errors import NetworkError


class NetworkNotFound(NetworkError):
    """No network by that name or ID."""


class NetworkInUse(NetworkError):
    """A network that containers are still connected to."""


class NetworkExists(NetworkError):
    """A network name that is taken."""


class AddressInUse(NetworkError):
    """An IP address that another container holds."""


class AddressPoolExhausted(NetworkError):
    """Every address of a subnet is taken."""


class PortInUse(NetworkError):
    """A host port that is already published or bound by another process."""
