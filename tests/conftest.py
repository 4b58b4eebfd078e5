"""Shared test configuration.

Unit tests (``tests/unit``) may not open any socket: the autouse fixture in
``tests/unit/conftest.py`` makes ``socket.connect`` raise. Integration tests talk to the
sandbox over real loopback sockets only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_vendorkit_logging() -> Iterator[None]:
    """The CLI configures the ``vendorkit`` logger (level, a stderr handler) in-process; undo
    that after every test so one CLI test cannot hide DEBUG records from a later one."""
    logger = logging.getLogger("vendorkit")
    level, handlers = logger.level, list(logger.handlers)
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
