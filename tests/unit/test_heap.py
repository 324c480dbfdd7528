"""What a process holds after start-up leaves the collector's reach; later garbage does not."""

from __future__ import annotations

import gc

from socialdesk.heap import settle


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_settled_objects_are_no_longer_walked_and_later_garbage_is_still_freed() -> None:
    kept = Node()
    before = gc.get_freeze_count()
    try:
        settle()
        assert gc.get_freeze_count() > before
        assert not any(o is kept for o in gc.get_objects())  # not walked by any collection
        later = Node()
        assert any(o is later for o in gc.get_objects())
        del later
        assert gc.collect() >= 1  # the new cycle is collected as before
    finally:
        gc.unfreeze()
