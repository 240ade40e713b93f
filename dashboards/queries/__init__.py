"""Every SQL query of the dashboards, by page. Tables that stream processors will own are read here only."""

from dashboards.queries.board import board_snapshot
from dashboards.queries.machine import machine_detail
from dashboards.queries.orders import PoolFilter, digest, order_detail, pool
from dashboards.queries.plan import gantt
from dashboards.queries.status import data_as_of

__all__ = ["PoolFilter", "board_snapshot", "data_as_of", "digest", "gantt", "machine_detail", "order_detail", "pool"]
