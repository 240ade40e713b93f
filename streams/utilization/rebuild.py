"""What a rebuild of a time range needs to start each machine exactly: its state and counters before it.

A rebuild (``shopfloor replay``) runs :func:`streams.utilization.flow.build_flow` over a bounded source
that starts at ``since``. The first minute of each machine must begin in the state the machine was in
then, and its first counter reading must be compared with the reading before ``since``, not taken as a
baseline. Both come from the raw tables, which the raw sink fills from the same topic.
"""

from __future__ import annotations

from datetime import datetime

from shopfloor.db.pool import Connection
from shopfloor.events import MachineState
from streams.utilization.minutes import Carry


def carry_before(conn: Connection, since: datetime) -> dict[str, Carry]:
    """Per machine, the newest state and counter reading strictly before ``since`` (aware)."""
    states = conn.execute(
        "SELECT DISTINCT ON (machine_id) machine_id, state FROM machine_state WHERE ts < %s "
        "ORDER BY machine_id, ts DESC, event_id DESC",
        (since,),
    ).fetchall()
    counters = conn.execute(
        "SELECT DISTINCT ON (machine_id) machine_id, good, scrap FROM machine_counter WHERE ts < %s "
        "ORDER BY machine_id, ts DESC, event_id DESC",
        (since,),
    ).fetchall()
    carry: dict[str, Carry] = {str(m): Carry(MachineState(str(s)), None) for m, s in states}
    for machine, good, scrap in counters:
        before = carry.get(str(machine), Carry())
        carry[str(machine)] = Carry(before.state, (int(good), int(scrap)))
    return carry
