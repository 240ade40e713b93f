"""Liveness of the order processor, judged from Kafka itself, and the supervisor that restarts it.

faust's tracker has open reports of workers that stop consuming after a broker restart (a
"Marking the coordinator dead" loop) or hang in recovery, while the process stays up. So the
watchdog does not ask faust: every ``check_s`` it reads, with a plain confluent-kafka client, the
group's committed offsets and the topics' end offsets. When events are waiting and the committed
offsets have not moved for ``stall_s``, the worker exits with :data:`STALLED_EXIT`; the supervisor
(``shopfloor streams orders run``) starts a fresh one, which resumes from the committed offsets.
Nothing is lost or doubled: the database writes are idempotent and committed before the offsets.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition

from shopfloor.settings import KafkaSettings

log = logging.getLogger(__name__)

STALLED_EXIT = 75  # EX_TEMPFAIL: the supervisor restarts the worker


@dataclass
class Progress:
    """Committed offsets against end offsets for one consumer group."""

    lag: int
    committed: dict[tuple[str, int], int] = field(default_factory=dict)


def read_progress(kafka: KafkaSettings, group_id: str, topics: Sequence[str], timeout: float = 5.0) -> Progress:
    client = Consumer({"bootstrap.servers": kafka.bootstrap_servers, "group.id": group_id, "enable.auto.commit": False})
    try:
        metadata = client.list_topics(timeout=timeout)
        parts = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in metadata.topics
            for p in metadata.topics[topic].partitions
        ]
        committed = client.committed(parts, timeout=timeout) if parts else []
        lag = 0
        offsets: dict[tuple[str, int], int] = {}
        for tp in committed:
            _low, high = client.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=timeout)
            start = tp.offset if tp.offset >= 0 else _low
            offsets[(tp.topic, tp.partition)] = tp.offset
            lag += max(high - start, 0)
        return Progress(lag, offsets)
    finally:
        client.close()


class StallDetector:
    """Says "stalled" when lag stays above zero with unchanged committed offsets for ``stall_s``."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._last: dict[tuple[str, int], int] | None = None
        self._since: float | None = None

    def observe(self, progress: Progress, now: float) -> bool:
        # The first look counts as "not moved": the clock starts at the first observation.
        moved = self._last is not None and progress.committed != self._last
        self._last = dict(progress.committed)
        if progress.lag == 0 or moved:
            self._since = None
            return False
        self._since = self._since if self._since is not None else now
        return now - self._since >= self.stall_s


def supervise(command: Sequence[str], backoff_s: float, max_restarts: int) -> int:
    """Run ``command`` until it exits 0; restart it otherwise, at most ``max_restarts`` times in a row.

    SIGTERM or SIGINT to the supervisor is passed to the worker (faust stops cleanly, committing what
    it has written) and ends supervision with exit code 0.
    """
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    restarts = 0
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(list(command))
        code = child.wait()
        if stopping or code == 0:
            return 0
        # A worker that ran a while and then failed starts a new count: only crash loops give up.
        restarts = 1 if time.monotonic() - started > 300 else restarts + 1
        if restarts > max_restarts:
            log.error("worker failed %d times in a row (last exit %d); giving up", restarts, code)
            return code if code > 0 else 1
        log.warning("worker exited with %d; restart %d in %.1f s", code, restarts, backoff_s)
        print(f"[supervisor] worker exited with {code}; restarting", file=sys.stderr, flush=True)
        time.sleep(backoff_s)
    return 0
