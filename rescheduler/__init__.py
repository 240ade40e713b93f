"""shopfloor rescheduler."""
