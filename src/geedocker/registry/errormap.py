"""What a failed registry answer means: the Distribution error body and the geedocker error for a status.

Kept apart from the session that sends requests: this is pure mapping (status, error codes, who asked) to
the errors of ``geedocker.errors`` with the registry's own message, and it reads no more than
``MAX_ERROR_BODY`` of the body.
"""

from __future__ import annotations

import json

from geedocker.errors import (
    AuthenticationError,
    GeeDockerError,
    NotFoundError,
    RegistryError,
    TransportError,
)
from geedocker.values import value

TYPE_CHECKING = False  # as typing.TYPE_CHECKING
if TYPE_CHECKING:
    from geedocker.registry.auth import Authenticator
    from geedocker.registry.transport import Response

MAX_ERROR_BODY = 64 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})  # retried by the session; a server error once retries ran out
_NOT_FOUND_CODES = {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN", "TAG_INVALID"}


@value
class RegistryErrorDetail:
    code: str
    message: str


def parse_error_body(data: bytes) -> list[RegistryErrorDetail]:
    """The ``{"errors": [{"code", "message", "detail"}]}`` body of a registry error (lenient)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return []
    errs = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errs, list):
        return []
    out = []
    for e in errs[:10]:
        if isinstance(e, dict):
            out.append(RegistryErrorDetail(str(e.get("code") or "")[:100], str(e.get("message") or "")[:500]))
    return out


def error_for(resp: Response, what: str, host: str, auth: Authenticator, retries: int) -> GeeDockerError:
    """Map an unexpected response to the right error, with the registry's own message.

    ``auth`` tells who asked (credentials, challenge) for the wording of a 401; ``retries`` is how many times
    the request was retried, for the wording of a server error.
    """
    try:
        body = resp.read_capped(MAX_ERROR_BODY, what)
    except RegistryError:
        body = b""
    finally:
        resp.close()
    details = parse_error_body(body)
    codes = {d.code for d in details}
    msg = "; ".join(f"{d.code}: {d.message}" if d.code else d.message for d in details if d.code or d.message)
    suffix = f" ({msg})" if msg else ""
    st = resp.status
    if st == 401:
        creds = auth.credentials
        ch = auth.challenge
        bearer = ch is not None and ch.scheme == "bearer"
        if creds is not None and bearer:
            # The token server accepted the user, but the token does not cover this repository.
            return AuthenticationError(
                f"{host}: {what}: access denied for user {creds.username!r}: the repository does not "
                f"exist or the user may not access it{suffix}"
            )
        if creds is not None:
            return AuthenticationError(
                f"{host}: {what}: credentials for user {creds.username!r} were refused{suffix}"
            )
        if bearer:
            # An anonymous token that does not cover the repository: docker's wording.
            return AuthenticationError(
                f"{host}: {what}: access denied: the repository does not exist or may require "
                f"authentication; log in with 'geedocker login {host}'{suffix}"
            )
        return AuthenticationError(
            f"{host}: {what}: authentication required{suffix}; log in with 'geedocker login {host}'"
        )
    if st == 403:
        return AuthenticationError(f"{host}: {what}: access denied{suffix}")
    if st == 404 or codes & _NOT_FOUND_CODES:
        return NotFoundError(f"{what}: not found{suffix}")
    if st in RETRY_STATUSES or st >= 500:
        return TransportError(
            f"{host}: {what}: server error HTTP {st} after {retries + 1} attempts{suffix}"
        )
    return RegistryError(f"{host}: {what}: unexpected HTTP {st}{suffix}")
