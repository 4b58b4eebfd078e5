"""Unit tests never reach the network: every socket connect in this process fails loudly."""

from __future__ import annotations

import socket

import pytest


class NetworkBlockedError(RuntimeError):
    """Raised when a unit test tries to open a network connection."""


def _blocked(*args: object, **kwargs: object) -> None:
    raise NetworkBlockedError(
        "unit tests must not use the network: use the sandbox's in-process transport or "
        "httpx.MockTransport, or move the test to tests/integration"
    )


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked)
    monkeypatch.setattr(socket, "create_connection", _blocked)
