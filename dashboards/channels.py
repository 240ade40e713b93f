"""What each live channel polls: the sections of a page, as JSON text serialized once for all clients."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from dashboards import queries
from dashboards.live import Compute
from dashboards.settings import DashboardSettings
from shopfloor.db.pool import Connection
from shopfloor.plant import Plant

MACHINE_PREFIX = "machine:"


def sections_of(model: BaseModel) -> dict[str, str]:
    """Each top-level field of ``model`` as its own compact JSON section."""
    dumped = model.model_dump(mode="json")
    return {name: json.dumps(value, separators=(",", ":"), ensure_ascii=False) for name, value in dumped.items()}


def factory(plant: Plant, settings: DashboardSettings) -> Callable[[str], Compute | None]:
    machines = {m.id for m in plant.all_machines()}

    def board(conn: Connection, now: datetime) -> dict[str, str]:
        return sections_of(queries.board_snapshot(conn, plant, now, settings.load_days))

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
