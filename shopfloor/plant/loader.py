"""Load a plant YAML file, and point every error at its line and column.

The document is composed once into a node tree (which keeps each node's position) and constructed
from that tree, so a pydantic error location like ``('workshops', 2, 'lines', 0, 'machines', 3,
'ideal_cycle_s')`` can be walked back to the node it came from.

The loader follows YAML 1.2 for numbers: PyYAML's YAML 1.1 default reads ``06:00`` as the base-60
integer 360, which would silently turn every shift time into a number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shopfloor.plant.plant import Plant, PlantConsistencyError, format_path

# libyaml's parser when PyYAML was built with it: about 7x faster on the demo plant, same marks.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _PlantYamlLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 integers and floats (no base-60 ``06:00``, no ``1_000`` surprises)."""


_YAML11_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_PlantYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_NUMBERS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PlantYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(0|[1-9][0-9]*)$"), list("-+0123456789")
)
_PlantYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"),
    list("-+0123456789."),
)


@dataclass(frozen=True, slots=True)
class PlantProblem:
    """One error in a plant file: position (1-based), location in the document, and reason."""

    file: str
    line: int
    column: int
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.reason}"


class PlantError(ValueError):
    """A plant file that does not load; ``problems`` lists each error with its line."""

    def __init__(self, problems: list[PlantProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _node_at(root: yaml.Node, loc: Sequence[str | int]) -> yaml.Node:
    """The deepest node along ``loc``; a mapping key's node when ``loc`` ends at that key."""
    node = root
    for i, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    node = key if i == len(loc) - 1 else value
                    break
            else:
                return node  # a missing field: the mapping that lacks it
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _problem(file: str, root: yaml.Node, loc: Sequence[str | int], reason: str) -> PlantProblem:
    mark = _node_at(root, loc).start_mark
    return PlantProblem(file, mark.line + 1, mark.column + 1, format_path(loc), reason)


def _duplicate_keys(file: str, node: yaml.Node) -> list[PlantProblem]:
    """PyYAML keeps the last of two equal keys silently; a plant file with one is a mistake."""
    problems: list[PlantProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    mark = key.start_mark
                    problems.append(
                        PlantProblem(file, mark.line + 1, mark.column + 1, "", f"duplicate key {key.value!r}")
                    )
                seen.add(key.value)
            problems += _duplicate_keys(file, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems += _duplicate_keys(file, item)
    return problems


def parse_plant(text: str, file: str = "<plant>") -> Plant:
    """Validate plant YAML text; raise :class:`PlantError` naming the line of each error."""
    loader = _PlantYamlLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PlantError([PlantProblem(file, 1, 1, "", "the document is empty")])
        data: Any = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark:
            # An unclosed bracket is noticed lines later: say where the construct began.
            begun = exc.context_mark
            reason += f" ({exc.context} at line {begun.line + 1}, column {begun.column + 1})"
        raise PlantError([PlantProblem(file, line, column, "", reason)]) from None
    finally:
        loader.dispose()

    duplicates = _duplicate_keys(file, root)
    if duplicates:
        raise PlantError(duplicates)
    if not isinstance(data, dict):
        raise PlantError([_problem(file, root, (), "the document must be a mapping of plant fields")])
    try:
        return Plant.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, PlantConsistencyError):
                problems += [_problem(file, root, issue.path, issue.message) for issue in cause.issues]
            else:
                reason = str(error["msg"]).removeprefix("Value error, ")
                problems.append(_problem(file, root, error["loc"], reason))
        raise PlantError(problems) from None


def load_plant(path: str | Path) -> Plant:
    """Load and validate a plant YAML file (see :func:`parse_plant`)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlantError([PlantProblem(str(file), 1, 1, "", f"cannot read the file: {exc.strerror}")]) from None
    return parse_plant(text, str(path))
