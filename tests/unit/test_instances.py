"""Benchmark-format parsers on the real files, and the seeded plant order-book generator."""

from __future__ import annotations

import pytest

from rescheduler.instances import DATA_DIR, load, parse_fjsp, parse_jssp
from rescheduler.instances.orderbook import BOTTLENECK, generate, machines_of
from rescheduler.instances.orlib import InstanceFormatError
from rescheduler.model import Job

pytestmark = pytest.mark.unit

BENCHMARKS = DATA_DIR


def test_ft06_is_six_jobs_on_six_machines() -> None:
    problem = load(BENCHMARKS / "jssp" / "ft06.txt", "jssp")
    assert problem.name == "ft06"
    assert len(problem.jobs) == 6
    assert problem.machines == tuple(f"M{i}" for i in range(6))
    assert all(len(job.operations) == 6 for job in problem.jobs)
    # first line of the file: "2 1 0 3 1 6 3 7 5 3 4 6"
    first = problem.jobs[0].operations
    assert [(next(iter(op.durations.items()))) for op in first[:3]] == [("M2", 1), ("M0", 3), ("M1", 6)]


def test_mk01_is_flexible_with_machines_from_one() -> None:
    problem = load(BENCHMARKS / "fjsp" / "mk01.fjs", "fjsp")
    assert len(problem.jobs) == 10
    assert problem.machines == tuple(f"M{i}" for i in range(1, 7))
    assert problem.op_count() == 55
    # job 0 starts "6 2 1 5 3 4 ...": 6 operations, the first on M1 (5) or M3 (4)
    assert len(problem.jobs[0].operations) == 6
    assert problem.jobs[0].operations[0].durations == {"M1": 5, "M3": 4}


def test_comments_and_blank_lines_are_ignored() -> None:
    problem = parse_jssp("# a comment\n\n2 2\n0 3 1 2   # trailing\n1 4 0 1\n")
    assert [op.durations for op in problem.jobs[1].operations] == [{"M1": 4}, {"M0": 1}]


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_jssp, "2 2\n0 3 1 2\n"),  # a job line missing
        (parse_jssp, "1 2\n0 3 5 2\n"),  # machine out of range
        (parse_jssp, "1 2\n0 3 1\n"),  # odd pair count
        (parse_fjsp, "1 2\n1 2 1 5 2\n"),  # truncated machine list
        (parse_fjsp, "1 2\n1 1 0 5\n"),  # machine 0 in a 1-based format
        (parse_fjsp, "1 2 x\n"),  # not a number
    ],
)
def test_malformed_instances_are_rejected(parse: object, text: str) -> None:
    with pytest.raises(InstanceFormatError):
        parse(text)  # type: ignore[operator]


@pytest.mark.parametrize("n_ops", [100, 257, 400])
def test_order_book_has_exactly_the_requested_operations(n_ops: int) -> None:
    problem = generate(n_ops, seed=3)
    assert problem.op_count() == n_ops
    assert {r.workcenter for r in problem.reserves} == {BOTTLENECK}


def test_order_book_is_plant_like_and_seeded() -> None:
    problem = generate(200, seed=7)
    assert problem == generate(200, seed=7)
    assert problem != generate(200, seed=8)
    jobs: tuple[Job, ...] = problem.jobs
    assert {j.weight for j in jobs} <= set(range(1, 6)) and len({j.weight for j in jobs}) > 2
    assert any(j.rush for j in jobs) and not all(j.rush for j in jobs)
    assert all(j.rush for j in jobs if j.reserve_eligible)
    heading = set(machines_of(BOTTLENECK))
    assert all(set(j.operations[1].durations) <= heading for j in jobs if len(j.operations) > 1)
    assert all(3 <= len(j.operations) <= 6 for j in jobs[:-1])  # the last job may be cut to fit n_ops
