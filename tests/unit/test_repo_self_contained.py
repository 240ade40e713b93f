"""A clone needs nothing beside it: no tracked file reads outside the repository or cites a document
that is not in it (a user's clone has nothing beside it)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from rescheduler.instances import DATA_DIR, instance_path, known_bounds, load
from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

# What reaching outside looks like: a sibling folder of the clone, this machine's absolute paths,
# `Path(...).parents[n].parent` climbing above the repository, or a design document kept elsewhere.
OUTSIDE = re.compile(
    r"\.\./shared\b"
    r"|/work/"
    r"|\"shared\"\s*/"
    r"|parents\[\d+\]\.parent\b"
    r"|\bDESIGN\.md\b"
)
BINARY_SUFFIXES = {".png", ".jpg", ".gz", ".whl", ".jar", ".ico", ".woff", ".woff2"}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, check=True, capture_output=True, text=True).stdout
    return [PROJECT_ROOT / name for name in out.split("\0") if name]


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    me = Path(__file__).resolve()
    offenders = []
    for path in tracked_files():
        if path.resolve() == me or path.suffix in BINARY_SUFFIXES or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for lineno, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, "reads or cites outside the repository:\n" + "\n".join(offenders)


def test_the_pattern_catches_what_it_is_for() -> None:
    sibling = "shared"  # spelled apart so that scans of the repository do not take these examples for reads
    for line in (
        f'BENCHMARKS = Path(__file__).resolve().parents[2].parent / "{sibling}" / "benchmarks"',
        f"see ../{sibling}/benchmarks/README.md",
        "Measured in DESIGN.md at about 151k rows/s",
        'open("/work/shared/x")',
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("Mosquitto hands the messages of a shared subscription")


def test_bundled_instances_are_inside_the_package_with_their_bounds() -> None:
    assert DATA_DIR.resolve().is_relative_to(PROJECT_ROOT.resolve())
    for fmt, names in (("jssp", ["ft06", "ft10", "la01", "la02", "la03", "la04", "la05"]), ("fjsp", ["mk01"])):
        bounds = known_bounds(fmt)
        for name in names:
            problem = load(instance_path(name, fmt), fmt)
            assert problem.jobs, name
            assert bounds[name]["lower_bound"] <= bounds[name]["upper_bound"], name
    assert known_bounds("jssp")["ft06"]["optimum"] == 55
    assert set(known_bounds("fjsp")) == {f"mk{i:02d}" for i in range(1, 16)}
    with pytest.raises(FileNotFoundError):
        instance_path("nope", "jssp")


def test_bundled_instances_are_package_data() -> None:
    # An installed (non-editable) package must carry them too.

    globs = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = DATA_DIR.parents[1]  # rescheduler/
    files = [p for p in DATA_DIR.rglob("*") if p.is_file()]
    assert len(files) >= 25
    for path in files:
        rel = path.relative_to(package)
        assert any(rel.match(g) for g in globs["rescheduler"]), rel
