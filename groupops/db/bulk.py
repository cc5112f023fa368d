"""Helpers for building many Python objects at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a block builds many container objects (row
    tuples, lists): each burst of allocations would otherwise start collections that walk
    every object the process holds (measured: 210,000 empty lists took 0.38 s of CPU in a
    process holding a 200k-message frame, 0.02 s with the collector paused). The objects built
    hold no cycles; reference counting frees them as before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
