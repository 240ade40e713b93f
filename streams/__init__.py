"""shopfloor streams: the stream processors (raw sink, utilization and OEE, roll-ups; orders in streams.orders)."""

__all__: list[str] = []
