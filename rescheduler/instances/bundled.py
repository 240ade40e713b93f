"""The classic benchmark instances shipped with the package (`data/`, described in `data/README.md`).

Tests and `benchmarks/schedule.py` read them from here, so a clone (or an installed wheel) has everything
it needs: ft06/ft10/la01-la05 (job shop, OR-Library format) and mk01-mk15 (flexible job shop,
Brandimarte), each folder with a `bounds.json` of known optima and bounds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypedDict

DATA_DIR = Path(__file__).resolve().parent / "data"

Format = Literal["jssp", "fjsp"]
_SUFFIX: dict[Format, str] = {"jssp": ".txt", "fjsp": ".fjs"}


class Bounds(TypedDict):
    optimum: int | None
    upper_bound: int
    lower_bound: int


def instance_path(name: str, fmt: Format) -> Path:
    """The file of a bundled instance, e.g. `instance_path("ft06", "jssp")`; FileNotFoundError if absent."""
    path = DATA_DIR / fmt / f"{name}{_SUFFIX[fmt]}"
    if not path.is_file():
        raise FileNotFoundError(f"no bundled {fmt} instance {name!r} in {DATA_DIR / fmt}")
    return path


def known_bounds(fmt: Format) -> dict[str, Bounds]:
    """Optimum (None where unproven) and best known upper and lower makespan bounds, by instance name."""
    data: dict[str, Bounds] = json.loads((DATA_DIR / fmt / "bounds.json").read_text(encoding="utf-8"))
    return data
