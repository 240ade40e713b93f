"""Hourly, shift and day roll-ups of the utilization minutes (migration 021) and the calendar they use."""

from streams.rollups.calendar import DbPath, db_path, sync_calendar

__all__ = ["DbPath", "db_path", "sync_calendar"]
