"""The shedding policy against a plain-Python reference, on random sequences of puts and acks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.buffer import MessageClass, OutboxQueue, QueueFullError

pytestmark = pytest.mark.unit

MAX_ROWS = 8

# ("put", class) or ("ack", how many of the oldest rows the broker acknowledges)
Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from([int(c) for c in MessageClass])),
        st.tuples(st.just("ack"), st.integers(min_value=1, max_value=3)),
    ),
    max_size=60,
)


def reference(program: list[Step]) -> tuple[list[tuple[int, int]], int, int]:
    """What the policy says: rows (name, class) left, how many shed, how many scans refused."""
    rows: list[tuple[int, int]] = []
    shed = refused = 0
    for name, (op, arg) in enumerate(program):
        if op == "ack":
            rows = rows[arg:]
            continue
        if len(rows) >= MAX_ROWS:
            victims = [c for c in (MessageClass.PROCESS, MessageClass.TELEMETRY) if c <= arg]
            victim = next((r for c in victims for r in rows if r[1] == c), None)
            if victim is not None:
                rows.remove(victim)  # the oldest of the cheapest class
                shed += 1
            elif arg == MessageClass.SCAN:
                refused += 1
                continue
            else:
                shed += 1  # the newcomer itself
                continue
        rows.append((name, arg))
    return rows, shed, refused


@settings(max_examples=60, deadline=None)
@given(program=steps)
def test_queue_follows_the_policy(program: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        queue = OutboxQueue(Path(tmp) / "q.db", max_rows=MAX_ROWS)
        try:
            for name, (op, arg) in enumerate(program):
                if op == "ack":
                    queue.delete(row.id for row in queue.read_after(0, arg))
                    continue
                try:
                    queue.put(str(name), b"payload", MessageClass(arg))
                except QueueFullError:
                    assert arg == MessageClass.SCAN
            left = [
                (int(row.topic), cls) for row in queue.read_after(0, 100) for cls in [_class_of(program, row.topic)]
            ]
            expected_rows, expected_shed, expected_refused = reference(program)
            assert left == expected_rows
            assert (queue.stats().shed, queue.stats().refused) == (expected_shed, expected_refused)
            assert queue.rows == len(expected_rows) <= MAX_ROWS
        finally:
            queue.close()


def _class_of(program: list[Step], topic: str) -> int:
    return program[int(topic)][1]
