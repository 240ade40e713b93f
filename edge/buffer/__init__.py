"""Store-and-forward queue of an edge agent: a bounded SQLite outbox that survives kill -9."""

from edge.buffer.queue import MessageClass, OutboxQueue, OutboxRow, QueueFullError, QueueStats

__all__ = ["MessageClass", "OutboxQueue", "OutboxRow", "QueueFullError", "QueueStats"]
