"""Shared test configuration.

Unit tests (``tests/unit``) may not open any socket: the autouse fixture in
``tests/unit/conftest.py`` makes ``socket.connect`` raise. Integration tests talk to the
sandbox over real loopback sockets only.
"""
