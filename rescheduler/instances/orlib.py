"""Parsers for the classic benchmark formats (described in `data/README.md`, shipped beside them).

- jssp, OR-Library: `#` comment lines; `<jobs> <machines>`; one line per job of `<machine> <duration>`
  pairs in operation order, machines numbered from 0.
- fjsp, Brandimarte: `<jobs> <machines> [avg]`; one line per job: `<operations>`, then per operation
  `<k>` and k pairs `<machine> <duration>`, machines numbered from 1.

Machines become "M<number as in the file>", jobs "J<index from 0>", operation seqs count from 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rescheduler.model.problem import Job, Operation, Problem


class InstanceFormatError(ValueError):
    pass


def _numbers(text: str) -> list[list[int]]:
    rows = []
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            try:
                rows.append([int(tok) for tok in stripped.split()])
            except ValueError as exc:
                raise InstanceFormatError(f"not an integer row: {line!r}") from exc
    if not rows:
        raise InstanceFormatError("empty instance")
    return rows


def _header(rows: list[list[int]]) -> tuple[int, int]:
    if len(rows[0]) < 2:
        raise InstanceFormatError(f"header needs <jobs> <machines>, got {rows[0]}")
    n_jobs, n_machines = rows[0][0], rows[0][1]
    if len(rows) - 1 < n_jobs:
        raise InstanceFormatError(f"{n_jobs} jobs announced, {len(rows) - 1} job lines")
    return n_jobs, n_machines


def parse_jssp(text: str, name: str = "") -> Problem:
    rows = _numbers(text)
    n_jobs, n_machines = _header(rows)
    jobs = []
    for j, row in enumerate(rows[1 : n_jobs + 1]):
        if len(row) % 2:
            raise InstanceFormatError(f"job {j}: odd number of values")
        ops = []
        for seq in range(len(row) // 2):
            machine, dur = row[2 * seq], row[2 * seq + 1]
            if not 0 <= machine < n_machines:
                raise InstanceFormatError(f"job {j}: machine {machine} out of range 0..{n_machines - 1}")
            ops.append(Operation(seq=seq, durations={f"M{machine}": dur}))
        jobs.append(Job(id=f"J{j}", operations=tuple(ops)))
    return Problem(name=name, machines=tuple(f"M{m}" for m in range(n_machines)), jobs=tuple(jobs))


def parse_fjsp(text: str, name: str = "") -> Problem:
    rows = _numbers(text)
    n_jobs, n_machines = _header(rows)
    jobs = []
    for j, row in enumerate(rows[1 : n_jobs + 1]):
        pos, ops = 1, []
        for seq in range(row[0]):
            k = row[pos]
            pairs = row[pos + 1 : pos + 1 + 2 * k]
            if len(pairs) != 2 * k:
                raise InstanceFormatError(f"job {j} op {seq}: truncated machine list")
            durations: dict[str, int] = {}
            for machine, dur in zip(pairs[::2], pairs[1::2], strict=True):
                if not 1 <= machine <= n_machines:
                    raise InstanceFormatError(f"job {j}: machine {machine} out of range 1..{n_machines}")
                durations[f"M{machine}"] = dur
            ops.append(Operation(seq=seq, durations=durations))
            pos += 1 + 2 * k
        if pos != len(row):
            raise InstanceFormatError(f"job {j}: {len(row) - pos} trailing values")
        jobs.append(Job(id=f"J{j}", operations=tuple(ops)))
    return Problem(name=name, machines=tuple(f"M{m}" for m in range(1, n_machines + 1)), jobs=tuple(jobs))


def load(path: Path, fmt: Literal["jssp", "fjsp"]) -> Problem:
    parse = parse_jssp if fmt == "jssp" else parse_fjsp
    return parse(path.read_text(), name=path.stem)
