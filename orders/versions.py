"""The difference between two versions of an order: field by field, lines by line number."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from orders.models import FieldChange, OrderSnapshot, VersionDiff


def _flat(snap: OrderSnapshot) -> dict[str, Any]:
    data = snap.model_dump(mode="json")
    flat: dict[str, Any] = {k: v for k, v in data.items() if k not in ("lines", "custom_fields")}
    for line in data["lines"]:
        for key, value in line.items():
            if key != "line_no":
                flat[f"lines[{line['line_no']}].{key}"] = value
    for key, value in data["custom_fields"].items():
        flat[f"custom_fields.{key}"] = value
    return flat


def diff(old: OrderSnapshot, new: OrderSnapshot, *, ignore: Iterable[str] = ()) -> VersionDiff:
    """Every field that differs, ``None`` standing for a field or line that one side lacks."""
    a, b = _flat(old), _flat(new)
    skip = set(ignore)
    changes = [
        FieldChange(field=key, before=a.get(key), after=b.get(key))
        for key in sorted(a.keys() | b.keys(), key=_order)
        if key not in skip and a.get(key) != b.get(key)
    ]
    return VersionDiff(order_id=new.order_id, from_version=old.version, to_version=new.version, changes=changes)


def _order(key: str) -> tuple[int, str]:
    # Standard fields first, then lines, then custom fields: the order a person reads an order in.
    return (1 if key.startswith("lines[") else 2 if key.startswith("custom_fields.") else 0, key)
