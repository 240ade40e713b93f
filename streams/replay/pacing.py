"""Re-publish pacing and ordering: the pure part.

A recorded range is sent again at ×N speed: a record stamped ``ts`` is due at
``send_at = t0_wall + (ts − ts0) / N``, where ``ts0`` is the first record's timestamp and ``t0_wall`` the
wall-clock moment the re-publish began. Records are merged across partitions by timestamp, but each
partition's records keep their offset order (a key lives in one partition, so order per key is kept even
where a partition's timestamps step backwards: such a record is simply due at once).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar


class Stamped(Protocol):
    @property
    def timestamp_ms(self) -> int: ...


R = TypeVar("R", bound=Stamped)


@dataclass(frozen=True, slots=True)
class Pacing:
    """Where a re-publish started (``ts0_ms`` in record time, ``t0_wall`` in ``time.monotonic()`` seconds).

    ``speed`` is the ×N factor; ``math.inf`` sends as fast as possible.
    """

    ts0_ms: int
    t0_wall: float
    speed: float

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be > 0, not {self.speed}")

    def send_at(self, timestamp_ms: int) -> float:
        if math.isinf(self.speed):
            return self.t0_wall
        return self.t0_wall + (timestamp_ms - self.ts0_ms) / 1000.0 / self.speed

    def wait(self, timestamp_ms: int, now: float) -> float:
        """Seconds to wait before sending a record stamped ``timestamp_ms`` at wall-clock ``now`` (>= 0)."""
        return max(0.0, self.send_at(timestamp_ms) - now)


def parse_speed(text: str) -> float:
    """``"10"``, ``"x10"``, ``"10x"`` -> 10.0; ``"max"`` -> inf."""
    cleaned = text.strip().lower()
    if cleaned in ("max", "inf"):
        return math.inf
    cleaned = cleaned.removeprefix("x").removesuffix("x")
    try:
        speed = float(cleaned)
    except ValueError:
        raise ValueError(f"speed {text!r} is not a number, ×N or 'max'") from None
    if not speed > 0 or math.isnan(speed):
        raise ValueError(f"speed must be > 0, not {text!r}")
    return speed


def merge_by_time(streams: Mapping[int, Iterable[R]]) -> Iterator[R]:
    """Records of every partition in timestamp order, each partition's own order untouched.

    A heap holds each partition's next record only, so a record is never taken ahead of an earlier
    offset of its partition, whatever the timestamps say. Ties go to the lower partition number.
    """
    heap: list[tuple[int, int]] = []
    heads: dict[int, tuple[R, Iterator[R]]] = {}
    for partition, stream in streams.items():
        it = iter(stream)
        first = next(it, None)
        if first is not None:
            heads[partition] = (first, it)
            heapq.heappush(heap, (first.timestamp_ms, partition))
    while heap:
        _, partition = heapq.heappop(heap)
        record, it = heads.pop(partition)
        yield record
        following = next(it, None)
        if following is not None:
            heads[partition] = (following, it)
            heapq.heappush(heap, (following.timestamp_ms, partition))
