"""The ``hero-async`` command: a thin layer over the public API (needs the ``cli`` extra)."""

from ._main import main

__all__ = ["main"]
