"""Tag listing: ``GET /v2/<repo>/tags/list``, following ``Link`` pagination up to ``MAX_TAG_PAGES`` pages.

``TagRequests`` is the tag part of ``registry.client.RegistryClient``.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

from geedocker.errors import RegistryError
from geedocker.registry.auth import Scope
from geedocker.registry.session import RegistrySession

MAX_TAGS_BODY = 4 * 1024 * 1024
MAX_TAG_PAGES = 100


class TagRequests(RegistrySession):
    """``GET /v2/<repo>/tags/list``."""

    def list_tags(self, repo: str) -> list[str]:
        what = f"tags of {self.host}/{repo}"
        tags: list[str] = []
        url: str | None = self._url(f"/v2/{repo}/tags/list?n=1000")
        for _ in range(MAX_TAG_PAGES):
            if url is None:
                return tags
            resp = self._request("GET", url, scopes=[Scope.pull(repo)], what=what)
            if resp.status != 200:
                raise self._error(resp, what)
            try:
                data = resp.read_capped(MAX_TAGS_BODY, what)
            finally:
                resp.close()
            try:
                doc = json.loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise RegistryError(f"{what}: the registry sent invalid JSON") from e
            page = doc.get("tags") if isinstance(doc, dict) else None
            if page is not None:
                if not isinstance(page, list):
                    raise RegistryError(f"{what}: 'tags' is not a list")
                tags.extend(str(t) for t in page)
            url = _next_link(resp.headers.get("link", ""), url)
        raise RegistryError(f"{what}: more than {MAX_TAG_PAGES} pages of tags")


def _next_link(header: str, base: str) -> str | None:
    m = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    return urljoin(base, m.group(1)) if m else None
