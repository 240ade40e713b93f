"""Prometheus metrics of the rescheduler (served on ``/metrics`` of its HTTP API)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REPLANS = Counter("shopfloor_rescheduler_replans_total", "Plans made (stored; see plan publish failures)", ["status"])
REPLAN_FAILURES = Counter("shopfloor_rescheduler_replan_failures_total", "Replans that produced no plan")
PLANS_REJECTED = Counter("shopfloor_rescheduler_plans_rejected_total", "Plans the checker rejected (never stored)")
SOLVE_SECONDS = Histogram(
    "shopfloor_rescheduler_solve_seconds",
    "Solver wall time per replan",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
REPLAN_SECONDS = Histogram(
    "shopfloor_rescheduler_replan_seconds",
    "Whole replan: read, build, solve, write",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
TRIGGERS = Counter("shopfloor_rescheduler_triggers_total", "Events that asked for a replan")
ALERTS_RAISED = Counter("shopfloor_rescheduler_alerts_raised_total", "Alerts raised", ["kind"])
ALERTS_CLEARED = Counter("shopfloor_rescheduler_alerts_cleared_total", "Alerts cleared", ["kind"])
PLAN_PUBLISH_FAILURES = Counter(
    "shopfloor_rescheduler_plan_publish_failures_total", "Failed attempts to publish schedule.published"
)
ALERT_DELIVERY_FAILURES = Counter("shopfloor_rescheduler_alert_delivery_failures_total", "Failed delivery attempts")
ALERT_DELIVERIES_FAILING = Gauge(
    "shopfloor_rescheduler_alert_deliveries_failing",
    "Alert deliveries still undelivered after alert_failing_after attempts (retried until delivered)",
)
LATE_ORDERS = Gauge("shopfloor_rescheduler_late_orders", "Orders late in the current plan")
PLAN_VERSION = Gauge("shopfloor_rescheduler_plan_version", "Version of the current plan")
