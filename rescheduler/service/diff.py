"""How a new plan differs from the previous one: the operations that moved machine or time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from rescheduler.service.plan import PlannedOp
from shopfloor.events import OperationMove

# Starts closer than this are the same slot: the solver works in whole minutes.
SAME_START = timedelta(minutes=1)


def plan_diff(previous: Iterable[PlannedOp], current: Iterable[PlannedOp]) -> list[OperationMove]:
    """Operations of ``current`` on another machine or at another start than in ``previous``.

    Operations new to the plan count as moved from nowhere (``from_machine`` and ``from_start`` None);
    operations that left the plan (finished, cancelled) are not moves.
    """
    before = {op.key: op for op in previous}
    moves: list[OperationMove] = []
    for op in sorted(current, key=lambda o: (o.start, o.work_order_id, o.seq)):
        old = before.get(op.key)
        if old is not None and old.machine_id == op.machine_id and abs(old.start - op.start) < SAME_START:
            continue
        moves.append(
            OperationMove(
                work_order_id=op.work_order_id,
                operation_seq=op.seq,
                from_machine=old.machine_id if old else None,
                to_machine=op.machine_id,
                from_start=old.start if old else None,
                to_start=op.start,
            )
        )
    return moves
