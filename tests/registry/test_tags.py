"""registry.tags: the tag list, following Link pagination."""

from __future__ import annotations

from tests.registry.conftest import MakeClient
from tests.registry.fakes import OCI_M, FakeRegistry, oci_manifest


def test_list_tags_follows_pages(fake: FakeRegistry, make_client: MakeClient) -> None:
    for t in ("v1", "v2", "v3", "latest"):
        fake.add_manifest("app", t, oci_manifest(), OCI_M)
    c = make_client(fake)
    fake.tag_page_size = 2
    assert c.list_tags("app") == ["latest", "v1", "v2", "v3"]
    assert fake.count("GET", "/tags/list") == 2
