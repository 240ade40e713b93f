"""Every event type survives ``to_json`` -> ``parse_event`` unchanged, for any valid content.

Strategies are derived from the models themselves (field types and their pydantic constraints), so
a new event type or field is covered without touching this file.
"""

from __future__ import annotations

import types
import typing
import uuid
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal

import annotated_types as at
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from shopfloor.events import EVENT_CLASSES, EventBase, parse_event
from shopfloor.topics import route_event

pytestmark = pytest.mark.unit

MAX_LIST = 4


def _flatten(metadata: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            flat += _flatten(item.metadata)
        elif isinstance(item, StringConstraints):
            flat.append(item)
            flat += [at.MinLen(item.min_length)] if item.min_length is not None else []
            flat += [at.MaxLen(item.max_length)] if item.max_length is not None else []
        else:
            flat.append(item)
    return flat


def _bound(metadata: list[Any], kind: type, attr: str) -> Any:
    return next((getattr(m, attr) for m in metadata if isinstance(m, kind)), None)


def _number(tp: type, metadata: list[Any]) -> st.SearchStrategy[Any]:
    ge, gt = _bound(metadata, at.Ge, "ge"), _bound(metadata, at.Gt, "gt")
    le, lt = _bound(metadata, at.Le, "le"), _bound(metadata, at.Lt, "lt")
    low = ge if ge is not None else gt
    high = le if le is not None else lt
    if tp is int:
        low = low if ge is not None else (gt + 1 if gt is not None else -(2**31))
        high = high if le is not None else (lt - 1 if lt is not None else 2**31)
        return st.integers(low, high)
    if tp is Decimal:
        places = next((m.decimal_places for m in metadata if getattr(m, "decimal_places", None) is not None), 4)
        digits = next((m.max_digits for m in metadata if getattr(m, "max_digits", None) is not None), 14)
        ceiling = Decimal(10) ** (digits - places) - 1
        return st.decimals(
            min_value=low, max_value=high if high is not None else ceiling, places=places, allow_nan=False
        ).filter(lambda d: d <= ceiling)
    return st.floats(
        min_value=low,
        max_value=high,
        exclude_min=gt is not None,
        exclude_max=lt is not None,
        allow_nan=False,
        allow_infinity=False,
    )


def strategy_for(tp: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """A strategy of valid values for a field of type ``tp`` with pydantic/annotated-types ``metadata``."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *extra = typing.get_args(tp)
        return strategy_for(base, metadata + _flatten(list(extra)))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg, metadata) for arg in typing.get_args(tp)])
    if origin is Literal:
        return st.sampled_from(typing.get_args(tp))
    if origin is list:
        (item,) = typing.get_args(tp)
        min_size = _bound(metadata, at.MinLen, "min_length") or 0
        max_size = min(_bound(metadata, at.MaxLen, "max_length") or MAX_LIST, MAX_LIST)
        return st.lists(strategy_for(item, []), min_size=min_size, max_size=max(max_size, min_size))
    if origin is dict:
        key, value = typing.get_args(tp)
        return st.dictionaries(strategy_for(key, []), strategy_for(value, []), max_size=MAX_LIST)
    if tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return model_strategy(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return st.sampled_from(list(tp))
    if tp is bool:
        return st.booleans()
    if tp in (int, float, Decimal):
        return _number(tp, metadata)
    if tp is uuid.UUID:
        return st.uuids()
    if tp is AwareDatetime or tp is datetime:
        # Any zone: the envelope normalizes to UTC, and the normalized value must round-trip.
        return st.datetimes(datetime(1970, 1, 2), datetime(2200, 1, 1), timezones=st.timezones())
    if tp is str:
        pattern = next((m.pattern for m in metadata if isinstance(m, StringConstraints) and m.pattern), None)
        if pattern is not None:
            return st.from_regex(pattern, fullmatch=True)
        min_size = _bound(metadata, at.MinLen, "min_length") or 0
        max_size = min(_bound(metadata, at.MaxLen, "max_length") or 40, 40)
        return st.text(min_size=min_size, max_size=max_size)
    raise NotImplementedError(f"no strategy for {tp!r}: extend strategy_for")


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    fields = {
        name: strategy_for(field.annotation, _flatten(list(field.metadata)))
        for name, field in model.model_fields.items()
    }
    return st.builds(model, **fields)


@pytest.mark.parametrize("event_type", sorted(EVENT_CLASSES))
def test_every_event_type_round_trips(event_type: str) -> None:
    cls = EVENT_CLASSES[event_type]

    @settings(max_examples=40, deadline=None)
    @given(model_strategy(cls))
    def round_trip(event: EventBase) -> None:
        parsed = parse_event(event.to_json())
        assert type(parsed) is cls
        assert parsed == event
        assert parsed.ts.utcoffset() is not None and parsed.ts.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        # Every event has a Kafka home and a key.
        assert route_event(parsed).key == event.key

    round_trip()


def test_strategies_cover_every_event_type() -> None:
    # The discriminator of each class is the key it is registered under: none is missing or renamed.
    assert {cls.model_fields["type"].default for cls in EVENT_CLASSES.values()} == set(EVENT_CLASSES)
    assert len(EVENT_CLASSES) >= 20
