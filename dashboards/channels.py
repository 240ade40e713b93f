"""What each live channel polls: the sections of a page, as JSON text serialized once for all clients."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

from dashboards import queries
from dashboards.live import Compute
from dashboards.queries import board as board_q
from dashboards.settings import DashboardSettings
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

MACHINE_PREFIX = "machine:"


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def factory(plant: Plant, settings: DashboardSettings) -> Callable[[str], Compute | None]:
    machines = {m.id for m in plant.all_machines()}

    # Tiles and the lists beside them are polled every time (a FAULT must show within a second or two);
    # the charts over minutes, shifts and days are refreshed every `slow_refresh_s` and re-sent as they were
    # in between (unchanged text: the hub publishes nothing for them).
    slow: dict[str, str] = {}
    slow_at = [float("-inf")]

    def board(conn: Connection, now: datetime) -> dict[str, str]:
        fast = {
            "tiles": _json([t.model_dump(mode="json") for t in board_q.tiles(conn, plant)]),
            "bottlenecks": _json([b.model_dump(mode="json") for b in board_q.bottlenecks(conn)]),
            "late": _json([o.model_dump(mode="json") for o in board_q.late_orders(conn, plant)]),
            "alerts": _json([a.model_dump(mode="json") for a in board_q.alerts(conn)]),
        }
        if time.monotonic() - slow_at[0] >= settings.slow_refresh_s:
            slow.update(
                heatmap=board_q.heatmap(conn, plant, now).model_dump_json(),
                oee=board_q.oee(conn, plant, now).model_dump_json(),
                load=board_q.load(conn, plant, now, settings.load_days).model_dump_json(),
                pool=board_q.pool(conn, plant).model_dump_json(),
                on_time=_json([k.model_dump(mode="json") for k in board_q.on_time(conn, plant, now)]),
                pareto=board_q.pareto(conn, plant, now).model_dump_json(),
            )
            slow_at[0] = time.monotonic()
        return fast | slow

    def gantt(conn: Connection, now: datetime) -> dict[str, str]:
        return {"gantt": queries.gantt(conn, plant).model_dump_json()}

    def orders(conn: Connection, now: datetime) -> dict[str, str]:
        return {"orders": json.dumps({"digest": queries.digest(conn, plant)})}

    def machine(machine_id: str) -> Compute:
        def compute(conn: Connection, now: datetime) -> dict[str, str]:
            return {"machine": queries.machine_detail(conn, plant, machine_id, now).model_dump_json()}

        return compute

    def make(key: str) -> Compute | None:
        if key == "board":
            return board
        if key == "gantt":
            return gantt
        if key == "orders":
            return orders
        if key.startswith(MACHINE_PREFIX) and key[len(MACHINE_PREFIX) :] in machines:
            return machine(key[len(MACHINE_PREFIX) :])
        return None

    return make
