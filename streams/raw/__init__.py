"""The raw sink: telemetry and MES events into the raw tables and machine_current_state."""

from streams.raw.current_state import StateUpdate, state_updates, write_current_state
from streams.raw.sink import RawSink, parse_messages, write_batch

__all__ = ["RawSink", "StateUpdate", "parse_messages", "state_updates", "write_batch", "write_current_state"]
