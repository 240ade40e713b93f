"""Trouble on the way from plant to bus: clock skew, duplicates, late and out-of-order delivery, bad payloads.

A pure transformation of the clean, time-ordered emission stream into the stream that is actually
delivered, still ordered by delivery time. It draws from its own random generator, so switching a
trouble on never changes what the plant itself does: the clean events stay the same, ids included.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from edge.sim.config import Troubles
from edge.sim.faults import malformed_message
from edge.sim.stream import Emission, Trouble


def node_skews(troubles: Troubles, node_ids: Iterable[str], seed: int) -> dict[str, timedelta]:
    """Each node's clock offset: an explicit one, else a fixed draw in ``[-clock_skew_max, +clock_skew_max]``."""
    rng = random.Random(f"skew:{seed}")
    limit = troubles.clock_skew_max.total_seconds()
    skews: dict[str, timedelta] = {}
    for node_id in sorted(node_ids):
        drawn = timedelta(seconds=round(rng.uniform(-limit, limit), 3)) if limit else timedelta(0)
        skews[node_id] = troubles.clock_skew.get(node_id, drawn)
    return skews


def apply_troubles(
    clean: Iterable[Emission],
    troubles: Troubles,
    *,
    seed: int,
    node_ids: Iterable[str],
    machine_ids: Sequence[str] = (),
) -> Iterator[Emission]:
    """The delivered stream: every clean event at least once (late or not), plus duplicates and bad payloads."""
    rng = random.Random(f"troubles:{seed}")
    skews = node_skews(troubles, node_ids, seed)
    order = itertools.count()
    # Held back until the stream reaches their delivery time: (at, tie-breaker, emission).
    delayed: list[tuple[datetime, int, Emission]] = []
    # One event per node waiting to be delivered right after that node's next event.
    swapped: dict[str, Emission] = {}
    now: datetime | None = None

    for emission in clean:
        now = emission.at
        while delayed and delayed[0][0] <= now:
            yield heapq.heappop(delayed)[2]
        event = emission.event
        if event is None:
            yield emission
            continue
        skew = skews.get(emission.node_id, timedelta(0))
        if skew:
            event = event.model_copy(update={"ts": event.ts + skew})
            emission = replace(emission, event=event)
        held = swapped.get(emission.node_id)
        draw = rng.random()
        if emission.trouble is None and draw < troubles.late_rate:
            late = replace(emission, at=now + troubles.late_by, trouble=Trouble.LATE)
            heapq.heappush(delayed, (late.at, next(order), late))
        elif emission.trouble is None and held is None and draw < troubles.late_rate + troubles.out_of_order_rate:
            swapped[emission.node_id] = emission
        else:
            yield emission
            if held is not None:
                # Overtaken by the node's next event actually delivered: now it goes out.
                yield replace(swapped.pop(emission.node_id), at=now, trouble=Trouble.OUT_OF_ORDER)
            if rng.random() < troubles.duplicate_rate:
                yield replace(emission, trouble=Trouble.DUPLICATE)
        if rng.random() < troubles.malformed_rate:
            kind = rng.choice(troubles.malformed_kinds)
            bad = malformed_message(kind, event, rng, peers=machine_ids)
            yield Emission(now, emission.node_id, malformed=bad, trouble=Trouble.MALFORMED)
    # The run is over: what is still held back goes out now (nothing overtook it: not out of order).
    for held in swapped.values():
        assert now is not None
        yield replace(held, at=now)
    while delayed:
        yield heapq.heappop(delayed)[2]
