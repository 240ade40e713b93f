"""The hub's per-plant YAML: custom order fields, approval rules, and the sales channels with their mappings.

Loaded once at start-up into frozen models; a typo is an error naming its place, not an ignored key.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from orders.approval import ApprovalRule
from shopfloor.auth import Role
from shopfloor.events import Model

FieldName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
CustomValue = str | int | float | bool


class CustomField(Model):
    """A field the plant's orders carry beyond the standard ones (special packaging, process notes...)."""

    name: FieldName
    type: Literal["text", "integer", "number", "boolean", "choice", "date"] = "text"
    required: bool = False
    choices: list[str] = Field(default_factory=list)
    max_length: Annotated[int, Field(ge=1, le=10_000)] = 256
    description: str = ""

    @model_validator(mode="after")
    def _choices_for_choice(self) -> CustomField:
        if (self.type == "choice") != bool(self.choices):
            raise ValueError("choices are required for type 'choice' and only allowed there")
        return self

    def check(self, value: object) -> str | None:
        """Why ``value`` is not valid for this field, or None."""
        if self.type == "boolean":
            return None if isinstance(value, bool) else "must be true or false"
        if self.type == "integer":
            return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
        if self.type == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value  # not NaN
            return None if ok else "must be a number"
        if not isinstance(value, str):
            return "must be a string"
        if self.type == "choice":
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        if self.type == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return "must be a date (YYYY-MM-DD)"
            return None
        return None if len(value) <= self.max_length else f"must be at most {self.max_length} characters"


class ChannelConfig(Model):
    """A sales channel posting its own JSON; ``mapping`` names a file of orders/channels/ or a path."""

    mapping: Annotated[str, Field(min_length=1)]
    # Tags every order of the channel carries, e.g. "online retail".
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)


ImpactCondition = Literal[
    "always",
    "work_in_progress",
    "amount_changed",
    "payment_terms_change",
    "material_issued",
    "project_at_risk",
    "quantity_changed",
    "product_changed",
    "due_date_changed",
    "hold",
]


class Department(Model):
    """A department that must sign off a change to an order in production when its condition holds."""

    department: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    role: Role
    when: Annotated[list[ImpactCondition], Field(min_length=1)]
    email: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(default_factory=list)


class HubConfig(Model):
    custom_fields: list[CustomField] = Field(default_factory=list)
    change_signoff: list[Department] = Field(default_factory=list)
    # A change of the total by more than this share (or across an approval threshold) changes payment terms.
    payment_terms_change_share: Annotated[float, Field(ge=0, le=10)] = 0.1
    approval_rules: list[ApprovalRule] = Field(default_factory=list)
    channels: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")], ChannelConfig] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _unique(self) -> HubConfig:
        for what, names in (
            ("custom field", [f.name for f in self.custom_fields]),
            ("approval step", [r.step for r in self.approval_rules]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{what} names must be unique: {', '.join(dupes)}")
        return self

    def field(self, name: str) -> CustomField | None:
        return next((f for f in self.custom_fields if f.name == name), None)

    def check_custom_fields(self, values: dict[str, Any]) -> list[tuple[str, str]]:
        """(field name, reason) for every problem: unknown names, bad values, missing required fields."""
        problems: list[tuple[str, str]] = []
        for name, value in values.items():
            spec = self.field(name)
            if spec is None:
                problems.append((name, "is not a custom field of this plant"))
            elif (why := spec.check(value)) is not None:
                problems.append((name, why))
        problems += [(f.name, "is required") for f in self.custom_fields if f.required and f.name not in values]
        return problems


class ConfigError(ValueError):
    pass


def load_config(path: Path) -> HubConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    try:
        return HubConfig.model_validate(data or {})
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise ConfigError(f"{path}: " + "; ".join(lines)) from None


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")
