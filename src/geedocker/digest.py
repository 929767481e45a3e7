"""Content digests (``sha256:<hex>``) and a reader that hashes and counts while it streams."""

from __future__ import annotations

import re
import sys

from geedocker.errors import DigestError, VerificationError
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING: importing typing costs ms of every container start
if TYPE_CHECKING:
    import hashlib
    from typing import BinaryIO, Protocol

_HEX_LEN = {"sha256": 64, "sha512": 128}
_DIGEST_RE = re.compile(r"^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$")


SMALL = 1 << 20  # ``Digest.of`` hashes at most this much without hashlib


def _small_sha256(data: bytes) -> str:
    """sha256 through CPython's own module (``_sha256``, ``_sha2`` from 3.12): hashlib loads OpenSSL first, ~3 ms
    of a ``run`` whose image has more than one layer (chain ids are sha256 of short strings)."""
    for name in ("_sha256", "_sha2"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    import hashlib

    return hashlib.sha256(data).hexdigest()


@value(order=True)
class Digest:
    """An OCI content digest such as ``sha256:e3b0...``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        m = _DIGEST_RE.match(text)
        if not m:
            raise DigestError(f"invalid digest {text!r}: expected algorithm:hex")
        algorithm, hexpart = m.group(1), m.group(2)
        if algorithm not in _HEX_LEN:
            raise DigestError(f"unsupported digest algorithm {algorithm!r} in {text!r}")
        if len(hexpart) != _HEX_LEN[algorithm] or not re.fullmatch(r"[0-9a-f]+", hexpart):
            raise DigestError(
                f"invalid digest {text!r}: {algorithm} wants {_HEX_LEN[algorithm]} lowercase hex characters"
            )
        return cls(algorithm, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        if algorithm == "sha256" and len(data) <= SMALL and "hashlib" not in sys.modules:
            return cls(algorithm, _small_sha256(data))
        import hashlib

        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        import hashlib

        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """The first 12 hex characters, as docker shows IDs."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


if TYPE_CHECKING:  # a Protocol only annotations use: no typing import at run time
    class _Readable(Protocol):
        def read(self, n: int = -1, /) -> bytes: ...


class DigestingReader:
    """Wraps a stream; hashes and counts every byte read through it.

    ``verify()`` checks the total against an expected digest and size once the stream is done.
    """

    def __init__(self, raw: _Readable | BinaryIO, algorithm: str = "sha256") -> None:
        self._raw = raw
        import hashlib

        self._hash = hashlib.new(algorithm)
        self._algorithm = algorithm
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._raw.read(n)
        if data:
            self._hash.update(data)
            self.count += len(data)
        return data

    def readinto(self, buf: bytearray | memoryview) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hash.hexdigest())

    def verify(self, expected: Digest, size: int | None = None, what: str = "content") -> None:
        if size is not None and self.count != size:
            raise VerificationError(f"{what} {expected}: size {self.count} bytes, expected {size}")
        got = self.digest()
        if got != expected:
            raise VerificationError(f"{what} digest mismatch: expected {expected}, got {got}")
