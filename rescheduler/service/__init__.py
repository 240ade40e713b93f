"""The rescheduler service: triggers from Kafka, replans from the database, plans, diffs and alerts."""
