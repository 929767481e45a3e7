"""``api.server``: the listening socket (dockerd's mode) and a thread per connection (a hundred at once),
served in-process (``http_sock``)."""

from __future__ import annotations

import threading

from tests.support.api_http import request


def test_socket_mode_is_dockers(http_sock: str) -> None:
    import os
    import stat

    assert stat.S_IMODE(os.stat(http_sock).st_mode) == 0o660


def test_hundred_concurrent_requests(http_sock: str) -> None:
    results: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        status, _, _ = request(http_sock, "GET", "/info" if i % 2 else "/containers/json?all=1")
        with lock:
            results.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 100
