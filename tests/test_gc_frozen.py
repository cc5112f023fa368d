"""`gc_frozen` (what an ingest runs under): the objects alive before the block are out of the
collector's sight during it and back after it; only *when* garbage is found changes: the block's
own cycles are collected as usual, older garbage after the block; blocks in several threads
freeze once; a process that froze objects itself is left as it is."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from groupops.db.bulk import gc_frozen


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.collect()
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_older_objects_are_frozen_during_the_block_and_handed_back() -> None:
    older = Node()
    with gc_frozen():
        assert gc.get_freeze_count() > 0
        assert not any(o is older for o in gc.get_objects())  # out of the collector's sight
    assert gc.get_freeze_count() == 0
    assert any(o is older for o in gc.get_objects())


def test_cycles_made_in_the_block_are_collected_in_it_older_garbage_after_it() -> None:
    older = Node()
    before = weakref.ref(older)
    with gc_frozen():
        del older
        gc.collect()
        assert before() is not None  # frozen: waits for the end of the block
        inner = Node()
        made = weakref.ref(inner)
        del inner
        gc.collect()
        assert made() is None
    gc.collect()
    assert before() is None  # nothing leaked


def test_nested_and_threaded_blocks_freeze_once() -> None:
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with gc_frozen():
            entered.set()
            leave.wait(10)

    with gc_frozen():
        thread = threading.Thread(target=other)
        thread.start()
        assert entered.wait(10)
        made_here = Node()
        with gc_frozen():
            assert any(o is made_here for o in gc.get_objects())  # not frozen again
    assert gc.get_freeze_count() > 0  # the other thread's block still runs
    leave.set()
    thread.join(10)
    assert gc.get_freeze_count() == 0


def test_a_process_that_froze_objects_itself_is_left_as_it_is() -> None:
    # Told by objects, not by gc.get_freeze_count(): frozen objects that die meanwhile (another
    # thread's) lower the count, which made an exact count flaky.
    mine = Node()
    gc.freeze()
    later = Node()
    with gc_frozen():
        assert any(o is later for o in gc.get_objects())  # not frozen by the block
    assert not any(o is mine for o in gc.get_objects())  # the process's freeze not undone
