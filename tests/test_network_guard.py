"""The test suite itself refuses network access beyond 127.0.0.1."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.conftest import NetworkAccessError


def test_connect_to_remote_host_fails() -> None:
    """A socket connection to a public address is refused before it leaves the machine."""
    with socket.socket() as sock, pytest.raises(NetworkAccessError, match="network connection"):
        sock.connect(("93.184.216.34", 80))


def test_http_request_fails() -> None:
    """A library-level HTTP request fails at name resolution."""
    with pytest.raises(NetworkAccessError, match="resolve the host name"):
        urllib.request.urlopen("http://example.com", timeout=1)


def test_loopback_is_allowed() -> None:
    """Connections to 127.0.0.1 still work (the browser test needs them)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
