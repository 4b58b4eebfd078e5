import socket

import httpx
import pytest

from tests.unit.conftest import NetworkBlockedError


def test_unit_tests_cannot_open_sockets() -> None:
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("127.0.0.1", 9))


def test_httpx_cannot_reach_the_network() -> None:
    with pytest.raises(NetworkBlockedError), httpx.Client() as client:
        client.get("http://127.0.0.1:9/")
