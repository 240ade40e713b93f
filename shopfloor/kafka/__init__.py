"""Kafka helpers: topic administration, an idempotent producer, and an at-least-once consumer."""
