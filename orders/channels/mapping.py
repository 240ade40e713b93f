"""Per-channel mappings from a sales channel's own JSON onto an order: field paths, value maps, defaults, tags.

A path is dot-separated keys and list indexes (``shipping_lines.0.code``). A value found at the path goes
through ``map`` when one is given (a value the map lacks falls to the map's ``default`` key, else it is
kept); a path that finds nothing gives ``default`` (or leaves the field out, so the order's own default
or "field required" applies). The mapped dict is then validated as any order (``OrderIn``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError

from orders.config import ConfigError
from shopfloor.events import Model

CHANNELS_DIR = Path(__file__).resolve().parent
_MISSING = object()


class FieldRule(Model):
    path: Annotated[str, Field(min_length=1, max_length=256)]
    map: dict[str, Any] | None = None
    default: Any = None

    def value(self, doc: Any) -> Any:
        found = lookup(doc, self.path)
        if found is _MISSING or found is None:
            return _MISSING if self.default is None else self.default
        if self.map is not None:
            key = str(found).lower() if isinstance(found, bool) else str(found)
            if key in self.map:
                return self.map[key]
            if "default" in self.map:
                return self.map["default"]
        return found


class LinesRule(Model):
    path: str
    product_id: FieldRule
    quantity: FieldRule
    unit_price: FieldRule | None = None


class Mapping(Model):
    external_id: FieldRule
    fields: dict[str, FieldRule]
    lines: LinesRule
    custom_fields: dict[str, FieldRule] = Field(default_factory=dict)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)

    def external_id_of(self, doc: Any) -> str | None:
        value = self.external_id.value(doc)
        return None if value is _MISSING else str(value)

    def apply(self, doc: Any, channel: str) -> dict[str, Any]:
        """The order body for ``doc`` (validate it as ``OrderIn``)."""
        out: dict[str, Any] = {"channel": channel}
        for name, rule in self.fields.items():
            value = rule.value(doc)
            if value is not _MISSING:
                out[name] = value
        external = self.external_id_of(doc)
        if external is not None:
            out["external_id"] = external
        items = lookup(doc, self.lines.path)
        lines: list[dict[str, Any]] = []
        for item in items if isinstance(items, list) else []:
            line = {"product_id": self.lines.product_id.value(item), "quantity": self.lines.quantity.value(item)}
            if self.lines.unit_price is not None:
                line["unit_price"] = self.lines.unit_price.value(item)
            lines.append({k: v for k, v in line.items() if v is not _MISSING})
        out["lines"] = lines
        custom = {name: v for name, rule in self.custom_fields.items() if (v := rule.value(doc)) is not _MISSING}
        if custom:
            out["custom_fields"] = custom
        return out


def lookup(doc: Any, path: str) -> Any:
    here = doc
    for part in path.split("."):
        if isinstance(here, dict):
            here = here.get(part, _MISSING)
        elif isinstance(here, list) and part.isdigit():
            here = here[int(part)] if int(part) < len(here) else _MISSING
        else:
            return _MISSING
        if here is _MISSING:
            return _MISSING
    return here


def load_mapping(name: str, base: Path = CHANNELS_DIR) -> Mapping:
    """A mapping by file name (shipped beside this module) or by path."""
    path = Path(name) if Path(name).is_absolute() else base / name
    try:
        data = yaml.safe_load(path.read_text())
        return Mapping.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise ConfigError(f"{path}: " + "; ".join(lines)) from None
