"""A rebuild's read-ahead hands out the batches a direct read would, and the same errors."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification

from projections.feed import ReadAhead

ORIGINATOR = uuid4()


class FakeLog:
    """``events`` notifications with ids 1..events; ``fail_from`` makes reads from there raise."""

    def __init__(self, events: int, fail_from: int | None = None) -> None:
        self.notifications = [
            Notification(id=n, originator_id=ORIGINATOR, originator_version=n, topic="t", state=b"")
            for n in range(1, events + 1)
        ]
        self.fail_from = fail_from
        self.calls: list[tuple[int, int, str]] = []

    def read(self, start: int, limit: int) -> Sequence[Notification]:
        self.calls.append((start, limit, threading.current_thread().name))
        if self.fail_from is not None and start >= self.fail_from:
            raise ConnectionError(f"store gone at {start}")
        return [n for n in self.notifications if n.id >= start][:limit]


def _read_all(read: ReadAhead, limit: int) -> list[list[int]]:
    batches, start = [], 1
    while batch := read(start, limit):
        batches.append([n.id for n in batch])
        start = batch[-1].id + 1
    return batches


def test_batches_read_ahead_are_those_a_direct_read_gives():
    log = FakeLog(10)
    assert _read_all(ReadAhead(log.read), 3) == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
    # After a full batch the next is read ahead; after the short one, the caller's own read.
    assert [call[:2] for call in log.calls] == [(1, 3), (4, 3), (7, 3), (10, 3), (11, 3)]
    assert [call[2] == "ppl-read-ahead" for call in log.calls] == [False, True, True, True, False]


def test_a_log_that_ends_on_a_full_batch_ends_with_an_empty_one():
    log = FakeLog(6)
    assert _read_all(ReadAhead(log.read), 3) == [[1, 2, 3], [4, 5, 6]]
    assert [call[:2] for call in log.calls] == [(1, 3), (4, 3), (7, 3)]  # (7, 3) ahead: empty


def test_a_read_for_another_batch_than_the_one_ahead_reads_directly():
    log = FakeLog(10)
    read = ReadAhead(log.read)
    assert [n.id for n in read(1, 3)] == [1, 2, 3]
    assert [n.id for n in read(2, 2)] == [2, 3]  # not (4, 3): read on demand
    assert (2, 2, threading.current_thread().name) in log.calls


def test_the_error_of_a_read_ahead_is_raised_by_the_call_for_that_batch():
    log = FakeLog(10, fail_from=4)
    read = ReadAhead(log.read)
    assert [n.id for n in read(1, 3)] == [1, 2, 3]  # the read of 4.. already failed, aside
    with pytest.raises(ConnectionError, match="store gone at 4"):
        read(4, 3)
