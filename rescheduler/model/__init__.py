"""The rescheduler's scheduling model: problem, CP-SAT solver, schedule checker, metrics.

Public API (stable; the rescheduler service builds on it):
- `Problem`, `Job`, `Operation`, `Placement`, `ScheduledOp`, `Unavailability`, `RushReserve`, `OpKey`
- `solve(problem, params=SolveParams(...), on_solution=callable) -> Solution` (raises `NoSolutionError`)
- `Solution`, `SolveStatus`, `JobResult`, `metrics(problem, solution) -> Metrics`
- `check(problem, solution) -> list[Violation]` (`ViolationKind`)
"""

from rescheduler.model.checker import Violation, ViolationKind, check
from rescheduler.model.cpsat import OnSolution, SolveParams, solve
from rescheduler.model.problem import (
    Job,
    Operation,
    OpKey,
    Placement,
    Problem,
    RushReserve,
    ScheduledOp,
    Unavailability,
)
from rescheduler.model.solution import (
    JobResult,
    Metrics,
    NoSolutionError,
    Solution,
    SolveStatus,
    build_solution,
    metrics,
)

__all__ = [
    "Job",
    "JobResult",
    "Metrics",
    "NoSolutionError",
    "OnSolution",
    "OpKey",
    "Operation",
    "Placement",
    "Problem",
    "RushReserve",
    "ScheduledOp",
    "Solution",
    "SolveParams",
    "SolveStatus",
    "Unavailability",
    "Violation",
    "ViolationKind",
    "build_solution",
    "check",
    "metrics",
    "solve",
]
