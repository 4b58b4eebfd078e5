"""``python -m vendorkit.sandbox serve --port P ...``."""

from vendorkit.sandbox.cli import sandbox

if __name__ == "__main__":
    sandbox(prog_name="python -m vendorkit.sandbox")
