"""`mypy --strict` checks the edge as it checks the core: every edge package is in scope and importable by name."""

from __future__ import annotations

import tomllib

import pytest

from shopfloor.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit


def mypy_files() -> list[str]:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as f:
        files: list[str] = tomllib.load(f)["tool"]["mypy"]["files"]
    return files


def test_mypy_covers_the_core_and_the_edge() -> None:
    assert {"shopfloor", "edge"} <= set(mypy_files())


def test_every_edge_package_has_an_init() -> None:
    # Without an __init__.py a folder is a namespace package: mypy then names its modules by path, not by
    # `edge.plc.x`, and a package's public names (`__all__`) go unchecked.
    edge = PROJECT_ROOT / "edge"
    packages = {p.parent for p in edge.rglob("*.py") if "__pycache__" not in p.parts}
    missing = sorted(str(p.relative_to(PROJECT_ROOT)) for p in packages if not (p / "__init__.py").exists())
    assert missing == []
