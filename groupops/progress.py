"""Progress of long work, reported to whoever is listening (the CLI's progress bars).

The domain calls :func:`report` as it goes (ingest per chunk, digests per digest, statistics
per chunk of messages read, cleanup per record); nothing listens unless a caller wraps the work
in :func:`reporting`. The hook lives in a context variable, so concurrent work in other threads
or tasks is unaffected, and the domain never imports a UI library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

#: ``hook(label, done, total)``: ``label`` names the work ("messages", "digests"), ``done`` how
#: much of it is finished so far, ``total`` how much there is (``None`` when unknown).
ProgressHook = Callable[[str, int, int | None], None]

_hook: ContextVar[ProgressHook | None] = ContextVar("groupops_progress", default=None)


@contextlib.contextmanager
def reporting(hook: ProgressHook) -> Iterator[None]:
    """Send every :func:`report` made inside the block to ``hook``."""
    token = _hook.set(hook)
    try:
        yield
    finally:
        _hook.reset(token)


def report(label: str, done: int, total: int | None = None) -> None:
    """``done`` of ``total`` units of ``label`` are finished (a no-op when nobody listens)."""
    hook = _hook.get()
    if hook is not None:
        hook(label, done, total)
