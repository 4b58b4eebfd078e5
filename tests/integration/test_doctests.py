"""Every docstring example in the package runs and gives what it shows.

Examples may start the sandbox on a loopback port, so they live with the integration tests.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import vendorkit

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(vendorkit.__path__, prefix="vendorkit.")
    if not m.name.endswith("__main__")
)


@pytest.mark.integration
@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_examples_exist() -> None:
    finder = doctest.DocTestFinder()
    total = sum(
        len(t.examples) for name in MODULES for t in finder.find(importlib.import_module(name))
    )
    assert total >= 50, f"only {total} docstring examples in the package"


def test_no_public_example_is_skipped() -> None:
    """Every docstring example runs: none is switched off with ``+SKIP``."""
    finder = doctest.DocTestFinder()
    skipped = [
        f"{test.name}:{example.lineno}"
        for name in MODULES
        for test in finder.find(importlib.import_module(name))
        for example in test.examples
        if example.options.get(doctest.SKIP)
    ]
    assert not skipped, f"docstring examples skipped: {skipped}"
