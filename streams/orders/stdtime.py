"""Standard times learned from actual durations: one sample per finished operation, a robust estimate.

A sample is the operation's active time (``wo.started`` to ``wo.finished``, paused time excluded,
see :mod:`streams.orders.progress`) less the routing's setup, divided by the pieces made (good +
scrap), per product, operation and workcenter. The estimate is the median of the newest samples
after rejecting outliers by the median absolute deviation (MAD): a sample further than
``MAD_CUTOFF`` scaled MADs from the median is dropped (a scan gun left running over the weekend, a
finish scanned a day late). Both are rewritten from the samples on every change, so redelivery and
restarts give the same numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from shopfloor.db.pool import Connection

# 1.4826 x MAD estimates the standard deviation of normally distributed samples.
MAD_SCALE: Final = 1.4826
MAD_CUTOFF: Final = 3.0
# Only the newest samples count: the process may have changed (new tooling, a faster die).
MAX_SAMPLES: Final = 50


@dataclass(frozen=True, slots=True)
class Estimate:
    unit_min: float
    samples: int  # samples kept
    rejected: int
    mad_min: float


def robust_estimate(values: Sequence[float]) -> Estimate:
    """Median after MAD outlier rejection; ``values`` must not be empty."""
    if not values:
        raise ValueError("no samples")
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    if mad == 0:
        # Half or more of the samples agree exactly: anything else is an outlier only if far off.
        tolerance = abs(median) * 1e-9
        kept = [v for v in values if abs(v - median) <= tolerance] if len(values) >= 3 else list(values)
    else:
        kept = [v for v in values if abs(v - median) <= MAD_CUTOFF * MAD_SCALE * mad]
    return Estimate(statistics.median(kept), len(kept), len(values) - len(kept), mad)


_SAMPLES_UPSERT = """
INSERT INTO standard_time_sample (work_order_id, seq, product_id, workcenter_id, quantity, active_min, unit_min,
                                  finished_at)
SELECT p.work_order_id, p.seq, w.product_id, o.workcenter_id, p.good + p.scrap, p.active_s / 60.0,
       GREATEST(p.active_s / 60.0 - o.setup_min, 0) / (p.good + p.scrap), p.actual_finish
FROM operation_progress p
JOIN operation o USING (work_order_id, seq)
JOIN work_order w USING (work_order_id)
WHERE p.work_order_id = ANY(%(wos)s) AND p.status = 'done' AND p.good + p.scrap > 0
  AND p.actual_finish IS NOT NULL AND p.active_s > 0
ON CONFLICT (work_order_id, seq) DO UPDATE SET
    product_id = EXCLUDED.product_id, workcenter_id = EXCLUDED.workcenter_id, quantity = EXCLUDED.quantity,
    active_min = EXCLUDED.active_min, unit_min = EXCLUDED.unit_min, finished_at = EXCLUDED.finished_at
RETURNING product_id, seq, workcenter_id
"""


def refresh_standard_times(conn: Connection, work_orders: Sequence[str]) -> int:
    """Record the samples of these work orders' finished operations and re-estimate their keys."""
    keys = sorted(set(conn.execute(_SAMPLES_UPSERT, {"wos": list(work_orders)}).fetchall()))
    for product_id, seq, workcenter_id in keys:
        rows = conn.execute(
            "SELECT unit_min FROM standard_time_sample WHERE product_id = %s AND seq = %s AND workcenter_id = %s "
            "ORDER BY finished_at DESC LIMIT %s",
            (product_id, seq, workcenter_id, MAX_SAMPLES),
        ).fetchall()
        estimate = robust_estimate([float(r[0]) for r in rows])
        setup = conn.execute(
            "SELECT setup_min FROM operation o JOIN work_order w USING (work_order_id) "
            "WHERE w.product_id = %s AND o.seq = %s AND o.workcenter_id = %s LIMIT 1",
            (product_id, seq, workcenter_id),
        ).fetchone()
        conn.execute(
            """
            INSERT INTO standard_time (product_id, operation_seq, workcenter_id, unit_min, setup_min, samples,
                                       method, mad_min, rejected, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, 'median_mad', %s, %s, now())
            ON CONFLICT (product_id, operation_seq, workcenter_id) DO UPDATE SET
                unit_min = EXCLUDED.unit_min, setup_min = EXCLUDED.setup_min, samples = EXCLUDED.samples,
                method = EXCLUDED.method, mad_min = EXCLUDED.mad_min, rejected = EXCLUDED.rejected,
                updated_at = now()
            """,
            (
                product_id,
                seq,
                workcenter_id,
                estimate.unit_min,
                float(setup[0]) if setup else 0.0,
                estimate.samples,
                estimate.mad_min,
                estimate.rejected,
            ),
        )
    return len(keys)
