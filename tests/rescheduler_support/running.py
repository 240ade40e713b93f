"""Running the rescheduler service in a thread for a test, and waiting on what it does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rescheduler.service import ReschedulerService


@contextmanager
def running(service: ReschedulerService) -> Iterator[ReschedulerService]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            service.run(stop)
        except BaseException as exc:  # surfaced in the test below
            errors.append(exc)

    thread = threading.Thread(target=target, name="rescheduler-under-test")
    thread.start()
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive(), "service did not stop"
    if errors:
        raise errors[0]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 45.0, every_s: float = 0.2) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every_s)
    raise AssertionError(f"timed out waiting for {what}")
