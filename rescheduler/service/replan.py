"""One replan: read the state, build and solve the problem, store the plan with its alerts and its pending
``schedule.published`` event (what changed)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rescheduler.alerts.decide import AlertDecision, OrderProjection, decide_late, decide_material
from rescheduler.alerts.dispatch import channels_for
from rescheduler.alerts.store import apply_decision, material_baselines, open_alerts, store_material_baselines
from rescheduler.dispatch import best_rule_plan, repair
from rescheduler.model import NoSolutionError, Problem, Solution, SolveParams, SolveStatus, calendar, check, solve
from rescheduler.service import metrics
from rescheduler.service.build import PlanInput, at, build_input, to_planned
from rescheduler.service.diff import plan_diff
from rescheduler.service.outcome import material_needs, plant_view, project_orders
from rescheduler.service.plan import PlannedOp
from rescheduler.service.plan_store import PlanHeader, write_plan
from rescheduler.service.publication import record_publication
from rescheduler.service.snapshot import read_snapshot
from rescheduler.settings import ReschedulerSettings
from shopfloor.db.pool import Connection
from shopfloor.events import SchedulePublishedEvent, SchedulePublishedPayload, utcnow
from shopfloor.plant import Plant

log = logging.getLogger(__name__)


class PlanRejectedError(RuntimeError):
    """The plan failed the independent checker: it is neither stored nor published (the previous plan
    stays current)."""


def verify(problem: Problem, solution: Solution) -> None:
    """Run `rescheduler.model.check` on a plan about to be stored; raise `PlanRejectedError` if it fails."""
    violations = check(problem, solution)
    if violations:
        metrics.PLANS_REJECTED.inc()
        shown = "; ".join(v.detail for v in violations[:5])
        log.error("plan rejected by the checker (%d violations): %s", len(violations), shown)
        raise PlanRejectedError(f"{len(violations)} violations: {shown}")


_EVENT_NAMESPACE = uuid.UUID("a3c1f0d2-6f7e-4e0b-9b61-2f5d8c4e7b90")
# The event must stay well under the bus's 64 KiB limit; the full diff is in the database.
MAX_MOVES_IN_EVENT = 150


@dataclass(frozen=True)
class ReplanResult:
    plan_id: str
    version: int
    plan_input: PlanInput
    ops: list[PlannedOp]
    projections: list[OrderProjection]
    alerts: AlertDecision
    event: SchedulePublishedEvent
    solve_s: float
    # Learned standard times the plan used (capable-to-promise uses them too).
    standard_times: dict[tuple[str, int], tuple[float, float]]


class Replanner:
    def __init__(self, plant: Plant, settings: ReschedulerSettings) -> None:
        self.plant = plant
        self.settings = settings
        self._seq = int(utcnow().timestamp() * 1000)

    def replan(self, conn: Connection, trigger: str, now: datetime | None = None) -> ReplanResult:
        s = self.settings
        now = now or utcnow()
        snapshot = read_snapshot(conn, s.site_id, s.min_learned_samples)
        plan_input = build_input(
            self.plant,
            snapshot,
            now,
            horizon_days=s.horizon_days,
            repair_h=s.repair_h,
            freeze_window_min=s.freeze_window_min,
        )
        solution = self._solve(plan_input)
        verify(plan_input.problem, solution)
        for wo_id, reason in sorted(plan_input.unplanned.items()):
            log.warning("work order %s cannot be planned: %s", wo_id, reason)
        ops = to_planned(plan_input, solution.ops)
        view = plant_view(self.plant, plan_input, {m: st for m, (st, _) in snapshot.down.items()}, snapshot.bottlenecks)
        late_rule = self.plant.rules.late_alert
        min_slip, clear_slip = timedelta(hours=late_rule.min_slip_hours), timedelta(hours=late_rule.clear_hours)
        projections = project_orders(ops, plan_input.work_orders, view, now, min_slip, clear_slip)
        previous_ops = list(snapshot.current.ops) if snapshot.current else []
        moves = plan_diff(previous_ops, ops)
        needs_before = material_needs(previous_ops, plan_input.work_orders)
        needs_now = material_needs(ops, plan_input.work_orders)
        header = PlanHeader(
            site_id=s.site_id,
            trigger=trigger,
            status=solution.status.value,
            weighted_tardiness=float(solution.total_weighted_tardiness),
            makespan_end=at(plan_input.origin, solution.makespan) if solution.ops else None,
            solve_s=solution.wall_s,
            created_at=now,
        )
        due = {wo_id: wo.due for wo_id, wo in plan_input.work_orders.items()}
        with conn.transaction():
            plan_id, version = write_plan(conn, header, ops, projections, due, s.keep_plans)
            _write_extras(conn, plan_id, plan_input, solution)
            known = open_alerts(conn)
            late = decide_late(projections, known, plan_id)
            # Work orders purchasing has no baseline for yet (e.g. plans made before baselines were kept)
            # start from the previous plan's need.
            baseline = {n.work_order_id: n.need for n in needs_before} | material_baselines(conn)
            material, baselines = decide_material(
                baseline, needs_now, known, timedelta(hours=s.material_earlier_min_h), plan_id
            )
            store_material_baselines(conn, baselines, needs_now, plan_id)
            decision = AlertDecision(late.raise_ + material.raise_, late.clear + material.clear)
            apply_decision(conn, decision, plan_id, now, channels_for(s))
            self._seq += 1
            event = SchedulePublishedEvent(
                event_id=uuid.uuid5(_EVENT_NAMESPACE, plan_id),
                source="rescheduler",
                seq=self._seq,
                ts=now,
                payload=SchedulePublishedPayload(
                    site_id=s.site_id,
                    plan_id=plan_id,
                    version=version,
                    trigger=trigger[:256],
                    status="OPTIMAL" if solution.status is SolveStatus.OPTIMAL else "FEASIBLE",
                    operations=len(ops),
                    weighted_tardiness_min=float(solution.total_weighted_tardiness),
                    makespan_end=header.makespan_end,
                    late_orders=[p.order_id for p in projections if p.late],
                    moved=moves[:MAX_MOVES_IN_EVENT],
                    solve_s=solution.wall_s,
                ),
            )
            # The event is pending in the plan's own transaction: published after the commit, never lost.
            record_publication(conn, event)
        log.info(
            "plan %s: %d operations, %d late orders, %d moved, %d alerts raised, %d cleared, solved in %.1f s",
            plan_id,
            len(ops),
            len(event.payload.late_orders),
            len(moves),
            len(decision.raise_),
            len(decision.clear),
            solution.wall_s,
        )
        return ReplanResult(
            plan_id, version, plan_input, ops, projections, decision, event, solution.wall_s, snapshot.standard_times
        )

    def _solve(self, plan_input: PlanInput) -> Solution:
        """The plan, checked: a CP-SAT plan the checker rejects falls back to the rule plans."""
        solution = self._search(plan_input)
        if solution.solver == "cp-sat" and check(plan_input.problem, solution):
            log.error("CP-SAT plan failed the checker; falling back to dispatch rules")
            metrics.PLANS_REJECTED.inc()
            return self._fallback(plan_input.problem)
        return solution

    def _search(self, plan_input: PlanInput) -> Solution:
        """CP-SAT within the time limit; if it finds nothing in time, the best dispatch-rule plan.

        A valid plan now beats an optimal one later: the floor needs an answer to the breakdown. The
        rule plans honour the same constraints (the model's checker accepts them).
        """
        problem = plan_input.problem
        if not problem.jobs:
            return Solution(solver="none", status=SolveStatus.OPTIMAL, ops=())
        params = SolveParams(time_limit_s=self.settings.time_limit_s, num_workers=self.settings.num_workers)
        try:
            return solve(problem, params)
        except NoSolutionError as exc:
            log.warning("CP-SAT found no plan (%s); falling back to dispatch rules", exc)
        return self._fallback(problem)

    @staticmethod
    def _fallback(problem: Problem) -> Solution:
        fallback = None
        if problem.previous:
            try:
                fallback = repair(problem)
            except NoSolutionError:
                fallback = None
        fallback = fallback or best_rule_plan(problem)
        if fallback is None:
            raise NoSolutionError("INFEASIBLE", "neither CP-SAT nor any dispatch rule found a plan")
        return fallback


def _write_extras(conn: Connection, plan_id: str, plan_input: PlanInput, solution: Solution) -> None:
    """The plan's reserve left per bottleneck day and the work orders it could not include."""
    origin = plan_input.origin
    problem = plan_input.problem
    rows = [
        (plan_id, wc, at(origin, calendar.day_window(problem, day)[0]), held, left)
        for wc, day, held, left in calendar.reserve_left(problem, solution.ops)
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO plan_reserve_day (plan_id, workcenter_id, day_start, reserve_min, left_min)"
            " VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
        cur.executemany(
            "INSERT INTO plan_unplanned (plan_id, work_order_id, reason) VALUES (%s, %s, %s)",
            [(plan_id, wo, reason) for wo, reason in sorted(plan_input.unplanned.items())],
        )
