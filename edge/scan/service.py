"""Scans to ``wo.*`` events: double-scan suppression, work-order checks and local state transitions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final

from edge.agent import EdgeAgent, QueueFullError
from edge.scan.directory import CLOSED, DirectoryUnavailableError, WorkOrderDirectory, WorkOrderStatus
from edge.scan.grammar import scan_from_request
from edge.scan.model import RejectCode, Scan, ScanAction, ScanRejected, ScanRequest, ScanResult
from edge.scan.state import OperationState, OperationStates
from shopfloor.events import (
    EventBase,
    WoFinishedEvent,
    WoFinishedPayload,
    WoPausedEvent,
    WoPausedPayload,
    WoReportedEvent,
    WoReportedPayload,
    WoResumedEvent,
    WoResumedPayload,
    WoStartedEvent,
    WoStartedPayload,
)

# What the directory's work-order status says about an operation this agent has not seen yet.
_FROM_DIRECTORY: Final = {
    WorkOrderStatus.RELEASED: OperationState.NOT_STARTED,
    WorkOrderStatus.STARTED: OperationState.RUNNING,
    WorkOrderStatus.PAUSED: OperationState.PAUSED,
}
_ALLOWED_FROM: Final = {
    ScanAction.START: frozenset({OperationState.NOT_STARTED}),
    ScanAction.REPORT: frozenset({OperationState.RUNNING, OperationState.PAUSED}),
    ScanAction.PAUSE: frozenset({OperationState.RUNNING}),
    ScanAction.RESUME: frozenset({OperationState.PAUSED}),
    ScanAction.FINISH: frozenset({OperationState.RUNNING, OperationState.PAUSED}),
}
_NEXT: Final = {
    ScanAction.START: OperationState.RUNNING,
    ScanAction.PAUSE: OperationState.PAUSED,
    ScanAction.RESUME: OperationState.RUNNING,
    ScanAction.FINISH: OperationState.FINISHED,
}


class ScanService:
    """Thread-safe; one per scan agent. ``clock`` is monotonic seconds (injectable for tests);
    ``states`` where operations stand (in memory unless given one with a file)."""

    def __init__(
        self,
        agent: EdgeAgent,
        directory: WorkOrderDirectory,
        *,
        debounce_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        states: OperationStates | None = None,
    ) -> None:
        self.agent = agent
        self.directory = directory
        self.debounce_s = debounce_s
        self._clock = clock
        self._lock = threading.Lock()
        self.states = states if states is not None else OperationStates()
        self._recent: dict[tuple[object, ...], tuple[float, ScanResult]] = {}
        # Last status the directory gave per work order: scans of orders already seen go on while
        # the directory (the database) is down; orders never seen are refused until it is back.
        self._known: dict[str, WorkOrderStatus] = {}

    def handle(self, request: ScanRequest) -> ScanResult:
        return self.handle_scan(scan_from_request(request))

    def handle_scan(self, scan: Scan) -> ScanResult:
        """Publish the scan's events, or raise :class:`ScanRejected` saying why not."""
        with self._lock:
            now = self._clock()
            self._recent = {k: v for k, v in self._recent.items() if now - v[0] <= self.debounce_s}
            earlier = self._recent.get(scan.dedup_key)
            if earlier is not None:
                return earlier[1].model_copy(update={"duplicate": True})
            state = self._current_state(scan)
            if state not in _ALLOWED_FROM[scan.action]:
                raise ScanRejected(RejectCode.INVALID_TRANSITION, _transition_reason(scan, state))
            events = _events_for(self.agent, scan)
            cell = scan.machine_id or scan.terminal_id
            try:
                self.agent.publish_many([(event, cell) for event in events])
            except QueueFullError as exc:
                raise ScanRejected(RejectCode.QUEUE_FULL, f"scan not stored, try again: {exc}") from None
            new_state = _NEXT.get(scan.action, state)
            self.states.set(scan.work_order_id, scan.operation_seq, new_state)
            result = ScanResult(
                work_order_id=scan.work_order_id,
                operation_seq=scan.operation_seq,
                action=scan.action,
                state=new_state.value,
                event_ids=[str(event.event_id) for event in events],
                event_types=[str(getattr(event, "type")) for event in events],  # noqa: B009
            )
            self._recent[scan.dedup_key] = (now, result)
            return result

    def state_of(self, work_order_id: str, operation_seq: int = 1) -> OperationState | None:
        return self.states.get(work_order_id, operation_seq)

    def _current_state(self, scan: Scan) -> OperationState:
        try:
            status = self.directory.status(scan.work_order_id)
        except DirectoryUnavailableError as exc:
            status = self._known.get(scan.work_order_id)
            if status is None:
                raise ScanRejected(RejectCode.DIRECTORY_UNAVAILABLE, f"cannot check work orders now: {exc}") from None
        else:
            if status is not None:
                self._known[scan.work_order_id] = status
        if status is None:
            raise ScanRejected(RejectCode.UNKNOWN_WORK_ORDER, f"work order {scan.work_order_id} is not known")
        if status in CLOSED:
            raise ScanRejected(RejectCode.WORK_ORDER_CLOSED, f"work order {scan.work_order_id} is {status.value}")
        local = self.states.get(scan.work_order_id, scan.operation_seq)
        return local if local is not None else _FROM_DIRECTORY[status]


def _transition_reason(scan: Scan, state: OperationState) -> str:
    what = f"work order {scan.work_order_id} operation {scan.operation_seq}"
    hints = {
        OperationState.NOT_STARTED: "is not started: scan ACT:START first",
        OperationState.RUNNING: "is already running",
        OperationState.PAUSED: "is paused: scan ACT:RESUME first",
        OperationState.FINISHED: "is finished",
    }
    return f"cannot {scan.action.value}: {what} {hints[state]}"


def _events_for(agent: EdgeAgent, scan: Scan) -> list[EventBase]:
    ref = {
        "work_order_id": scan.work_order_id,
        "operation_seq": scan.operation_seq,
        "machine_id": scan.machine_id,
        "operator_id": scan.operator_id,
    }
    ts = scan.scanned_at
    events: list[EventBase] = []
    if scan.good is not None or scan.scrap is not None:  # a report, or quantities given with finish
        payload = WoReportedPayload(**ref, good=scan.good or 0, scrap=scan.scrap or 0)
        events.append(agent.new_event(WoReportedEvent, payload, ts))
    if scan.action is ScanAction.START:
        events.append(agent.new_event(WoStartedEvent, WoStartedPayload(**ref), ts))
    elif scan.action is ScanAction.PAUSE:
        assert scan.reason is not None  # checked by the grammar
        events.append(agent.new_event(WoPausedEvent, WoPausedPayload(**ref, reason=scan.reason, note=scan.note), ts))
    elif scan.action is ScanAction.RESUME:
        events.append(agent.new_event(WoResumedEvent, WoResumedPayload(**ref), ts))
    elif scan.action is ScanAction.FINISH:
        events.append(agent.new_event(WoFinishedEvent, WoFinishedPayload(**ref), ts))
    return events
